"""Ranks: the place by rating, and separately the range of places the intervals allow."""

import numpy as np

from leaderboard.ratings import (
    count_votes,
    rank_ranges,
    ranks_by_rating,
    rate_counts,
    simulate_votes,
)


def test_the_rank_is_the_place_by_rating_and_only_equal_ratings_share_it():
    assert ranks_by_rating(np.array([1100.0, 1200.0, 1100.0, 1000.0])).tolist() == [2, 1, 2, 4]
    assert ranks_by_rating(np.array([1000.0, 1000.0 + 1e-9])).tolist() == [1, 1]
    assert ranks_by_rating(np.array([1000.0, 1000.4])).tolist() == [2, 1]


def test_the_rank_range_runs_from_the_confident_best_to_the_confident_worst():
    rating = np.array([1150.0, 1100.0, 1000.0, 990.0])
    low = np.array([1120.0, 1070.0, 975.0, 900.0])
    high = np.array([1180.0, 1130.0, 1025.0, 1080.0])
    best, worst = rank_ranges(rating, low, high)
    # A and B overlap (1120 < 1130); C is below both; D's wide interval overlaps B and C.
    assert best.tolist() == [1, 1, 3, 2]
    assert worst.tolist() == [2, 3, 4, 4]
    # With zero-width intervals the range is the rank itself.
    best, worst = rank_ranges(rating, rating, rating)
    assert best.tolist() == worst.tolist() == ranks_by_rating(rating).tolist() == [1, 2, 3, 4]


def test_a_range_always_contains_the_rank():
    rng = np.random.default_rng(5)
    for _ in range(200):
        rating = rng.normal(1000, 50, 8)
        low = rating - rng.uniform(0, 80, 8) + rng.normal(0, 10, 8)
        high = np.maximum(low, rating + rng.uniform(0, 80, 8) + rng.normal(0, 10, 8))
        rank = ranks_by_rating(rating)
        best, worst = rank_ranges(rating, low, high)
        assert (best <= rank).all() and (rank <= worst).all()


def test_a_close_field_does_not_put_most_models_at_rank_one():
    # 13 models 5 points apart and 1,500 votes: the intervals overlap widely. The old
    # rule (1 + models better with confidence) put nearly every model at 1.
    true = 1000 + 5 * np.arange(13)
    votes = simulate_votes(true, 1500, np.random.default_rng(11))
    board = rate_counts(count_votes(votes), seed=2)
    ranks = [row.rank for row in board.rows]
    assert sum(rank == 1 for rank in ranks) <= len(ranks) // 2
    assert ranks == sorted(ranks)
    assert sum(row.rank_best == 1 for row in board.rows) > len(ranks) // 2  # the old rule
    for row in board.rows:
        assert row.rank_best <= row.rank <= row.rank_worst
    assert board.to_dict()["ratings"][0]["rank_worst"] == board.rows[0].rank_worst
