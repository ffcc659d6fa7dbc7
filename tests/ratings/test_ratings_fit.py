"""Bradley-Terry fit: hand-worked cases, independent fits, invariances, options."""

import numpy as np
import pytest
from scipy.optimize import fsolve

from leaderboard.ratings import (
    aggregate_votes,
    count_votes,
    encode_votes,
    fit_bradley_terry,
    rate,
    rate_counts,
    win_probability,
)
from leaderboard.ratings.simulate import simulate_votes


def votes_from_counts(table):
    """Expand {(model_a, model_b): {"a": n, "b": n, "tie": n, "both_bad": n}} into vote lists."""
    model_a, model_b, outcome = [], [], []
    for (a, b), outcomes in table.items():
        for value, n in outcomes.items():
            model_a += [a] * n
            model_b += [b] * n
            outcome += [value] * n
    return model_a, model_b, outcome


THREE_MODELS = {
    ("A", "B"): {"a": 6, "b": 2, "tie": 1, "both_bad": 1},
    ("B", "C"): {"a": 5, "b": 3},
    ("A", "C"): {"a": 4, "b": 1, "tie": 1},
}


def simulated(n_votes=3000, n_models=6, seed=1):
    rng = np.random.default_rng(seed)
    truth = 1000 + rng.normal(0, 120, n_models)
    return simulate_votes(truth, n_votes, rng)


def names_of(votes):
    names = np.asarray(votes.models)
    outcomes = np.asarray(["a", "b", "tie", "both_bad"])
    return names[votes.model_a], names[votes.model_b], outcomes[votes.outcome]


def test_two_models_match_the_closed_form_400_log10_of_score_ratio():
    """For two models the score equation n * P = s gives R_A - R_B = 400 log10(s / (n - s)).

    A: 30 wins, B: 10 wins, 8 ties -> s = 30 + 4 = 34, n - s = 14, so R_A - R_B =
    400 log10(34 / 14) = 154.14 and, centred on 1000, R_A = 1077.07, R_B = 922.93.
    """
    board = rate(*votes_from_counts({("A", "B"): {"a": 30, "b": 10, "tie": 8}}), bootstrap=0)
    difference = 400 * np.log10(34 / 14)
    assert board.row("A").rating == pytest.approx(1000 + difference / 2, abs=0.01)
    assert board.row("B").rating == pytest.approx(1000 - difference / 2, abs=0.01)
    assert board.row("A").rating == pytest.approx(1077.07, abs=0.01)


def test_three_models_match_the_score_equations_solved_independently():
    """Hand-worked example, solved without the engine.

    Votes (ties and both-bad count half a win each way):
      A-B: A 6, B 2, 1 tie, 1 both bad -> A scores 7 of 10
      B-C: B 5, C 3                   -> B scores 5 of 8
      A-C: A 4, C 1, 1 tie            -> A scores 4.5 of 6
    The MLE solves the score equations sum_j n_ij P(i beats j) = score_i. Fixing R_C = 0,
    scipy's fsolve on A's and B's equations gives R_A - R_C = 212.43 and
    R_B - R_C = 76.30; centred on 1000: A 1116.19, B 980.06, C 903.76.
    """

    def p(r_i, r_j):
        return 1 / (1 + 10 ** ((r_j - r_i) / 400))

    def score_equations(x):
        r_a, r_b = x
        return [
            10 * p(r_a, r_b) + 6 * p(r_a, 0) - (7 + 4.5),
            10 * p(r_b, r_a) + 8 * p(r_b, 0) - (3 + 5),
        ]

    r_a, r_b = fsolve(score_equations, [0.0, 0.0], xtol=1e-13)
    independent = np.array([r_a, r_b, 0.0])
    independent += 1000 - independent.mean()

    board = rate(*votes_from_counts(THREE_MODELS), bootstrap=0)
    engine = np.array([board.row(m).rating for m in "ABC"])
    assert engine == pytest.approx(independent, abs=0.01)
    assert engine == pytest.approx([1116.19, 980.06, 903.76], abs=0.01)
    assert all(board.row(m).status == "mle" for m in "ABC")


def test_the_fit_solves_the_score_equations_exactly_with_no_hidden_penalty():
    votes = simulated(n_votes=5000, n_models=8, seed=3)
    counts = count_votes(votes)
    fit = fit_bradley_terry(counts)
    cells = counts.counts.astype(float)
    score_i = cells[:, 0] + 0.5 * (cells[:, 2] + cells[:, 3])
    n = cells.sum(axis=1)
    p = win_probability(fit.rating[counts.pair_i], fit.rating[counts.pair_j])
    residual = np.bincount(counts.pair_i, score_i - n * p, 8) - np.bincount(
        counts.pair_j, score_i - n * p, 8
    )
    assert np.abs(residual).max() < 1e-6
    assert fit.rating.mean() == pytest.approx(1000.0, abs=1e-9)


def test_swapping_sides_with_the_outcome_swapped_changes_nothing():
    a, b, outcome = names_of(simulated())
    swapped_outcome = np.select([outcome == "a", outcome == "b"], ["b", "a"], outcome)
    original = rate(a, b, outcome, bootstrap=200, seed=5)
    swapped = rate(b, a, swapped_outcome, bootstrap=200, seed=5)
    assert swapped.rows == original.rows


def test_the_order_of_votes_does_not_matter():
    a, b, outcome = names_of(simulated())
    order = np.random.default_rng(7).permutation(a.size)
    original = rate(a, b, outcome, bootstrap=200, seed=5)
    shuffled = rate(a[order], b[order], outcome[order], bootstrap=200, seed=5)
    assert shuffled.rows == original.rows


def test_duplicating_every_vote_keeps_ratings_and_narrows_intervals_by_about_root_two():
    a, b, outcome = names_of(simulated(n_votes=4000))
    once = rate(a, b, outcome, bootstrap=400, seed=2)
    twice = rate(np.tile(a, 2), np.tile(b, 2), np.tile(outcome, 2), bootstrap=400, seed=2)
    ratio = []
    for row in once.rows:
        doubled = twice.row(row.model)
        assert doubled.rating == pytest.approx(row.rating, abs=1e-6)
        assert doubled.ci_high - doubled.ci_low < row.ci_high - row.ci_low
        ratio.append((doubled.ci_high - doubled.ci_low) / (row.ci_high - row.ci_low))
    assert np.mean(ratio) == pytest.approx(1 / np.sqrt(2), abs=0.08)


def test_relabelling_models_permutes_the_ratings():
    """Point ratings follow the names exactly. Bootstrap draws follow the (name-sorted)
    cell order, so intervals agree only statistically: within a fifth of their width."""
    a, b, outcome = names_of(simulated())
    models = sorted(set(a) | set(b))
    new_names = dict(zip(models, ["zeta", "eta", "alpha", "delta", "beta", "omega"], strict=True))
    relabel = np.vectorize(new_names.get)
    original = rate(a, b, outcome, bootstrap=400, seed=4)
    relabelled = rate(relabel(a), relabel(b), outcome, bootstrap=400, seed=4)
    for row in original.rows:
        other = relabelled.row(new_names[row.model])
        assert other.rating == pytest.approx(row.rating, abs=1e-9)
        width = row.ci_high - row.ci_low
        assert abs(other.ci_low - row.ci_low) < width / 5
        assert abs(other.ci_high - row.ci_high) < width / 5
    assert [new_names[r.model] for r in original.rows] == [r.model for r in relabelled.rows]


def test_an_anchor_fixes_one_model_and_keeps_every_difference():
    a, b, outcome = votes_from_counts(THREE_MODELS)
    centred = rate(a, b, outcome, bootstrap=100, seed=1)
    anchored = rate(a, b, outcome, bootstrap=100, seed=1, anchor=("C", 800.0))
    assert anchored.row("C").rating == pytest.approx(800.0, abs=1e-9)
    shift = 800.0 - centred.row("C").rating
    for row in centred.rows:
        other = anchored.row(row.model)
        assert other.rating == pytest.approx(row.rating + shift, abs=1e-9)
        assert other.ci_low == pytest.approx(row.ci_low + shift, abs=1e-9)
        assert other.rank == row.rank


def test_a_different_centre_moves_every_rating_by_the_same_amount():
    a, b, outcome = votes_from_counts(THREE_MODELS)
    board = rate(a, b, outcome, bootstrap=0, center=1200.0)
    assert np.mean([r.rating for r in board.rows]) == pytest.approx(1200.0, abs=1e-9)
    assert board.row("A").rating == pytest.approx(1316.19, abs=0.01)


def test_both_bad_dropped_equals_fitting_without_those_votes():
    a, b, outcome = names_of(simulated(n_votes=4000))
    keep = outcome != "both_bad"
    dropped = rate(a, b, outcome, both_bad="drop", bootstrap=0)
    without = rate(a[keep], b[keep], outcome[keep], bootstrap=0)
    for row in without.rows:
        assert dropped.row(row.model).rating == pytest.approx(row.rating, abs=1e-9)
        assert dropped.row(row.model).both_bad > 0
    as_tie = rate(a, b, outcome, both_bad="tie", bootstrap=0)
    spread_dropped = np.ptp([r.rating for r in dropped.rows])
    spread_tie = np.ptp([r.rating for r in as_tie.rows])
    assert spread_tie < spread_dropped


def test_counts_per_pair_and_outcome_are_aggregated_with_the_lower_code_as_side_i():
    counts = aggregate_votes(
        ["B", "A", "B", "C", "A"], ["A", "B", "A", "A", "B"], ["a", "a", "tie", "both_bad", "b"]
    )
    assert counts.models == ("A", "B", "C")
    assert counts.pair_i.tolist() == [0, 0]
    assert counts.pair_j.tolist() == [1, 2]
    assert counts.counts.tolist() == [[1, 2, 1, 0], [0, 0, 0, 1]]
    assert counts.model_totals().tolist() == [[1, 2, 1, 1], [2, 1, 1, 0], [0, 0, 0, 1]]


def test_unknown_outcomes_and_models_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown outcome 'model_a'"):
        encode_votes(["A"], ["B"], ["model_a"])
    with pytest.raises(ValueError, match="'C', which is not in models"):
        encode_votes(["A"], ["C"], ["a"], models=["A", "B"])
    with pytest.raises(ValueError, match="equal length"):
        encode_votes(["A", "B"], ["B"], ["a"])


def test_leaderboard_rows_carry_counts_win_rate_rank_and_provisional_flag():
    counts = aggregate_votes(*votes_from_counts(THREE_MODELS))
    board = rate_counts(counts, bootstrap=200, seed=0, min_votes=15)
    row = board.row("A")
    assert (row.votes, row.wins, row.losses, row.ties, row.both_bad) == (16, 10, 3, 2, 1)
    assert row.win_rate == pytest.approx((10 + 0.5 * 3) / 16)
    assert row.is_provisional is False
    assert board.row("C").is_provisional is True  # 14 votes
    assert [r.model for r in board.rows] == ["A", "B", "C"]
    assert all(r.ci_low <= r.rating <= r.ci_high for r in board.rows)
