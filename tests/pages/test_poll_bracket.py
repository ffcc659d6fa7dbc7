"""Generation time with its polling uncertainty, and retired models, on the model page."""

from datetime import date

import pandas as pd
import pytest

from bench.stats import offering_stats
from leaderboard.models import ImageModel, OfferingStats
from tests.pages import builders
from tests.pages.builders import table, text

pytestmark = pytest.mark.django_db


def test_the_provider_table_shows_the_median_poll_bracket_beside_generation_time(client):
    builders.site_with_results()
    stats = OfferingStats.objects.filter(
        offering__provider__slug="replicate", offering__image_model__slug="flux.2-pro"
    )
    stats.update(poll_bracket_p50_ms=38.0)

    html = client.get("/models/flux.2-pro/").content.decode()

    rows = {row[1].split()[0]: row for row in table(html, "provider-ranking")[1:]}
    assert "17,157 ms ± 38 ms poll" in rows["Replicate"][2]
    assert all("poll" not in row[2] for name, row in rows.items() if name != "Replicate")


def test_a_retired_model_says_since_when(client):
    builders.site_with_results()
    ImageModel.objects.filter(slug="flux.2-pro").update(
        is_active=False, retired_on=date(2026, 10, 23)
    )

    html = client.get("/models/flux.2-pro/").content.decode()

    assert "retired 2026-10-23" in text(html)


def test_the_poll_bracket_median_comes_from_polled_successes_only():
    rows = [
        # status, generation, last pending, first ready
        ("ok", 900.0, 700.0, 740.0),
        ("ok", 950.0, 800.0, 860.0),
        ("ok", 400.0, None, 380.0),  # a blocking answer: no bracket
        ("http_5xx", None, 100.0, 900.0),  # failures do not count
    ]
    frame = pd.DataFrame(
        [
            {
                "offering_id": 1, "offering_key": "p/m", "provider_slug": "p",
                "provider_name": "P", "model_slug": "m", "model_name": "M",
                "source": "bench", "started_at": pd.Timestamp.now(tz="UTC"), "status": status,
                "ttfb_ms": generation, "generation_ms": generation, "submit_ttfb_ms": 10.0,
                "cost_usd": 0.01, "last_pending_ms": pending, "first_ready_ms": ready,
            }
            for status, generation, pending, ready in rows
        ]
    )  # fmt: skip

    (entry,) = offering_stats(frame)

    assert entry["poll_bracket_p50_ms"] == pytest.approx(50.0)
