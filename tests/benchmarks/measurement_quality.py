"""Measurement-quality benchmark: how exact are the runner's timings, and is it fast enough?

    python -m tests.benchmarks.measurement_quality [--quick] [--json]

Not a test: it prints figures. It starts the simulator in a separate process (so
its work does not share the runner's event loop; with two or more cores each
process is pinned to its own core), creates a throw-away SQLite database with
``manage.py migrate``, and then:

1. Accuracy. The full runner (lock, writer thread, database, image files) times
   requests over all five endpoint kinds at concurrency 1, 50 and 200, against
   lognormal queue/processing/transfer delays of the order real providers have
   (median ~1.5 s per image). For every sample, the error is the measured TTFB or
   generation time minus the server's ground truth: the time from the simulator
   receiving the create request to it writing the image's first (last) byte, both
   on CLOCK_MONOTONIC, which the two processes share. Reported: p50 and p99 of the
   absolute error, and the mean signed error (positive means we measure slow).
2. Throughput. Against a zero-delay simulator, the runner's generations per second
   (Replicate protocol: a POST with ``Prefer: wait`` and the image GET, plus
   everything the runner does with the result) against a bare ``httpx.AsyncClient``
   loop doing the same two requests, in the same run, alternated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.config import REPO_ROOT
from bench.http import make_client
from bench.runner import run_benchmark_async
from bench.store import Store
from bench.suites import Suite
from tests.benchmarks.harness import migrated_sqlite as _migrated_database
from tests.benchmarks.harness import percentile as _quantile
from tests.benchmarks.harness import pin_to_cpu as _pin
from tests.benchmarks.harness import seed_catalog

KINDS = ("replicate", "fal_queue", "fal_sync", "bfl", "openai_images")
REALISTIC = {
    "seed": 11,
    "default": {
        "queue_ms": {"median": 300, "sigma": 0.6},
        "processing_ms": {"median": 1200, "sigma": 0.35},
        "transfer_ms": {"median": 40, "sigma": 0.5},
        "failures": {},
    },
}
ZERO_DELAY = {"seed": 11, "default": {"failures": {}}}
SUITE = Suite("quality", "512x512 JPEG", size="512x512", output_format="jpeg")
THROUGHPUT_SUITE = Suite("throughput", "256x256 JPEG", size="256x256", output_format="jpeg")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.measurement_quality", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    scale = 0.25 if args.quick else 1.0
    _pin(0)
    with tempfile.TemporaryDirectory(prefix="pairwise-quality-") as folder:
        folder = Path(folder)
        database_url = _migrated_database(folder / "quality.sqlite3")
        report = {"machine": _machine_noise(), "accuracy": [], "throughput": {}}
        if not args.json:
            print(_noise_line(report["machine"]), flush=True)
        with _simulator(REALISTIC, folder) as base_url:
            _seed_catalog(database_url, KINDS, base_url)
            for concurrency, requests in ((1, 30), (50, 300), (200, 800)):
                requests = max(len(KINDS), int(requests * scale))
                figures = asyncio.run(
                    _accuracy(database_url, folder / "media", base_url, concurrency, requests)
                )
                report["accuracy"].append(figures)
                if not args.json:
                    print(_accuracy_line(figures), flush=True)
        with _simulator(ZERO_DELAY, folder) as base_url:
            requests = int(2000 * scale)
            report["throughput"] = asyncio.run(
                _throughput(database_url, folder / "media", base_url, requests, concurrency=16)
            )
            if not args.json:
                print(_throughput_line(report["throughput"]), flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


async def _accuracy(database_url, media_root, base_url, concurrency, requests) -> dict:
    summary = await run_benchmark_async(
        database_url,
        media_root,
        suite=SUITE,
        repeat=max(1, requests // len(KINDS)),
        concurrency=concurrency,
        base_url_overrides={"simulated": base_url},
    )
    truth = await _truth(base_url)
    store = Store(database_url)
    s = store.sample
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                s.c.provider_request_id, s.c.status, s.c.ttfb_ms, s.c.generation_ms, s.c.started_at
            ).where(s.c.run_id == summary.run_id)
        ).all()
    store.close()
    # started_at is the wall-clock twin of the monotonic send stamp; this offset maps it
    # back onto the monotonic line to split each error into its two directions.
    offset_ns = time.time_ns() - time.monotonic_ns()
    ttfb_errors, generation_errors, upstream = [], [], []
    for row in rows:
        job = truth.get(row.provider_request_id)
        if row.status != "ok" or job is None or job["first_byte_ns"] is None:
            continue
        ttfb_errors.append(row.ttfb_ms - (job["first_byte_ns"] - job["received_ns"]) / 1e6)
        generation_errors.append(
            row.generation_ms - (job["last_byte_ns"] - job["received_ns"]) / 1e6
        )
        started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
        sent_ns = int(started.timestamp() * 1e6) * 1000 - offset_ns
        upstream.append((job["received_ns"] - sent_ns) / 1e6)
    return {
        "concurrency": concurrency,
        "samples": len(rows),
        "ok": len(ttfb_errors),
        "elapsed_s": round(summary.elapsed_s, 2),
        "ttfb_error_ms": _error_figures(ttfb_errors),
        "generation_error_ms": _error_figures(generation_errors),
        # request sent -> the simulator noticing it; the rest of the error is on the way back
        "send_to_server_receipt_ms": _error_figures(upstream),
    }


async def _truth(base_url: str) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        jobs = (await client.get("/_simulator/jobs")).json()["jobs"]
    return {job["id"]: job for job in jobs}


def _error_figures(errors: list[float]) -> dict:
    if not errors:
        return {}
    absolute = sorted(abs(error) for error in errors)
    return {
        "p50_abs": round(_quantile(absolute, 0.50), 3),
        "p99_abs": round(_quantile(absolute, 0.99), 3),
        "max_abs": round(absolute[-1], 3),
        "mean_signed": round(sum(errors) / len(errors), 3),
    }


async def _throughput(database_url, media_root, base_url, requests, concurrency) -> dict:
    rounds = {"bare_httpx_per_s": [], "bare_bench_client_per_s": [], "runner_per_s": []}
    await _bare_loop(base_url, 100, concurrency)  # warm-up: the simulator renders once
    for _ in range(3):
        rounds["bare_httpx_per_s"].append(await _bare_loop(base_url, requests, concurrency))
        rounds["bare_bench_client_per_s"].append(
            await _bare_loop(base_url, requests, concurrency, bench_client=True)
        )
        started = time.monotonic()
        summary = await run_benchmark_async(
            database_url,
            media_root,
            suite=THROUGHPUT_SUITE,
            offerings=["simulated/sim-replicate"],
            repeat=requests,
            concurrency=concurrency,
            base_url_overrides={"simulated": base_url},
        )
        assert summary.counts.get("ok") == requests, summary.line()
        rounds["runner_per_s"].append(requests / (time.monotonic() - started))
    medians = {key: statistics.median(values) for key, values in rounds.items()}
    return {
        "requests_per_round": requests,
        "concurrency": concurrency,
        "rounds": {key: [round(v, 1) for v in values] for key, values in rounds.items()},
        **{key: round(value, 1) for key, value in medians.items()},
        "ratio": round(medians["runner_per_s"] / medians["bare_httpx_per_s"], 3),
        "ratio_to_bench_client": round(
            medians["runner_per_s"] / medians["bare_bench_client_per_s"], 3
        ),
    }


async def _bare_loop(base_url: str, requests: int, concurrency: int, bench_client=False) -> float:
    """The reference: the same two requests per generation, nothing else.

    ``bench_client`` uses bench's own client (sharded pools, stamped sockets) instead of
    httpx's default, which isolates the cost of the runner's bookkeeping.
    """
    body = {
        "input": {
            "prompt": "A photo for the quality challenge",
            "aspect_ratio": "custom",
            "width": 256,
            "height": 256,
            "output_format": "jpg",
            "seed": 42,
        }
    }
    remaining = requests
    limits = httpx.Limits(max_connections=concurrency + 4)
    client = (
        make_client(max_connections=concurrency + 4)
        if bench_client
        else httpx.AsyncClient(limits=limits, timeout=60)
    )
    async with client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                created = await client.post(
                    f"{base_url}/v1/models/sim/replicate/predictions",
                    json=body,
                    headers={"Prefer": "wait=60"},
                )
                image = await client.get(created.json()["output"])
                assert image.status_code == 200 and image.content

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.monotonic() - started)


def _machine_noise(seconds: float = 3.0) -> dict:
    """How late an idle event loop on this core wakes up: the floor under every figure.

    Other processes on the machine deschedule ours; while descheduled nothing reads
    sockets, and the kernel merges queued segments under the later one's timestamp.
    """

    async def probe() -> list[float]:
        lags, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            await asyncio.sleep(0.001)
            lags.append((time.monotonic() - started - 0.001) * 1000)
        return sorted(lags)

    lags = asyncio.run(probe())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "load_average_1min": load,
        "idle_loop_lag_ms": {
            "p50": round(_quantile(lags, 0.5), 3),
            "p99": round(_quantile(lags, 0.99), 3),
            "max": round(lags[-1], 3),
        },
    }


def _noise_line(machine: dict) -> str:
    lag = machine["idle_loop_lag_ms"]
    return (
        f"machine: {machine['cpus']} CPUs, load average {machine['load_average_1min']:.2f}; "
        f"an idle event loop wakes late by p50 {lag['p50']:.3f} ms, p99 {lag['p99']:.3f} ms, "
        f"max {lag['max']:.3f} ms"
    )


def _accuracy_line(figures: dict) -> str:
    ttfb, generation = figures["ttfb_error_ms"], figures["generation_error_ms"]
    return (
        f"concurrency {figures['concurrency']:>3}: {figures['ok']}/{figures['samples']} ok in "
        f"{figures['elapsed_s']} s | TTFB error p50 {ttfb['p50_abs']:.3f} ms, p99 "
        f"{ttfb['p99_abs']:.3f} ms (max {ttfb['max_abs']:.3f}, mean {ttfb['mean_signed']:+.3f}) | "
        f"generation error p50 {generation['p50_abs']:.3f} ms, p99 {generation['p99_abs']:.3f} ms "
        f"(max {generation['max_abs']:.3f}, mean {generation['mean_signed']:+.3f}) | "
        f"of which send->server receipt p50 {figures['send_to_server_receipt_ms']['p50_abs']:.3f}"
        f" ms, p99 {figures['send_to_server_receipt_ms']['p99_abs']:.3f} ms"
    )


def _throughput_line(figures: dict) -> str:
    return (
        f"throughput at concurrency {figures['concurrency']}, {figures['requests_per_round']} "
        f"generations per round (medians of 3): bare httpx loop "
        f"{figures['bare_httpx_per_s']}/s, bare loop on bench's client "
        f"{figures['bare_bench_client_per_s']}/s, runner {figures['runner_per_s']}/s = "
        f"{figures['ratio']:.0%} of bare httpx, {figures['ratio_to_bench_client']:.0%} of "
        f"bench's client (rounds {figures['rounds']})"
    )


class _simulator:
    """The simulator in a child process pinned to another core; yields its base URL."""

    def __init__(self, profile: dict, folder: Path) -> None:
        self.path = folder / f"profile-{id(profile)}.json"
        self.path.write_text(json.dumps(profile))

    def __enter__(self) -> str:
        code = (
            "import os, sys; from tests.benchmarks.measurement_quality import _pin; _pin(1); "
            "from bench.cli import main; sys.exit(main(sys.argv[1:]))"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "simulate", "--port", "0", "--profile", str(self.path)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        return line.split(" on ")[1].split()[0]

    def __exit__(self, *exc) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _seed_catalog(database_url: str, kinds, base_url: str) -> None:
    """A ``simulated`` provider with one model per protocol and one challenge."""
    offerings = [
        (f"sim-{kind.replace('_', '-')}", kind, "flux-2-pro" if kind == "bfl" else f"sim/{kind}")
        for kind in kinds
    ]
    seed_catalog(
        database_url,
        base_url,
        provider="simulated",
        challenge="quality",
        prompt="A photo for the quality challenge",
        offerings=offerings,
    )


if __name__ == "__main__":
    sys.exit(main())
