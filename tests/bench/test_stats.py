"""Statistics: golden numbers you can check by hand, the window, the ranking sentence."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from bench import stats
from bench.cli import main
from bench.runner import run_benchmark
from bench.stats import (
    fastest_sentence,
    load_samples,
    model_rankings,
    offering_stats,
    summarize,
    wilson_interval,
)
from tests.bench.builders import challenge, fast_profile, simulated_catalog
from tests.bench.conftest import set_profile

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def frame(rows):
    """Samples shaped like load_samples' frame; rows: (provider, model, status, ms, days_ago)."""
    records = []
    for index, (provider, model, status, generation_ms, days_ago) in enumerate(rows):
        ok = status == "ok"
        records.append(
            {
                "offering_id": hash((provider, model)) % 1000,
                "offering_key": f"{provider}/{model}",
                "provider_slug": provider,
                "provider_name": provider.title(),
                "model_slug": model,
                "model_name": model.upper(),
                "source": "bench",
                "started_at": NOW - timedelta(days=days_ago, seconds=index),
                "status": status,
                "ttfb_ms": generation_ms - 100 if ok else None,
                "generation_ms": generation_ms if ok else None,
                "submit_ttfb_ms": 50.0,
                "cost_usd": 0.03 if ok else None,
            }
        )
    return pd.DataFrame(records)


def test_the_wilson_interval_matches_published_values():
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605.
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=5e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_offering_stats_count_percentiles_failures_and_cost_by_hand():
    samples = frame(
        [("replicate", "flux", "ok", ms, 1) for ms in (1000, 2000, 3000, 4000, 5000)]
        + [
            ("replicate", "flux", "rate_limited", None, 1),
            ("replicate", "flux", "timeout", None, 2),
        ]
        + [("replicate", "flux", "skipped", None, 1)]
        + [("replicate", "flux", "ok", 99999, 31)]  # outside the 30-day window
    )

    (stats,) = offering_stats(samples, now=NOW)

    assert stats["sample_count"] == 7 and stats["success_count"] == 5
    assert stats["success_rate"] == pytest.approx(5 / 7)
    assert (stats["success_ci_low"], stats["success_ci_high"]) == pytest.approx(
        wilson_interval(5, 7)
    )
    assert stats["generation_p50_ms"] == 3000
    assert stats["generation_p95_ms"] == pytest.approx(4800)  # 4000 + 0.8 * (5000 - 4000)
    assert stats["generation_p99_ms"] == pytest.approx(4960)
    assert stats["ttfb_p50_ms"] == 2900
    assert stats["failures"]["rate_limited"] == 1 and stats["failures"]["timeout"] == 1
    assert stats["failures"]["http_5xx"] == 0 and "skipped" not in stats["failures"]
    assert stats["cost_per_success_usd"] == pytest.approx(0.03)


def test_the_ranking_sorts_providers_by_median_generation_time_with_the_reference_sentence():
    samples = frame(
        [("fal", "flux", "ok", ms, 1) for ms in (20666, 20666, 20700)]
        + [("replicate", "flux", "ok", ms, 1) for ms in (17157, 17157, 18000)]
        + [("bfl", "flux", "http_5xx", None, 1)]
    )

    (model,) = model_rankings(offering_stats(samples, now=NOW))

    assert [entry["provider_slug"] for entry in model["ranking"]] == ["replicate", "fal", "bfl"]
    assert [entry["rank"] for entry in model["ranking"]] == [1, 2, 3]
    assert model["sentence"] == (
        "Fastest generation through replicate at 17,157ms median latency with 100.0% success rate."
    )
    assert fastest_sentence(model["ranking"][2]) is None


def test_stats_are_computed_from_the_samples_a_run_stored(
    database_url, media_root, simulator, capsys
):
    set_profile(
        simulator, fast_profile(models={"sim-openai-model": {"failures": {"server_error": 1.0}}})
    )
    simulated_catalog(("fal_sync", "openai_images"))
    challenge("fox")
    run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        repeat=3,
        base_url_overrides={"simulated": simulator.base_url},
    )

    samples = load_samples(database_url)
    summary = summarize(samples)
    code = main(["stats", "--database-url", database_url, "--json"])
    printed = json.loads(capsys.readouterr().out)

    assert len(samples) == 6 and samples["started_at"].dt.tz is not None
    by_key = {entry["offering_key"]: entry for entry in summary["offerings"]}
    assert by_key["simulated/sim-fal-sync"]["success_rate"] == 1.0
    assert by_key["simulated/sim-openai-images"]["failures"]["http_5xx"] == 3
    assert code == 0 and printed["offerings"] == json.loads(json.dumps(summary["offerings"]))
    assert main(["stats", "--database-url", database_url]) == 0
    assert "Fastest generation through simulated at" in capsys.readouterr().out


def test_the_one_percentile_interpolates_between_the_closest_ranks():
    # Type 7 (numpy's and pandas' default), not nearest rank: with ten samples the p99
    # is not simply the largest one.
    values = [float(v) for v in range(10, 0, -1)]
    assert stats.percentile(values, 0.5) == pytest.approx(5.5)
    assert stats.percentile(values, 0.99) == pytest.approx(9.91)
    assert stats.percentile([*values, float("nan")], 0.99) == pytest.approx(9.91)
    assert stats.percentile([], 0.5) is None
    rng = np.random.default_rng(3)
    sample = rng.lognormal(8, 0.5, size=257)
    qs = [0.0, 0.01, 0.5, 0.95, 0.99, 1.0]
    assert stats.percentiles(sample, qs) == pytest.approx(np.quantile(sample, qs).tolist())


def test_the_stats_keys_are_the_offering_stats_column_names():
    from leaderboard.models import OfferingStats

    columns = {field.name for field in OfferingStats._meta.concrete_fields}
    assert set(stats.STATS_COLUMNS) <= columns
