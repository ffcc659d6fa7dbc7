"""Online Elo history: hand-computed updates, agreement with the arena notebook loop."""

from collections import defaultdict

import numpy as np
import pytest

from leaderboard.ratings import encode_votes, online_elo, read_votes_csv
from tests.support import VOTES_DIR



def test_two_votes_update_ratings_by_k_times_surprise():
    """Vote 1, A beats B at equal ratings: E = 0.5, so A = 1000 + 4 * 0.5 = 1002, B = 998.
    Vote 2, a tie: E_A = 1 / (1 + 10^((998 - 1002) / 400)) = 0.505756, so A loses
    4 * 0.005756 = 0.023 points: A = 1001.976975, B = 998.023025."""
    history = online_elo(encode_votes(["A", "B"], ["B", "A"], ["a", "tie"]))
    expected_a = 1 / (1 + 10 ** (-4 / 400))
    assert history.rating[0].tolist() == [1002.0, 998.0]
    assert history.final[0] == pytest.approx(1002 + 4 * (0.5 - expected_a), abs=1e-12)
    assert history.final[0] == pytest.approx(1001.976975, abs=1e-6)
    assert history.final.sum() == pytest.approx(2000.0)


def test_history_is_sampled_and_records_each_models_first_vote():
    rng = np.random.default_rng(0)
    names = np.array(["A", "B", "C", "D"])
    a = names[rng.integers(0, 3, 1000)]
    b = np.where(a == "A", "B", "A")
    b[-1], a[-1] = "D", "C"
    outcome = rng.choice(["a", "b", "tie", "both_bad"], 1000)
    history = online_elo(encode_votes(a, b, outcome), snapshots=100)
    assert history.rating.shape == (100, 4)
    assert history.vote_count[0] == 10 and history.vote_count[-1] == 1000
    assert history.final.tolist() == history.rating[-1].tolist()
    assert history.first_vote[3] == 1000
    assert history.first_vote[0] == 1


def test_both_bad_votes_count_as_ties_or_can_be_skipped():
    votes = encode_votes(["A", "A"], ["B", "B"], ["a", "both_bad"])
    dropped = online_elo(votes, both_bad="drop", k=32)
    assert dropped.final.tolist() == [1016.0, 984.0]
    as_tie = online_elo(votes, k=32)
    expected_a = 1 / (1 + 10 ** (-32 / 400))
    assert as_tie.final[0] == pytest.approx(1016 + 32 * (0.5 - expected_a), abs=1e-9)


def test_online_elo_matches_the_genai_arena_notebook_loop_on_real_votes():
    """The arena notebooks' compute_elo (K=4, ties and both-bad as 0.5), re-typed here."""
    votes = read_votes_csv(VOTES_DIR / "genai_arena_t2i_anony.csv")
    names = np.asarray(votes.models)
    rating = defaultdict(lambda: 1000.0)
    for a, b, code in zip(names[votes.model_a], names[votes.model_b], votes.outcome, strict=True):
        ra, rb = rating[a], rating[b]
        ea = 1 / (1 + 10 ** ((rb - ra) / 400))
        eb = 1 / (1 + 10 ** ((ra - rb) / 400))
        sa = {0: 1.0, 1: 0.0, 2: 0.5, 3: 0.5}[int(code)]
        rating[a] += 4 * (sa - ea)
        rating[b] += 4 * (1 - sa - eb)
    history = online_elo(votes)
    for model, value in zip(votes.models, history.final, strict=True):
        assert value == pytest.approx(rating[model], abs=1e-9)
