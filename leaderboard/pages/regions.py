"""Where a provider was measured from: its offerings' figures per benchmark region.

`bench run --region NAME` stamps every sample with the region its host is in; a provider
that is fast from one region and slow from another shows it here. Built once per
snapshot with the provider page (read only that provider's samples in the window).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from bench.stats import DEFAULT_WINDOW_DAYS, SAMPLE_COLUMNS, region_stats
from leaderboard.models import BenchSample
from leaderboard.provider_stats import load_samples


def provider_regions(slug: str, window_days: float = DEFAULT_WINDOW_DAYS) -> list[dict]:
    """One row per offering and named region (requests, success rate, p50s), by model.

    Empty when no sample of the window names a region: the page then shows nothing.
    """
    now = timezone.now()
    since = now - timedelta(days=window_days)
    named = BenchSample.objects.filter(offering__provider__slug=slug, started_at__gte=since)
    if not named.exclude(region="").exists():
        return []
    frame = load_samples(window_days, now, offering__provider__slug=slug)
    rows = [
        {**entry, "region": region or "unnamed"}
        for region, entries in region_stats(frame[list(SAMPLE_COLUMNS)], window_days=None).items()
        for entry in entries
    ]
    return sorted(rows, key=lambda row: (row["model_name"], row["region"]))
