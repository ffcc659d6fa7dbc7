"""Chart data: the series and landscapes the SVG charts draw, built from the cached datasets."""

from __future__ import annotations

from collections import defaultdict

from leaderboard.models import ArenaMode, RatingWindow
from leaderboard.pages import queries
from leaderboard.pages.charts import Series
from leaderboard.pages.landscape import METRICS, Landscape, build_landscape
from leaderboard.pages.params import BoardQuery
from leaderboard.pages.presenters import (
    MODE_PHRASES,
    WINDOW_LABELS,
    board_rows,
    offering_rows,
)

# Chart data ----------------------------------------------------------------------------


def landscape_for_chart(metric: str, query: BoardQuery) -> tuple[Landscape, str]:
    """The landscape of one board and the chart's title."""
    rows = [row for row in board_rows(queries.boards().get(query.key)) if row.rating is not None]
    title = f"{METRICS[metric]['title']}, {MODE_PHRASES[query.mode]}"
    if query.category:
        title += f", {queries.catalog().categories[query.category].name}"
    if query.window != RatingWindow.ALL_TIME:
        title += f", {WINDOW_LABELS[query.window].lower()}"
    return build_landscape(rows, metric), title


def history_series(model_slug: str) -> list[Series]:
    """Online Elo per arena from the overall all-time boards."""
    series = []
    for mode, label in ArenaMode.choices:
        board = queries.boards().get((mode, "", RatingWindow.ALL_TIME))
        rating = board.rating_of(model_slug) if board else None
        if rating is not None and rating.elo_history:
            series.append(Series(mode, label, tuple(tuple(p) for p in rating.elo_history)))
    return series


def latency_series(model_slug: str) -> list[Series]:
    """Each offering's cumulative distribution of successful generation times (seconds)."""
    catalog = queries.catalog()
    distributions = queries.latency_distributions(model_slug)
    series = []
    for row in offering_rows(catalog.offerings_of(model_slug, active_only=False)):
        distribution = distributions.get(row.offering.id)
        if distribution is None:
            continue
        points = tuple(
            (ms / 1000.0, float(q))
            for ms, q in zip(distribution.quantiles_ms, queries.CDF_QUANTILES, strict=True)
        )
        label = f"{row.provider.name} (n={distribution.samples:,})"
        series.append(Series(row.provider.slug, label, points, is_emphasised=row.rank == 1))
    return series


def success_series(provider_slug: str) -> list[Series]:
    """Daily success rate of the provider overall (emphasised) and of each offering."""
    catalog = queries.catalog()
    per_offering: dict[int, list] = defaultdict(list)
    totals: dict = {}
    for entry in queries.daily_success(provider_slug):
        per_offering[entry.offering_id].append((entry.day, entry.successes / entry.requests))
        total = totals.setdefault(entry.day, [0, 0])
        total[0] += entry.requests
        total[1] += entry.successes
    if not totals:
        return []
    series = [
        Series(
            "all",
            "All offerings",
            tuple((day, ok / n) for day, (n, ok) in sorted(totals.items())),
            is_emphasised=True,
        )
    ]
    # The busiest offerings only: more lines than this would be unreadable.
    busiest = sorted(per_offering, key=lambda oid: -len(per_offering[oid]))[:6]
    for offering_id in sorted(busiest, key=lambda oid: catalog.offerings[oid].model_slug):
        offering = catalog.offerings[offering_id]
        series.append(
            Series(
                offering.model_slug,
                catalog.models[offering.model_slug].name,
                tuple(per_offering[offering_id]),
            )
        )
    return series
