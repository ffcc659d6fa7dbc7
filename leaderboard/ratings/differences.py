"""Is any of several contestants detectably worse? Pairwise rating differences with
bootstrap intervals, and a verdict in plain words.

Used for the serving boards (one model's offerings against each other), where the
question is not "who is first" but "does any provider serve this model worse".
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .bootstrap import bootstrap_intervals
from .bradley_terry import fit_bradley_terry, win_probability
from .leaderboard import Leaderboard, rate_counts
from .votes import aggregate_votes


@dataclass(frozen=True)
class Difference:
    """`better` minus `worse` in Elo points, its bootstrap interval, and the chance that
    `better` wins a head-to-head (Bradley-Terry: 1 / (1 + 10^(-points / 400)))."""

    better: str
    worse: str
    points: float
    ci_low: float
    ci_high: float
    win_probability: float

    @property
    def is_detectable(self) -> bool:
        """The interval of the difference leaves out 0."""
        return self.ci_low > 0.0


@dataclass(frozen=True)
class Comparison:
    board: Leaderboard
    differences: tuple[Difference, ...]


def compare(
    model_a: Sequence[str],
    model_b: Sequence[str],
    outcome: Sequence[str],
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """The leaderboard of `rate_counts` plus every pair's rating difference.

    Each pair's interval is the percentile interval of the difference of the two
    ratings over the same bootstrap rounds (not the two separate intervals, which
    overlap long after the difference is clear). Both-bad votes count as ties.
    """
    counts = aggregate_votes(model_a, model_b, outcome)
    board = rate_counts(counts, bootstrap=bootstrap, seed=seed, confidence=confidence)
    fit = fit_bradley_terry(counts)
    intervals = bootstrap_intervals(counts, fit, rounds=bootstrap, seed=seed, confidence=confidence)
    tail = (1.0 - confidence) / 2.0 * 100.0
    differences = []
    for i, j in itertools.combinations(range(len(fit.models)), 2):
        hi, lo = (i, j) if fit.rating[i] >= fit.rating[j] else (j, i)
        points = float(fit.rating[hi] - fit.rating[lo])
        low, high = points, points
        if intervals.samples.size:
            samples = intervals.samples[:, hi] - intervals.samples[:, lo]
            low, high = (float(x) for x in np.percentile(samples, [tail, 100.0 - tail]))
        differences.append(
            Difference(
                better=fit.models[hi],
                worse=fit.models[lo],
                points=points,
                ci_low=low,
                ci_high=high,
                win_probability=float(win_probability(fit.rating[hi], fit.rating[lo])),
            )
        )
    differences.sort(key=lambda d: -d.points)
    return Comparison(board, tuple(differences))


def worst(comparison: Comparison) -> str | None:
    """The lowest-rated contestant that is detectably worse than some other; None if none."""
    detectably_worse = {d.worse for d in comparison.differences if d.is_detectable}
    for row in reversed(comparison.board.rows):
        if row.model in detectably_worse:
            return row.model
    return None


def verdict(comparison: Comparison, label=str) -> str:
    """ "No detectable difference" when every pair's interval contains 0; otherwise which
    contestant is worse and by how much, naming contestants through `label`."""
    if len(comparison.board.rows) < 2:
        return "Not enough votes to compare yet."
    loser = worst(comparison)
    if loser is None:
        return (
            "No detectable difference: for every pair, the 95% interval of the rating "
            f"difference contains 0 ({comparison.board.total_votes} votes)."
        )
    against = [d for d in comparison.differences if d.worse == loser and d.is_detectable]
    strongest = max(against, key=lambda d: d.points)
    names = [label(d.better) for d in against]
    others = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return (
        f"{label(loser)} is worse than {others}: voters preferred "
        f"{label(strongest.better)} in {strongest.win_probability:.0%} of head-to-heads "
        f"({strongest.points:.0f} Elo points, 95% interval {strongest.ci_low:.0f} to "
        f"{strongest.ci_high:.0f}; {comparison.board.total_votes} votes)."
    )
