"""Elo versus cost and Elo versus speed: the points, and the Pareto frontier among them.

A model is on the frontier when no other model is at least as cheap (or fast) and
rated higher: the models worth considering at their price or speed. Pure module, so
the charts, the tables beside them and the API name the same models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

METRICS = {
    "cost": {
        "title": "Elo versus cost",
        "axis": "Price per image (USD, 1024×1024, log scale)",
        "column": "Price per image",
        "better": "cheaper",
        "adjective": "cheap",
    },
    "speed": {
        "title": "Elo versus speed",
        "axis": "p50 generation time of the fastest provider (seconds, log scale)",
        "column": "p50 generation time",
        "better": "faster",
        "adjective": "fast",
    },
}


@dataclass(frozen=True)
class ChartPoint:
    """One model on a landscape chart: x (dollars or seconds), rating and its 95% interval."""

    slug: str
    name: str
    x: float
    y: float
    low: float
    high: float
    is_provisional: bool = False
    via: str = ""  # the provider behind x


@dataclass(frozen=True)
class Landscape:
    metric: str
    points: tuple[ChartPoint, ...]
    frontier: tuple[ChartPoint, ...]
    left_out: tuple[str, ...]  # names of rated models without a price or a timing

    @property
    def title(self) -> str:
        return METRICS[self.metric]["title"]

    @property
    def frontier_slugs(self) -> set[str]:
        return {point.slug for point in self.frontier}


def pareto_frontier(points: Iterable[ChartPoint]) -> list[ChartPoint]:
    """The points not dominated by another (lower-or-equal x and strictly higher y), by x.

    Sort by x ascending (higher y first among equal x) and keep each point rated above
    every point before it: O(n log n), deterministic (ties by slug).
    """
    frontier, best = [], -math.inf
    for point in sorted(points, key=lambda p: (p.x, -p.y, p.slug)):
        if point.y > best:
            frontier.append(point)
            best = point.y
    return frontier


def build_landscape(rows: Sequence, metric: str) -> Landscape:
    """The landscape of a leaderboard's rated rows (presenters.BoardRow) for one metric."""
    points, left_out = [], []
    for row in rows:
        if row.rating is None:
            continue
        if metric == "cost":
            x = None if row.price_per_image_usd is None else float(row.price_per_image_usd)
            via = row.cheapest_provider.name if row.cheapest_provider else ""
        else:
            x = None if row.fastest_p50_ms is None else row.fastest_p50_ms / 1000.0
            via = row.fastest_provider.name if row.fastest_provider else ""
        if x is None or x <= 0:
            left_out.append(row.model.name)
            continue
        points.append(
            ChartPoint(
                slug=row.model.slug,
                name=row.model.name,
                x=x,
                y=row.rating,
                low=row.ci_low if row.ci_low is not None else row.rating,
                high=row.ci_high if row.ci_high is not None else row.rating,
                is_provisional=row.is_provisional,
                via=via,
            )
        )
    return Landscape(metric, tuple(points), tuple(pareto_frontier(points)), tuple(left_out))
