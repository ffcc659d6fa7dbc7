"""Every database read of the public pages, as plain picklable data cached per snapshot.

Each public function returns frozen dataclasses (or dicts and lists of them) and is
computed at most once per snapshot and worker through `cache.cached`; presenters and
charts build on these and never touch the ORM. The heavy ones (vote tallies, latency
distributions, daily success) aggregate in SQL so a cache fill stays well under a
second even with hundreds of thousands of votes and samples.

This module is the stable entry point (`queries.catalog()`, `queries.boards()`, ...);
the code lives by concept in `catalog_queries` (the curated catalog), `board_queries`
(leaderboards, vote tallies, demo data), `stats_queries` (offering stats, latency,
daily success) and `gallery_queries` (published generations).
"""

from __future__ import annotations

from leaderboard.pages.board_queries import (
    BoardInfo,
    RatingInfo,
    Tally,
    boards,
    has_demo_data,
    simulated_offering_ids,
    vote_tallies,
)
from leaderboard.pages.catalog_queries import (
    Catalog,
    CategoryInfo,
    ChallengeInfo,
    ModelInfo,
    OfferingInfo,
    ProviderInfo,
    ReferenceInfo,
    catalog,
    category_slugs,
)
from leaderboard.pages.gallery_queries import (
    GALLERY_SCAN_LIMIT,
    GenerationInfo,
    challenge_generations,
    model_generations,
    model_showcase,
)
from leaderboard.pages.stats_queries import (
    CDF_QUANTILES,
    DEFAULT_WINDOW_DAYS,
    DailySuccess,
    LatencyDistribution,
    StatsInfo,
    daily_success,
    latency_distributions,
    mode_speeds,
    offering_stats,
)

__all__ = [
    "CDF_QUANTILES",
    "DEFAULT_WINDOW_DAYS",
    "GALLERY_SCAN_LIMIT",
    "BoardInfo",
    "Catalog",
    "CategoryInfo",
    "ChallengeInfo",
    "DailySuccess",
    "GenerationInfo",
    "LatencyDistribution",
    "ModelInfo",
    "OfferingInfo",
    "ProviderInfo",
    "RatingInfo",
    "ReferenceInfo",
    "StatsInfo",
    "Tally",
    "boards",
    "catalog",
    "category_slugs",
    "challenge_generations",
    "daily_success",
    "has_demo_data",
    "latency_distributions",
    "model_generations",
    "mode_speeds",
    "model_showcase",
    "offering_stats",
    "simulated_offering_ids",
    "vote_tallies",
]
