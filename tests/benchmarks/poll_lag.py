"""Median completion-detection lag per polled protocol, against the simulator's ground truth.

The simulator knows when each job completed (``Job.done_ns``, on the machine-wide
monotonic clock); the adapter knows when it first heard so (``first_ready_ms`` after
its send). Their difference is the lag polling adds to every generation time. Run:

    python -m tests.benchmarks.poll_lag                # default settings (adaptive polling)
    python -m tests.benchmarks.poll_lag --fixed        # the old fixed intervals, to compare
    python -m tests.benchmarks.poll_lag -n 100 --concurrency 8

Replicate answers its create call with ``Prefer: wait`` (held until done, up to 60 s),
so its figure is that of the blocking answer; it polls only for longer jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from bench.http import make_client
from bench.providers import ADAPTERS, Endpoint, ImageRequest, generate, protocol_base_url
from bench.simulator import SimulatorThread

PROTOCOLS = {"bfl": "sim-lag-bfl", "fal_queue": "sim/lag-fal", "replicate": "pairwise-sim/lag"}
# The simulator's default latencies (bench.simulator.DEFAULT_PROFILE), without failures.
PROFILE = {
    "seed": 11,
    "default": {
        "queue_ms": {"median": 150, "sigma": 0.5},
        "processing_ms": {"median": 600, "sigma": 0.3},
        "transfer_ms": {"median": 10, "sigma": 0.3},
        "failures": {},
    },
}


async def measure(base_url: str, kind: str, model: str, n: int, concurrency: int, fixed: bool):
    interval = ADAPTERS[kind].default_poll_interval_s if fixed else None
    endpoint = Endpoint(
        protocol_base_url(kind, base_url), model, poll_interval_s=interval, deadline_s=60
    )
    request = ImageRequest("A lighthouse at dawn", 256, 256, output_format="jpeg")
    slots = asyncio.Semaphore(concurrency)
    async with make_client(read_timeout_s=60, max_connections=concurrency + 4) as client:

        async def one():
            async with slots:
                return await generate(kind, endpoint, request, client=client)

        return await asyncio.gather(*(one() for _ in range(n)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=60, help="requests per protocol (default 60)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--fixed", action="store_true", help="poll at the old fixed intervals")
    args = parser.parse_args(argv)

    mode = "fixed intervals" if args.fixed else "adaptive polling (default settings)"
    print(f"completion-detection lag, {args.n} requests per protocol, {mode}")
    print(f"{'protocol':<11} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} {'polls/job':>10}")
    with SimulatorThread(profile=PROFILE) as running:
        for kind, model in PROTOCOLS.items():
            results = asyncio.run(
                measure(running.base_url, kind, model, args.n, args.concurrency, args.fixed)
            )
            lags = []
            for result in results:
                if not result.is_ok or result.first_ready_ms is None:
                    continue
                job = running.simulator.jobs[result.provider_request_id]
                ready_ns = result.sent_ns + result.first_ready_ms * 1e6
                lags.append((ready_ns - job.done_ns) / 1e6)
            lags.sort()
            polls = statistics.mean(result.polls for result in results)
            print(
                f"{kind:<11} {statistics.median(lags):>10.1f} "
                f"{lags[int(0.9 * (len(lags) - 1))]:>8.1f} {lags[-1]:>8.1f} {polls:>10.1f}"
                + ("" if len(lags) == len(results) else f"  ({len(results) - len(lags)} failed)")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
