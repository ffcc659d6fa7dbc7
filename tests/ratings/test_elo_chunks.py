"""Online Elo fed in chunks (as the refresh streams votes) equals one pass."""

import numpy as np

from leaderboard import ratings


def test_online_elo_in_chunks_equals_one_pass():
    rng = np.random.default_rng(2)
    n = 2_345
    votes = ratings.Votes(
        models=("a", "b", "c", "d"),
        model_a=rng.integers(0, 4, n),
        model_b=rng.integers(0, 4, n),
        outcome=rng.integers(0, 4, n).astype(np.int8),
    )
    whole = ratings.online_elo(votes, snapshots=200)
    history, positions, recorded = None, [], []
    for start in range(0, n, 500):
        part = ratings.Votes(
            votes.models,
            votes.model_a[start : start + 500],
            votes.model_b[start : start + 500],
            votes.outcome[start : start + 500],
        )
        history = ratings.online_elo(
            part, snapshots=200, start=history, start_position=start, total_votes=n
        )
        positions += history.vote_count.tolist()
        recorded += history.rating.tolist()
    assert positions == whole.vote_count.tolist()
    assert recorded == whole.rating.tolist()
    assert history.final.tolist() == whole.final.tolist()
    assert history.first_vote.tolist() == whole.first_vote.tolist()
