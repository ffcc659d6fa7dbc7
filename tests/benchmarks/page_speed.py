"""Speed benchmark of the public pages: `python -m tests.benchmarks.page_speed`.

Exists to check the caching design against its target: the cached leaderboard and
model pages serve at least 70% of the requests per second of a trivial view
(`/healthz`), and a cold chart renders in under 300 ms.

It builds a production-like site in a temporary directory (DEBUG=0, its own SQLite
database filled by `manage.py demo`: the catalog, the simulated providers benchmarked by
the real runner, their images, a simulated crowd's votes, `ratings` and `stats`), serves
it with gunicorn on loopback, and loads each URL in turn with a small asyncio HTTP
client, alternating the URLs over several rounds so that noise from other processes
hits them all alike.
Prints requests per second and p50/p99 latency per URL, the ratio to the trivial view,
and cold chart render times (in-process and over HTTP).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta

from tests.benchmarks.harness import (
    get_load,
    get_text,
    gunicorn,
    manage,
    percentile,
    run_python,
    site_environment,
    work_directory,
)

TARGET_RATIO = 0.70
TARGET_COLD_CHART_MS = 300.0


# Demo-like data ------------------------------------------------------------------------


def populate(*, votes: int, seed: int) -> str:
    """Fill the (empty) database named by DATABASE_URL with the demo; returns a summary.

    `manage.py demo` does it all (simulated benchmark, generations, crowd votes,
    ratings, stats); any step it did not do is filled in the same spirit.
    """
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    django.setup()
    from django.core.management import call_command

    from leaderboard.arena.demo import ensure_demo_generations, simulate_crowd
    from leaderboard.models import BenchSample, Generation, Leaderboard, OfferingStats, Vote

    started = time.monotonic()
    quiet = open(os.devnull, "w")  # noqa: SIM115
    call_command("demo", votes=votes, stdout=quiet)
    if not BenchSample.objects.exists():
        synthetic_samples(seed=seed)
    if not Generation.objects.exists():
        ensure_demo_generations(side=256)
    if not Vote.objects.exists():
        simulate_crowd(votes=votes, seed=seed)
    if not Leaderboard.objects.exists():
        call_command("ratings", bootstrap=200, seed=seed, stdout=quiet)
    if not OfferingStats.objects.exists():
        call_command("stats", stdout=quiet)
    return (
        f"{Vote.objects.count():,} votes, {Generation.objects.count():,} generations, "
        f"{BenchSample.objects.count():,} samples in {time.monotonic() - started:.1f} s"
    )


def synthetic_samples(*, seed: int, per_offering: int = 80) -> int:
    """Benchmark samples for every live offering over the last 30 days (seeded).

    Generation times are log-normal around a per-model median scaled per provider;
    a few percent fail with a provider-specific mix of failure classes.
    """
    from django.utils import timezone

    from bench.pricing import request_cost_usd
    from leaderboard.models import BenchSample, Offering

    rng = random.Random(seed)
    now = timezone.now()
    samples = []
    offerings = Offering.objects.filter(is_active=True).select_related("provider", "image_model")
    for offering in offerings:
        model_rng = random.Random(f"{seed}:{offering.image_model.slug}")
        provider_rng = random.Random(f"{seed}:{offering.provider.slug}")
        median_ms = model_rng.uniform(3_000, 25_000) * provider_rng.uniform(0.7, 1.4)
        failure_rate = provider_rng.uniform(0.0, 0.08)
        classes = ["timeout", "http_5xx", "rate_limited", "moderated", "invalid_image"]
        cost = request_cost_usd(offering.pricing_rule, 1024, 1024)
        for _ in range(per_offering):
            started_at = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            if rng.random() < failure_rate:
                samples.append(
                    BenchSample(
                        offering=offering,
                        started_at=started_at,
                        status=rng.choice(classes),
                        http_status=500,
                    )
                )
                continue
            generation_ms = median_ms * rng.lognormvariate(0, 0.35)
            samples.append(
                BenchSample(
                    offering=offering,
                    started_at=started_at,
                    status="ok",
                    generation_ms=generation_ms,
                    ttfb_ms=generation_ms * rng.uniform(0.85, 0.97),
                    submit_ttfb_ms=rng.uniform(80, 400),
                    cost_usd=cost,
                    width=1024,
                    height=1024,
                    requested_width=1024,
                    requested_height=1024,
                )
            )
    BenchSample.objects.bulk_create(samples, batch_size=2000)
    return len(samples)


def measure_cold_charts() -> dict[str, float]:
    """Milliseconds to build each kind of chart from a cold cache, in this process."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    django.setup()
    from leaderboard.pages import chart_data, charts, queries
    from leaderboard.pages.cache import forget_snapshot

    def fresh():
        forget_snapshot()
        queries.catalog()  # the catalog is shared by every page; warm it like a site would

    # The busiest model and provider: their charts have the most to draw.
    catalog, stats = queries.catalog(), queries.offering_stats()

    def requests(offerings):
        return sum(stats[o.id].sample_count for o in offerings if o.id in stats)

    model = max(catalog.models, key=lambda slug: requests(catalog.offerings_of(slug)))
    provider = max(catalog.providers, key=lambda slug: requests(catalog.offerings_by(slug)))
    jobs = {
        "elo-vs-cost": lambda: _landscape_svg("cost"),
        "elo-vs-speed": lambda: _landscape_svg("speed"),
        "rating-history": lambda: charts.history_svg(chart_data.history_series(model), title="h"),
        "latency-cdf": lambda: charts.latency_cdf_svg(chart_data.latency_series(model), title="l"),
        "provider-success": lambda: charts.success_svg(
            chart_data.success_series(provider), title="s"
        ),
    }
    result = {}
    for name, job in jobs.items():
        times = []
        for _ in range(3):
            fresh()
            started = time.perf_counter()
            job()
            times.append((time.perf_counter() - started) * 1000)
        result[name] = statistics.median(times)
    return result


def _landscape_svg(metric: str) -> str:
    from leaderboard.pages import chart_data, charts
    from leaderboard.pages.params import BoardQuery

    landscape, title = chart_data.landscape_for_chart(metric, BoardQuery())
    return charts.landscape_svg(landscape, title=title)


# Orchestration -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.page_speed")
    parser.add_argument("--requests", type=int, default=2000, help="requests per URL per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median kept)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--votes", type=int, default=3000, help="demo votes to simulate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary site")
    parser.add_argument("--populate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cold-charts-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.populate_only:
        print(populate(votes=args.votes, seed=args.seed))
        return 0
    if args.cold_charts_only:
        print(json.dumps(measure_cold_charts()))
        return 0

    with work_directory("pairwise-bench-", keep=args.keep) as directory:
        env = site_environment(directory, LOG_LEVEL="WARNING")
        print(f"site in {directory} (DEBUG=0, SQLite, {args.workers} gunicorn workers)")
        manage(env, "collectstatic", "--noinput", "-v0")
        manage(env, "migrate", "-v0")
        populate_command = ["--populate-only", "--votes", str(args.votes), "--seed", str(args.seed)]
        print("data:", run_python(env, "-m", __spec__.name, *populate_command))
        cold = json.loads(run_python(env, "-m", __spec__.name, "--cold-charts-only"))
        with gunicorn(env, workers=args.workers, sync=True) as (base_url, _server):
            results, first_ms, http_cold = measure_pages(base_url, args)
    return report(args, results, first_ms, http_cold, cold)


def measure_pages(base_url: str, args):
    """Per URL, each round's (req/s, sorted latencies ms, errors); first-request times."""
    model = "flux.2-pro"
    urls = {
        "trivial view (/healthz)": "/healthz",
        "leaderboard": "/leaderboard/?mode=t2i",
        "model page": f"/models/{model}/",
    }
    # The first request of a page (per worker) renders it; time that too.
    first_ms = {}
    for name, path in urls.items():
        seconds, status, _text = get_text(base_url, path)
        first_ms[name] = seconds * 1000
        if status != 200:
            sys.exit(f"{path} answered {status}")
    http_cold = {}
    for name, path in _chart_paths(base_url, model).items():
        seconds, status, _text = get_text(base_url, path)
        http_cold[name] = (seconds * 1000, status)
    for path in urls.values():  # warm every worker
        get_load(base_url, path, 50, args.concurrency)
    results: dict[str, list] = {name: [] for name in urls}
    for _ in range(args.rounds):
        for name, path in urls.items():
            results[name].append(get_load(base_url, path, args.requests, args.concurrency))
    return results, first_ms, http_cold


def report(args, results, first_ms, http_cold, cold) -> int:
    print(
        f"\n{args.requests} requests x {args.rounds} rounds per URL, concurrency "
        f"{args.concurrency}, median round shown (note: the load generator shares the CPUs)"
    )
    print(f"{'URL':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs trivial':>11}")
    summary = {}
    for name, rounds in results.items():
        rate, latencies, errors = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
        summary[name] = rate
        print(
            f"{name:<26} {rate:8.0f} {percentile(latencies, 0.5):8.1f} "
            f"{percentile(latencies, 0.99):8.1f} {errors:7d} "
            f"{rate / summary['trivial view (/healthz)']:10.0%}"
        )
    print(
        "\nfirst (uncached) request per page, ms: "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in first_ms.items())
    )
    print(
        "cold chart render in-process (data + matplotlib + SVG clean-up), ms: "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in cold.items())
    )
    print(
        "cold chart over HTTP (first request, one worker), ms: "
        + ", ".join(f"{name} {ms:.0f} ({status})" for name, (ms, status) in http_cold.items())
    )

    trivial = summary["trivial view (/healthz)"]
    pages_ok = all(
        summary[name] >= TARGET_RATIO * trivial
        for name in summary
        if name != "trivial view (/healthz)"
    )
    charts_ok = max(cold.values()) < TARGET_COLD_CHART_MS
    print(
        f"\ntarget: cached pages >= {TARGET_RATIO:.0%} of the trivial view: "
        f"{'met' if pages_ok else 'NOT met'}; cold chart < {TARGET_COLD_CHART_MS:.0f} ms: "
        f"{'met' if charts_ok else 'NOT met'}"
    )
    return 0 if pages_ok and charts_ok else 1


def _chart_paths(base_url: str, model: str) -> dict[str, str]:
    """The chart URLs the model page links to (read from its HTML)."""
    import re

    _seconds, _status, page = get_text(base_url, f"/models/{model}/")
    paths = re.findall(r'src="(/charts/[^"]+)"', page)
    names = {}
    for path in paths:
        path = path.replace("&amp;", "&")
        kind = path.split("/")[-1].split(".svg")[0]
        key = "elo-vs-" + kind if kind in ("cost", "speed") else kind
        names.setdefault(key, path)
    return names


if __name__ == "__main__":
    sys.exit(main())
