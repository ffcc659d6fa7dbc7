"""Pure rating engine: Bradley-Terry on the Elo scale, bootstrap intervals, online Elo.

numpy and scipy only, no Django: plain arrays and dataclasses in and out.

    counts = aggregate_votes(model_a, model_b, outcome)   # outcome: a, b, tie, both_bad
    board = rate_counts(counts, bootstrap=1000, seed=0)   # or rate(model_a, model_b, outcome)
    board.rows[0].model, board.rows[0].rating, board.rows[0].ci_low, board.notes

Command line: `python -m leaderboard.ratings VOTES.csv [--json]`; benchmark:
`python -m tests.benchmarks.rating_engine`.
"""

from .bootstrap import Intervals, bootstrap_intervals
from .bradley_terry import Fit, UnratedModel, fit_bradley_terry, win_probability
from .elo import EloHistory, online_elo
from .leaderboard import (
    Leaderboard,
    RatingRow,
    confident_ranks,
    rank_ranges,
    ranks_by_rating,
    rate,
    rate_counts,
)
from .matrices import PairwiseMatrices, pairwise_matrices
from .simulate import simulate_votes
from .votes import OUTCOMES, PairCounts, Votes, aggregate_votes, count_votes, encode_votes
from .votes_csv import VotesFileError, read_votes_csv

__all__ = [
    "OUTCOMES",
    "EloHistory",
    "Fit",
    "Intervals",
    "Leaderboard",
    "PairCounts",
    "PairwiseMatrices",
    "RatingRow",
    "UnratedModel",
    "Votes",
    "VotesFileError",
    "aggregate_votes",
    "bootstrap_intervals",
    "confident_ranks",
    "rank_ranges",
    "ranks_by_rating",
    "count_votes",
    "encode_votes",
    "fit_bradley_terry",
    "online_elo",
    "pairwise_matrices",
    "rate",
    "rate_counts",
    "read_votes_csv",
    "simulate_votes",
    "win_probability",
]
