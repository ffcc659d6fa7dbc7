"""The benchmark read model of the public pages: current offering stats, latency
distributions and daily success counts, aggregated in SQL and cached per snapshot
(see `queries`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from bench.stats import percentiles
from leaderboard.models import BenchSample, OfferingStats, SampleStatus
from leaderboard.pages.cache import cached
from leaderboard.pages.catalog_queries import catalog

DEFAULT_WINDOW_DAYS = 30
# Latency distributions are stored as these quantiles (0%, 1%, ..., 100%) per offering.
CDF_QUANTILES = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class StatsInfo:
    offering_id: int
    computed_at: datetime
    window_days: int
    sample_count: int
    success_count: int
    success_rate: float | None
    success_ci_low: float | None
    success_ci_high: float | None
    generation_p50_ms: float | None
    generation_p95_ms: float | None
    generation_p99_ms: float | None
    ttfb_p50_ms: float | None
    submit_ttfb_p50_ms: float | None
    cost_per_success_usd: Decimal | None
    failures: dict
    gateway_sample_count: int
    poll_bracket_p50_ms: float | None = None


@dataclass(frozen=True)
class LatencyDistribution:
    """Successful generation times of one offering: 101 quantiles (ms) over its window."""

    offering_id: int
    samples: int
    quantiles_ms: tuple[float, ...]

    def quantile(self, q: float) -> float:
        return float(np.interp(q, CDF_QUANTILES, self.quantiles_ms))


@dataclass(frozen=True)
class DailySuccess:
    day: date
    offering_id: int
    requests: int
    successes: int


def offering_stats() -> dict[int, StatsInfo]:
    """Current stats by offering id."""
    return cached("offering-stats", _load_offering_stats)


def latency_distributions(model_slug: str) -> dict[int, LatencyDistribution]:
    """By offering id, for the model's offerings that have successful samples."""
    return cached("latency", lambda: _load_latency(model_slug), model_slug)


def daily_success(provider_slug: str) -> list[DailySuccess]:
    return cached("daily-success", lambda: _load_daily_success(provider_slug), provider_slug)


def _load_offering_stats() -> dict[int, StatsInfo]:
    result = {}
    for s in OfferingStats.objects.filter(is_current=True).order_by("computed_at"):
        result[s.offering_id] = StatsInfo(
            offering_id=s.offering_id,
            computed_at=s.computed_at,
            window_days=s.window_days,
            sample_count=s.sample_count,
            success_count=s.success_count,
            success_rate=s.success_rate,
            success_ci_low=s.success_ci_low,
            success_ci_high=s.success_ci_high,
            generation_p50_ms=s.generation_p50_ms,
            generation_p95_ms=s.generation_p95_ms,
            generation_p99_ms=s.generation_p99_ms,
            ttfb_p50_ms=s.ttfb_p50_ms,
            submit_ttfb_p50_ms=s.submit_ttfb_p50_ms,
            cost_per_success_usd=s.cost_per_success_usd,
            failures=dict(s.failures or {}),
            gateway_sample_count=s.gateway_sample_count,
            poll_bracket_p50_ms=s.poll_bracket_p50_ms,
        )
    return result


def mode_speeds(mode: str) -> dict[int, tuple[float, int]]:
    """Per offering, the median generation time (ms) of its successful requests in one
    arena mode over the stats window, and how many there were."""
    return cached("mode-speeds", lambda: _load_mode_speeds(mode), mode)


def _load_mode_speeds(mode: str) -> dict[int, tuple[float, int]]:
    start, end = _sample_window(list(offering_stats()))
    times: dict[int, list[float]] = {}
    for offering_id, ms in BenchSample.objects.filter(
        mode=mode, status=SampleStatus.OK, started_at__gte=start, started_at__lte=end,
        generation_ms__isnull=False,
    ).values_list("offering_id", "generation_ms").iterator(chunk_size=10_000):  # fmt: skip
        times.setdefault(offering_id, []).append(ms)
    return {oid: (float(np.median(values)), len(values)) for oid, values in times.items()}


def _sample_window(offering_ids) -> tuple[datetime, datetime]:
    stats = [s for oid, s in offering_stats().items() if oid in set(offering_ids)]
    if stats:
        end = max(s.computed_at for s in stats)
        days = max(s.window_days for s in stats)
    else:
        end, days = timezone.now(), DEFAULT_WINDOW_DAYS
    return end - timedelta(days=days), end


def _load_latency(model_slug: str) -> dict[int, LatencyDistribution]:
    offering_ids = [o.id for o in catalog().offerings_of(model_slug, active_only=False)]
    start, end = _sample_window(offering_ids)
    times: dict[int, list[float]] = {}
    for offering_id, ms in BenchSample.objects.filter(
        offering_id__in=offering_ids, status=SampleStatus.OK,
        started_at__gte=start, started_at__lte=end, generation_ms__isnull=False,
    ).values_list("offering_id", "generation_ms").iterator(chunk_size=10_000):  # fmt: skip
        times.setdefault(offering_id, []).append(ms)
    return {
        offering_id: LatencyDistribution(
            offering_id=offering_id,
            samples=len(values),
            quantiles_ms=tuple(percentiles(values, CDF_QUANTILES)),
        )
        for offering_id, values in times.items()
    }


def _load_daily_success(provider_slug: str) -> list[DailySuccess]:
    offering_ids = [o.id for o in catalog().offerings_by(provider_slug)]
    start, end = _sample_window(offering_ids)
    rows = (
        BenchSample.objects.filter(
            offering_id__in=offering_ids, started_at__gte=start, started_at__lte=end
        )
        .exclude(status=SampleStatus.SKIPPED)
        .annotate(day=TruncDate("started_at"))
        .values_list("day", "offering_id")
        .annotate(requests=Count("id"), successes=Count("id", filter=Q(status=SampleStatus.OK)))
        .order_by("day", "offering_id")
    )
    return [DailySuccess(day, offering_id, requests, ok) for day, offering_id, requests, ok in rows]
