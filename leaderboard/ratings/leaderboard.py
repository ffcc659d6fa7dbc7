"""One call from votes to a leaderboard: fit, bootstrap intervals, ranks with confidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .bootstrap import bootstrap_intervals
from .bradley_terry import UnratedModel, fit_bradley_terry
from .votes import PairCounts, aggregate_votes


@dataclass(frozen=True)
class RatingRow:
    """One rated model. Ratings and interval bounds are Elo points.

    `votes` counts every vote with the model (both-bad included even when dropped);
    `ties` are explicit ties only, `both_bad` the "both bad" votes; `win_rate` is
    (wins + half the counted ties) / counted votes. `status` is "mle" or "prior".
    `rank` is the place by rating; `rank_best`..`rank_worst` the places the model could
    hold given the 95% intervals (see `rank_ranges`).
    """

    model: str
    rating: float
    ci_low: float
    ci_high: float
    ci_median: float
    rank: int
    rank_best: int
    rank_worst: int
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    win_rate: float
    is_provisional: bool
    status: str


@dataclass(frozen=True)
class Leaderboard:
    """Rated models sorted by rating (highest first), the models left out, and notes."""

    rows: tuple[RatingRow, ...]
    unrated: tuple[UnratedModel, ...]
    notes: tuple[str, ...]
    total_votes: int
    settings: dict

    def row(self, model: str) -> RatingRow:
        for row in self.rows:
            if row.model == model:
                return row
        raise KeyError(model)

    def to_dict(self) -> dict:
        """JSON-ready: {"ratings": [...], "unrated": [...], "notes": [...], ...}."""
        return {
            "ratings": [
                {
                    "model": row.model,
                    "rating": round(row.rating, 4),
                    "ci_low": round(row.ci_low, 4),
                    "ci_high": round(row.ci_high, 4),
                    "ci_median": round(row.ci_median, 4),
                    "rank": row.rank,
                    "rank_best": row.rank_best,
                    "rank_worst": row.rank_worst,
                    "votes": row.votes,
                    "wins": row.wins,
                    "losses": row.losses,
                    "ties": row.ties,
                    "both_bad": row.both_bad,
                    "win_rate": round(row.win_rate, 6),
                    "provisional": row.is_provisional,
                    "status": row.status,
                }
                for row in self.rows
            ],
            "unrated": [asdict(u) for u in self.unrated],
            "notes": list(self.notes),
            "votes": self.total_votes,
            "settings": dict(self.settings),
        }


def confident_ranks(ci_low: np.ndarray, ci_high: np.ndarray) -> np.ndarray:
    """Rank = 1 + number of models whose lower bound is above this model's upper bound.

    Ties in rank are expected: models whose intervals overlap share the better rank.
    With zero-width intervals this is the usual competition ranking by rating.
    """
    low = np.asarray(ci_low, dtype=np.float64)
    high = np.asarray(ci_high, dtype=np.float64)
    return 1 + (low[None, :] > high[:, None]).sum(axis=1)


# Ratings closer than this (Elo points) are equal: the fit's floating-point noise.
EQUAL_RATING_POINTS = 1e-6


def ranks_by_rating(rating: np.ndarray) -> np.ndarray:
    """Competition ranking by rating: 1 + the number of models rated strictly higher.

    Models share a number only when their ratings are equal (1, 2, 2, 4), that is
    within EQUAL_RATING_POINTS.
    """
    value = np.asarray(rating, dtype=np.float64)
    return 1 + (value[None, :] > value[:, None] + EQUAL_RATING_POINTS).sum(axis=1)


def rank_ranges(
    rating: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The best and worst rank each model could hold given the intervals.

    Best = `confident_ranks` (1 + models whose lower bound is above this model's upper
    bound); worst = 1 + the other models whose upper bound is not below this model's
    lower bound (those not confidently worse). Both are widened to contain the rank
    by rating, since a percentile interval need not contain the point estimate.
    """
    low = np.asarray(ci_low, dtype=np.float64)
    high = np.asarray(ci_high, dtype=np.float64)
    by_rating = ranks_by_rating(rating)
    best = confident_ranks(low, high)
    not_worse = high[None, :] >= low[:, None]
    np.fill_diagonal(not_worse, False)
    worst = 1 + not_worse.sum(axis=1)
    return np.minimum(best, by_rating), np.maximum(worst, by_rating)


def rate_counts(
    counts: PairCounts,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    both_bad: str = "tie",
    center: float = 1000.0,
    anchor: tuple[str, float] | None = None,
    min_votes: int = 50,
    virtual_ties: float = 2.0,
    prior_sd_points: float | None = None,
    confidence: float = 0.95,
) -> Leaderboard:
    """Leaderboard from pair counts: `fit_bradley_terry`, then `bootstrap_intervals`.

    Rank is the place by rating (`ranks_by_rating`); `rank_best`/`rank_worst` follow
    `rank_ranges` on the bootstrap interval; a model with fewer than
    `min_votes` votes is provisional. With `bootstrap=0` the interval collapses to the
    rating. See `fit_bradley_terry` for the rules when no finite MLE exists.
    """
    fit = fit_bradley_terry(
        counts,
        both_bad=both_bad,
        center=center,
        anchor=anchor,
        virtual_ties=virtual_ties,
        prior_sd_points=prior_sd_points,
    )
    intervals = bootstrap_intervals(counts, fit, rounds=bootstrap, seed=seed, confidence=confidence)
    ranks = ranks_by_rating(fit.rating)
    best, worst = rank_ranges(fit.rating, intervals.ci_low, intervals.ci_high)
    totals = counts.model_totals()[fit.design.model_index]
    counted_ties = totals[:, 2] + (totals[:, 3] if both_bad == "tie" else 0)
    counted = totals[:, 0] + totals[:, 1] + counted_ties
    win_rate = (totals[:, 0] + 0.5 * counted_ties) / np.maximum(counted, 1)
    all_votes = totals.sum(axis=1)

    rows = [
        RatingRow(
            model=model,
            rating=float(fit.rating[k]),
            ci_low=float(intervals.ci_low[k]),
            ci_high=float(intervals.ci_high[k]),
            ci_median=float(intervals.median[k]),
            rank=int(ranks[k]),
            rank_best=int(best[k]),
            rank_worst=int(worst[k]),
            votes=int(all_votes[k]),
            wins=int(totals[k, 0]),
            losses=int(totals[k, 1]),
            ties=int(totals[k, 2]),
            both_bad=int(totals[k, 3]),
            win_rate=float(win_rate[k]),
            is_provisional=bool(all_votes[k] < min_votes),
            status=fit.status[k],
        )
        for k, model in enumerate(fit.models)
    ]
    rows.sort(key=lambda row: (-row.rating, row.model))
    notes = list(fit.notes)
    provisional = sum(row.is_provisional for row in rows)
    if provisional:
        notes.append(f"{provisional} models have fewer than {min_votes} votes: provisional.")
    if intervals.rule_rounds:
        notes.append(
            f"In {intervals.rule_rounds} of {intervals.rounds} bootstrap rounds the resampled "
            "votes had no finite MLE for some model; the virtual-tie rule was applied there."
        )
    settings = {
        "bootstrap": bootstrap,
        "seed": seed,
        "both_bad": both_bad,
        "center": center,
        "anchor": list(anchor) if anchor else None,
        "min_votes": min_votes,
        "virtual_ties": virtual_ties,
        "prior_sd_points": prior_sd_points,
        "confidence": confidence,
    }
    return Leaderboard(
        rows=tuple(rows),
        unrated=fit.unrated,
        notes=tuple(notes),
        total_votes=counts.total_votes,
        settings=settings,
    )


def rate(
    model_a: Sequence[str] | np.ndarray,
    model_b: Sequence[str] | np.ndarray,
    outcome: Sequence[str] | np.ndarray,
    *,
    models: Sequence[str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    both_bad: str = "tie",
    center: float = 1000.0,
    anchor: tuple[str, float] | None = None,
    min_votes: int = 50,
    virtual_ties: float = 2.0,
    prior_sd_points: float | None = None,
    confidence: float = 0.95,
) -> Leaderboard:
    """Leaderboard from votes given as model names and outcomes ("a", "b", "tie", "both_bad").

    `models`, when given, lists every model to report (those without votes appear as
    unrated). Everything else as in `rate_counts`.
    """
    counts = aggregate_votes(model_a, model_b, outcome, models=models)
    return rate_counts(
        counts,
        bootstrap=bootstrap,
        seed=seed,
        both_bad=both_bad,
        center=center,
        anchor=anchor,
        min_votes=min_votes,
        virtual_ties=virtual_ties,
        prior_sd_points=prior_sd_points,
        confidence=confidence,
    )
