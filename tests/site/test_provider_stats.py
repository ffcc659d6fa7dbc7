"""`manage.py stats`: OfferingStats rows with exact percentiles, rates and failure counts."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from leaderboard.models import BenchSample, Offering, OfferingStats

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering():
    call_command("loaddata", "catalog", verbosity=0)
    return Offering.objects.get(provider__slug="fal", image_model__slug="flux.2-pro")


def sample(
    offering, status="ok", generation_ms=None, ttfb_ms=None, age_days=0, source="bench", cost="0.03"
):
    return BenchSample.objects.create(
        offering=offering,
        status=status,
        generation_ms=generation_ms,
        ttfb_ms=ttfb_ms,
        started_at=timezone.now() - timedelta(days=age_days),
        source=source,
        cost_usd=Decimal(cost) if status == "ok" else None,
    )


def test_stats_give_exact_percentiles_success_rate_and_failures(offering):
    for ms in (1000, 2000, 3000, 4000, 5000):
        sample(offering, generation_ms=ms, ttfb_ms=ms - 100)
    sample(offering, status="http_5xx")
    sample(offering, status="timeout", source="gateway")
    sample(offering, status="skipped")  # never sent: not a request
    sample(offering, generation_ms=99_000, age_days=40)  # outside the 30-day window
    out = io.StringIO()
    call_command("stats", stdout=out)
    assert out.getvalue().startswith("stats for 1 offerings from 8 samples")
    row = OfferingStats.objects.get(offering=offering, is_current=True)
    assert row.sample_count == 7
    assert row.success_count == 5
    assert row.success_rate == pytest.approx(5 / 7)
    assert row.generation_p50_ms == 3000
    assert row.generation_p95_ms == pytest.approx(4800)  # linear interpolation: 4000 + 0.8 * 1000
    assert row.ttfb_p50_ms == 2900
    assert row.failures == {"http_5xx": 1, "timeout": 1}
    assert row.gateway_sample_count == 1
    assert row.cost_per_success_usd == Decimal("0.03")
    # Wilson 95% interval for 5/7, by hand with z=1.96:
    # centre (5/7 + z²/14) / (1 + z²/7) = 0.6384, half-width 0.2794.
    assert row.success_ci_low == pytest.approx(0.3589, abs=1e-3)
    assert row.success_ci_high == pytest.approx(0.9178, abs=1e-3)


def test_a_new_computation_replaces_the_current_one(offering):
    sample(offering, generation_ms=1000)
    call_command("stats", stdout=io.StringIO())
    sample(offering, generation_ms=3000)
    call_command("stats", stdout=io.StringIO())
    current = OfferingStats.objects.filter(offering=offering, is_current=True)
    assert current.count() == 1
    assert current.get().generation_p50_ms == 2000


def test_a_bad_window_is_a_clear_error(offering):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 1"):
        call_command("stats", window_days=0)
