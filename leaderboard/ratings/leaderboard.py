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
    """

    model: str
    rating: float
    ci_low: float
    ci_high: float
    ci_median: float
    rank: int
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

    Rank follows `confident_ranks` on the bootstrap interval; a model with fewer than
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
    ranks = confident_ranks(intervals.ci_low, intervals.ci_high)
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
