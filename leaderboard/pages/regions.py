"""Where a provider was measured from: its offerings' figures per benchmark region.

`bench run --region NAME` stamps every sample with the region its host is in; a provider
that is fast from one region and slow from another shows it here. Built once per
snapshot with the provider page (read only that provider's samples in the window).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from django.utils import timezone

from bench.stats import DEFAULT_WINDOW_DAYS, SAMPLE_COLUMNS, region_stats
from leaderboard.models import BenchSample

FIELDS = {
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


def provider_regions(slug: str, window_days: float = DEFAULT_WINDOW_DAYS) -> list[dict]:
    """One row per offering and named region (requests, success rate, p50s), by model.

    Empty when no sample of the window names a region: the page then shows nothing.
    """
    since = timezone.now() - timedelta(days=window_days)
    samples = BenchSample.objects.filter(offering__provider__slug=slug, started_at__gte=since)
    if not samples.exclude(region="").exists():
        return []
    frame = pd.DataFrame(list(samples.values_list(*FIELDS.values())), columns=list(FIELDS))
    frame["offering_key"] = frame["provider_slug"] + "/" + frame["model_slug"]
    for column in ("ttfb_ms", "generation_ms", "submit_ttfb_ms", "cost_usd"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    rows = [
        {**entry, "region": region or "unnamed"}
        for region, entries in region_stats(frame[list(SAMPLE_COLUMNS)], window_days=None).items()
        for entry in entries
    ]
    return sorted(rows, key=lambda row: (row["model_name"], row["region"]))
