"""Synthetic votes from known ratings, for tests, benchmarks and demo data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit

from .bradley_terry import POINTS_PER_NAT
from .votes import A_WINS, B_WINS, BOTH_BAD, TIE, Votes


def simulate_votes(
    true_ratings: Sequence[float] | np.ndarray,
    n_votes: int,
    rng: np.random.Generator,
    *,
    tie_rate: float = 0.2,
    both_bad_share: float = 0.25,
    models: Sequence[str] | None = None,
) -> Votes:
    """Votes between uniformly drawn pairs (random sides) from Bradley-Terry with ties.

    With p = 1 / (1 + 10^((R_b - R_a)/400)), a vote is not decided (tie or both bad)
    with probability t = 4 * tie_rate * p * (1 - p), A wins with p - t/2 and B with
    1 - p - t/2. So A's expected score (ties as half) is exactly p: the data follow the
    model the engine fits, and the true ratings are recoverable. `both_bad_share` of
    the undecided votes are "both bad". `tie_rate` (<= 1) is the undecided rate of an
    even match. Models are named m000, m001, ... unless `models` is given.
    """
    ratings = np.asarray(true_ratings, dtype=np.float64)
    n_models = ratings.size
    if n_models < 2:
        raise ValueError("need at least two models")
    if not 0 <= tie_rate <= 1:
        raise ValueError("tie_rate must be in [0, 1]")
    names = tuple(models) if models is not None else tuple(f"m{k:03d}" for k in range(n_models))
    side_a = rng.integers(0, n_models, size=n_votes)
    side_b = (side_a + rng.integers(1, n_models, size=n_votes)) % n_models
    p = expit((ratings[side_a] - ratings[side_b]) / POINTS_PER_NAT)
    undecided = 4.0 * tie_rate * p * (1.0 - p)
    u = rng.random(n_votes)
    outcome = np.where(
        u < p - undecided / 2, A_WINS, np.where(u < 1.0 - undecided, B_WINS, TIE)
    ).astype(np.int8)
    is_both_bad = (outcome == TIE) & (rng.random(n_votes) < both_bad_share)
    outcome[is_both_bad] = BOTH_BAD
    return Votes(names, side_a.astype(np.int32), side_b.astype(np.int32), outcome)
