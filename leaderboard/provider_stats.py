"""Stored provider statistics: bench.stats over BenchSample rows, written as OfferingStats.

The maths lives in `bench.stats` (pandas, no Django) so the runner's own
`python -m bench stats` and the site show the same figures; this module only
feeds it the samples through the ORM and stores what it returns.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
from django.db import transaction
from django.utils import timezone

from bench import stats
from leaderboard.models import BenchSample, OfferingStats, SampleSource


@dataclass(frozen=True)
class StatsSummary:
    offerings: int
    samples: int
    seconds: float

    def __str__(self):
        return (
            f"stats for {self.offerings} offerings from {self.samples:,} samples, "
            f"{self.seconds:.1f} s"
        )


# Where each column of bench.stats.SAMPLE_COLUMNS comes from in the ORM.
SAMPLE_FIELDS = {
    "offering_id": "offering_id",
    "provider_slug": "offering__provider__slug",
    "provider_name": "offering__provider__name",
    "model_slug": "offering__image_model__slug",
    "model_name": "offering__image_model__name",
    "source": "source",
    "started_at": "started_at",
    "status": "status",
    "ttfb_ms": "ttfb_ms",
    "generation_ms": "generation_ms",
    "submit_ttfb_ms": "submit_ttfb_ms",
    "cost_usd": "cost_usd",
    "last_pending_ms": "last_pending_ms",
    "first_ready_ms": "first_ready_ms",
    "region": "region",
}


def load_samples(window_days: float, now: datetime, **filters) -> pd.DataFrame:
    """The window's samples (narrowed by ORM `filters`) in the columns `bench.stats` expects."""
    columns = [column for column in stats.SAMPLE_COLUMNS if column in SAMPLE_FIELDS]
    rows = BenchSample.objects.filter(
        started_at__gte=now - timedelta(days=window_days), started_at__lte=now, **filters
    ).values_list(*(SAMPLE_FIELDS[column] for column in columns))
    frame = pd.DataFrame.from_records(list(rows.iterator(chunk_size=10_000)), columns=columns)
    frame["offering_key"] = frame["provider_slug"] + "/" + frame["model_slug"]
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    frame["cost_usd"] = pd.to_numeric(frame["cost_usd"], errors="coerce")
    return frame


def refresh_offering_stats(*, window_days: int = 30, now: datetime | None = None) -> StatsSummary:
    """Recompute every offering's rolling-window stats and make them current."""
    started = time.monotonic()
    now = now or timezone.now()
    samples = load_samples(window_days, now)
    gateway_counts = (
        samples[samples["source"] == SampleSource.GATEWAY].groupby("offering_id").size()
    )
    rows = [
        OfferingStats(
            offering_id=entry["offering_id"],
            computed_at=now,
            window_days=window_days,
            gateway_sample_count=int(gateway_counts.get(entry["offering_id"], 0)),
            **_stored_values(entry),
        )
        for entry in stats.offering_stats(samples, window_days=window_days, now=now)
    ]
    with transaction.atomic():
        OfferingStats.objects.filter(is_current=True).update(is_current=False)
        OfferingStats.objects.bulk_create(rows)
        OfferingStats.objects.filter(computed_at__lt=now - timedelta(days=1)).delete()
    return StatsSummary(len(rows), len(samples), time.monotonic() - started)


def _stored_values(entry: dict) -> dict:
    """bench.stats' figures by their column names (the same names, one vocabulary)."""
    values = {column: entry[column] for column in stats.STATS_COLUMNS}
    # Stored as exact money, and only the failure classes that occurred.
    values["cost_per_success_usd"] = _usd(entry["cost_per_success_usd"])
    values["failures"] = {k: v for k, v in entry["failures"].items() if v}
    return values


def _usd(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 6)))
