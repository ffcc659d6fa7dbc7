"""Favouritism and consistency statistics on constructed votes, numbers checked by hand."""

import math

import numpy as np
import pytest
from scipy.stats import binom

from leaderboard.ratings.detection import (
    consistency,
    favouritism,
    find_suspects,
    poisson_binomial_pmf,
    poisson_binomial_tails,
    vote_residuals,
)

RATINGS = {"top": 1200.0, "mid": 1000.0, "low": 800.0}


def p_beats(a: str, b: str) -> float:
    return 1.0 / (1.0 + 10.0 ** ((RATINGS[b] - RATINGS[a]) / 400.0))


def honest_votes(rng, voters: int, votes_each: int):
    """Voters who choose exactly as the ratings predict."""
    models = list(RATINGS)
    rows = []
    for v in range(voters):
        for _ in range(votes_each):
            a, b = rng.choice(models, size=2, replace=False)
            rows.append((f"honest-{v}", a, b, rng.random() < p_beats(a, b)))
    group, model_a, model_b, a_won = (np.array(c, dtype=object) for c in zip(*rows, strict=True))
    return group, model_a, model_b, a_won.astype(bool)


def test_the_poisson_binomial_of_two_fair_coins_is_a_quarter_a_half_a_quarter():
    assert poisson_binomial_pmf([0.5, 0.5]) == pytest.approx([0.25, 0.5, 0.25])


def test_with_equal_probabilities_it_is_the_binomial():
    pmf = poisson_binomial_pmf([0.3] * 25)
    assert pmf == pytest.approx(binom.pmf(np.arange(26), 25, 0.3))
    # Beyond 3 standard deviations (7.5 +- 2.29) the tails are exact...
    upper, lower = poisson_binomial_tails([0.3] * 25, 15)
    assert upper == pytest.approx(binom.sf(14, 25, 0.3))
    assert lower == pytest.approx(binom.cdf(15, 25, 0.3))
    # ...within them, a normal approximation, far from any threshold either way.
    upper, lower = poisson_binomial_tails([0.3] * 25, 12)
    assert upper == pytest.approx(binom.sf(11, 25, 0.3), rel=0.15)
    assert lower == pytest.approx(binom.cdf(12, 25, 0.3), rel=0.15)


def test_ten_straight_votes_for_the_last_placed_model_are_favouritism():
    # P(low beats top) = 1 / (1 + 10^(400/400)) = 1/11; ten in a row: (1/11)^10.
    group = ["bot"] * 10
    findings = favouritism(group, ["low"] * 10, ["top"] * 10, [True] * 10, RATINGS)
    low = next(f for f in findings if f.model == "low")
    assert low.direction == "for" and low.wins == 10 and low.votes == 10
    assert low.expected == pytest.approx(10 / 11)
    assert low.p_value == pytest.approx((1 / 11) ** 10)
    top = next(f for f in findings if f.model == "top")
    assert top.direction == "against" and top.p_value == pytest.approx((1 / 11) ** 10)


def test_nine_votes_are_too_few_to_be_tested():
    assert favouritism(["bot"] * 9, ["low"] * 9, ["top"] * 9, [True] * 9, RATINGS) == []


def test_votes_against_the_leader_are_favouritism_against_it():
    # Always B over "top" as A, against varied opponents: P(top loses) is 0.24 or 0.09.
    opponents = ["mid", "low"] * 6
    findings = favouritism(["grudge"] * 12, ["top"] * 12, opponents, [False] * 12, RATINGS)
    top = next(f for f in findings if f.model == "top")
    expected_p = (1 - p_beats("top", "mid")) ** 6 * (1 - p_beats("top", "low")) ** 6
    assert top.direction == "against" and top.p_value == pytest.approx(expected_p)
    assert top.p_value < 1e-4


def test_swapping_sides_does_not_change_the_verdict():
    forward = favouritism(["x"] * 12, ["low"] * 12, ["mid"] * 12, [True] * 12, RATINGS)
    swapped = favouritism(["x"] * 12, ["mid"] * 12, ["low"] * 12, [False] * 12, RATINGS)
    assert {(f.model, f.direction, round(f.p_value, 15)) for f in forward} == {
        (f.model, f.direction, round(f.p_value, 15)) for f in swapped
    }


def test_votes_on_unrated_models_are_skipped():
    assert favouritism(["x"] * 12, ["new"] * 12, ["top"] * 12, [True] * 12, RATINGS) == []


def test_honest_voters_are_almost_never_flagged():
    rng = np.random.default_rng(5)
    group, model_a, model_b, a_won = honest_votes(rng, voters=400, votes_each=60)
    findings = favouritism(group, model_a, model_b, a_won, RATINGS)
    flagged = {f.group for f in findings if f.p_value < 1e-4}
    assert len(flagged) / 400 < 0.01
    scores = consistency(group, model_a, model_b, a_won, RATINGS)
    assert len(scores) == 400
    assert sum(s.p_value < 1e-4 for s in scores) / 400 < 0.01


def test_a_voter_who_picks_the_underdog_is_less_consistent_than_the_crowd():
    rng = np.random.default_rng(6)
    group, model_a, model_b, a_won = honest_votes(rng, voters=100, votes_each=30)
    contrarian = [("contrarian", "low", "top", True), ("contrarian", "mid", "top", True)] * 15
    group = np.concatenate([group, [r[0] for r in contrarian]])
    model_a = np.concatenate([model_a, [r[1] for r in contrarian]])
    model_b = np.concatenate([model_b, [r[2] for r in contrarian]])
    a_won = np.concatenate([a_won, [r[3] for r in contrarian]])
    scores = consistency(group, model_a, model_b, a_won, RATINGS)
    worst = scores[0]
    assert worst.group == "contrarian" and worst.votes == 30 and worst.p_value < 1e-4
    assert worst.log_likelihood == pytest.approx(
        (math.log(1 / 11) + math.log(p_beats("mid", "top"))) / 2
    )
    assert worst.log_likelihood < worst.crowd_log_likelihood


def test_a_residual_is_zero_on_average_under_the_ratings():
    # For one pair the expected residual is p*r(win) + (1-p)*r(loss) = 0.
    p = p_beats("mid", "low")
    _, residual = vote_residuals(
        np.array(["mid", "mid"]), np.array(["low", "low"]), np.array([True, False]), RATINGS
    )
    assert p * residual[0] + (1 - p) * residual[1] == pytest.approx(0.0, abs=1e-12)


def test_groups_with_too_few_votes_get_no_consistency_score():
    assert (
        consistency(["a"] * 5 + ["b"] * 5, ["top"] * 10, ["low"] * 10, [True] * 10, RATINGS) == []
    )


def test_a_stuffer_who_drags_the_ratings_is_found_and_honest_voters_are_not():
    # 200 one-sided votes among 500: fitted with them, the ratings move so far towards
    # the stuffer that it looks ordinary and honest voters look odd. Tested against
    # ratings without its own votes, one group at a time, only the stuffer is found.
    rng = np.random.default_rng(2)
    group, model_a, model_b, a_won = honest_votes(rng, voters=7, votes_each=43)
    outcome = np.where(a_won, "a", "b").astype(object)
    group = np.concatenate([group, ["troll"] * 200])
    model_a = np.concatenate([model_a, ["low"] * 200])
    model_b = np.concatenate([model_b, ["top"] * 200])
    outcome = np.concatenate([outcome, ["a"] * 200])
    everyone = np.ones(len(group), dtype=bool)
    network = np.array([""] * len(group), dtype=object)
    suspects = find_suspects(group, network, model_a, model_b, outcome, everyone, everyone)
    assert [(s.kind, s.voters) for s in suspects] == [("voter", ("troll",))]
    assert suspects[0].finding.model in ("low", "top") and suspects[0].finding.p_value < 1e-30
    # The ratings it was tested against are the honest ones (low far below top).
    assert suspects[0].ratings["top"] - suspects[0].ratings["low"] > 200


def test_one_network_of_small_identities_is_found_as_a_network():
    rng = np.random.default_rng(3)
    group, model_a, model_b, a_won = honest_votes(rng, voters=60, votes_each=20)
    outcome = np.where(a_won, "a", "b").astype(object)
    network = np.array([""] * len(group), dtype=object)
    bots = [f"bot-{n}" for n in range(8)]
    group = np.concatenate([group, np.repeat(bots, 5)])
    model_a = np.concatenate([model_a, ["low"] * 40])
    model_b = np.concatenate([model_b, ["mid", "top"] * 20])
    outcome = np.concatenate([outcome, ["a"] * 40])
    network = np.concatenate([network, ["10.0.0.7"] * 40])
    everyone = np.ones(len(group), dtype=bool)
    suspects = find_suspects(group, network, model_a, model_b, outcome, everyone, everyone)
    assert [(s.kind, s.finding.group, s.voters) for s in suspects] == [
        ("network", "10.0.0.7", tuple(sorted(bots)))
    ]


def test_voters_who_are_not_candidates_are_not_tested():
    group = np.array(["bot"] * 12, dtype=object)
    everyone = np.ones(12, dtype=bool)
    args = (group, np.array([""] * 12, dtype=object), ["low"] * 12, ["top"] * 6 + ["mid"] * 6)
    outcomes = ["a"] * 12
    assert find_suspects(*args, outcomes, everyone, ~everyone) == []
