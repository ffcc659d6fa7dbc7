"""API isolation: slow provider calls in flight must not slow the pages down.

    python -m tests.benchmarks.api_isolation                    # SQLite
    python -m tests.benchmarks.api_isolation --db postgres      # a scratch PostgreSQL db

Builds a throwaway production-like site (DEBUG=0, the demo's ratings and stats), serves
it with the README's production command (gunicorn.conf.py: uvicorn workers), starts the
loopback provider simulator in its own process with every image taking `--image-s`
seconds (20), puts `--calls` API calls (200) in flight through the official protocol,
and while they wait reads the leaderboard and /healthz with `--readers` concurrent
clients. Prints p50/p99/max latency and errors of the reads while the calls are in
flight (the target: p99 < 50 ms, 0 errors), the reads while the answers come back, the
API calls' outcome, and the server's memory per in-flight call (RSS of the workers
with the calls in flight minus before, divided by the number of calls).

`--server wsgi` serves the same site with the previous command (sync workers) for
comparison: there each call holds a worker, and the reads wait.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from tests.benchmarks.harness import free_port, percentile, site_environment, wait_until_up

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
READ_PATHS = ("/leaderboard/", "/healthz")
# The simulator and the callers stand for machines elsewhere, whose CPU is not the
# server's: they run at this niceness. So does the API's own server (--api-server).
ELSEWHERE_NICENESS = 10
API_SERVER_NICENESS = 10


def niced(command: list[str], niceness: int) -> list[str]:
    return ["nice", "-n", str(niceness), *command] if niceness else command


def create_postgres_database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"scale_api_isolation_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def prepare_site(env: dict[str, str], simulator_url: str, votes: int) -> str:
    """The demo site, its simulated provider pointed at our simulator; returns an API key."""
    manage = [PYTHON, "manage.py"]
    run([*manage, "migrate", "--noinput", "-v0"], env)
    run([*manage, "collectstatic", "--noinput", "-v0"], env)
    run(
        [PYTHON, "-m", "tests.benchmarks.page_speed", "--populate-only", "--votes", str(votes)], env
    )
    point = (
        "from leaderboard.models import Provider; "
        f"Provider.objects.filter(slug='simulated').update(base_url={simulator_url!r}, "
        "is_active=True)"
    )
    run([*manage, "shell", "-c", point], env)
    return run([*manage, "create_api_key", "api-isolation"], env).splitlines()[-1].strip()


def start_simulator(workdir: Path, port: int, image_s: float) -> subprocess.Popen:
    profile = {
        "seed": 1,
        "default": {
            "queue_ms": 0,
            "processing_ms": image_s * 1000,
            "transfer_ms": 5,
            "failures": {},
        },
        "models": {},
    }
    path = workdir / "slow-profile.json"
    path.write_text(json.dumps(profile))
    command = [PYTHON, "-m", "bench", "simulate", "--port", str(port), "--profile", str(path)]
    command = niced(command, ELSEWHERE_NICENESS)
    log = open(workdir / "simulator.log", "ab")  # noqa: SIM115
    return subprocess.Popen(command, cwd=REPO, stdout=log, stderr=log, start_new_session=True)


def start_server(
    env: dict[str, str], workdir: Path, port: int, args, *, workers: int, niceness: int = 0
) -> subprocess.Popen:
    if args.server == "asgi":  # the README's production command, with a loopback port
        command = [GUNICORN, "leaderboard.asgi:application", "-c", "gunicorn.conf.py"]
    else:  # the previous production command: sync workers (gunicorn.conf.py names another)
        command = [GUNICORN, "leaderboard.wsgi", "--worker-class", "sync"]
    command = niced([*command, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)], niceness)
    log = open(workdir / f"server-{port}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True
    )


def worker_rss_kb(server: subprocess.Popen) -> int:
    """Resident memory of the server's workers (children of the gunicorn master)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    total = 0
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


async def api_call(client: httpx.AsyncClient, key: str, outcomes: list) -> None:
    # One seed for every call: the simulator draws that picture once, not 200 times on
    # the 2 cores the server under test runs on (real providers draw elsewhere). The
    # server's own work per answer (decode, store, record) is the same for any picture.
    body = {"model": "flux.2-pro", "prompt": "A fox in the snow", "size": "1024x1024"}
    body.update(response_format="url", seed=7)
    started = time.perf_counter()
    try:
        response = await client.post(
            "/openai/v1/images/generations",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        )
        status = response.status_code
    except httpx.HTTPError as error:
        status = type(error).__name__
    outcomes.append((status, time.perf_counter() - started, time.time()))


def fire_calls(base_url: str, key: str, calls: int, timeout_s: float) -> list:
    """Make `calls` API calls at once; (status, seconds, finished at) of each.

    Runs in a process of its own: 200 answers arriving together keep an event loop
    busy for a while, and the readers' loop must not be that one, or their latency
    would include it.
    """
    os.nice(ELSEWHERE_NICENESS)

    async def fire() -> list:
        outcomes: list = []
        limits = httpx.Limits(max_connections=calls + 10, max_keepalive_connections=calls)
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits) as client:
            await asyncio.gather(*(api_call(client, key, outcomes) for _ in range(calls)))
        return outcomes

    return asyncio.run(fire())


async def read_pages(client: httpx.AsyncClient, stop, samples: dict, errors: list):
    turn = 0
    while not stop():
        path = READ_PATHS[turn % len(READ_PATHS)]
        turn += 1
        started = time.perf_counter()
        try:
            response = await client.get(path)
            if response.status_code != 200:
                errors.append(f"{path}: HTTP {response.status_code}")
        except httpx.HTTPError as error:
            errors.append(f"{path}: {type(error).__name__}")
            continue
        samples[path].append(time.perf_counter() - started)


async def read_while(base_url: str, stop, readers: int) -> tuple[dict, list]:
    """Reads by `readers` clients at once until `stop()` is true: (latencies, errors)."""
    samples: dict[str, list[float]] = {path: [] for path in READ_PATHS}
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(read_pages(client, stop, samples, errors) for _ in range(readers)))
    return samples, errors


async def read_for(base_url: str, seconds: float, readers: int) -> tuple[dict, list]:
    until = time.perf_counter() + seconds
    return await read_while(base_url, lambda: time.perf_counter() >= until, readers)


def report_reads(title: str, samples: dict, errors: list) -> None:
    print(f"\n{title}")
    for path, values in samples.items():
        print(
            f"  {path:<14} {len(values):6d} reads  p50 {percentile(values, 0.5) * 1000:7.1f} ms"
            f"  p99 {percentile(values, 0.99) * 1000:7.1f} ms"
            f"  max {max(values, default=float('nan')) * 1000:7.1f} ms"
        )
    print(f"  errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))


async def measure(
    base_url: str, api_url: str, key: str, api_server: subprocess.Popen, args
) -> None:
    # Warm up: every worker renders the leaderboard once.
    await read_for(base_url, 2, args.readers)
    settle_s = min(3.0, args.image_s / 4)  # until every call has reached the simulator
    window_s = max(1.0, args.image_s - 3.0 - settle_s)
    report_reads(
        f"Baseline: reads with no API call in flight ({window_s:.0f} s window)",
        *await read_for(base_url, window_s, args.readers),
    )
    if not args.calls:
        return
    rss_before_kb = worker_rss_kb(api_server)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as callers:
        calls = asyncio.get_running_loop().run_in_executor(
            callers, fire_calls, api_url, key, args.calls, args.image_s * 10 + 60
        )
        await asyncio.sleep(settle_s)
        rss_during_kb = worker_rss_kb(api_server)
        in_flight = await read_for(base_url, window_s, args.readers)
        in_flight_until = time.time()
        # Then from the first answer to a second after the last: the whole return.
        returned = asyncio.Event()
        returning_from = time.perf_counter()
        answers = asyncio.create_task(read_while(base_url, returned.is_set, args.readers))
        outcomes = await calls
        await asyncio.sleep(1)
        returned.set()
        returning = await answers
        returning_s = time.perf_counter() - returning_from
    in_flight_done = sum(finished <= in_flight_until for _status, _seconds, finished in outcomes)
    report_reads(
        f"Reads while {args.calls} API calls wait on the provider ({window_s:.0f} s window; "
        f"{in_flight_done} calls had finished by its end)",
        *in_flight,
    )
    report_reads(
        f"Reads while the API answers come back (until a second after the last: "
        f"{returning_s:.1f} s window)",
        *returning,
    )
    statuses: dict = {}
    for status, _seconds, _finished in outcomes:
        statuses[status] = statuses.get(status, 0) + 1
    durations = [seconds for _status, seconds, _finished in outcomes]
    print(
        f"\nAPI calls: {len(outcomes)} answered, statuses {statuses}, "
        f"duration p50 {percentile(durations, 0.5):.1f} s, max {max(durations):.1f} s"
    )
    grown_kb = rss_during_kb - rss_before_kb
    print(
        f"Worker memory: {rss_before_kb / 1024:.0f} MB before, {rss_during_kb / 1024:.0f} MB "
        f"with {args.calls} calls in flight: {grown_kb / args.calls:.0f} KB per in-flight call"
    )
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.api_isolation")
    parser.add_argument("--calls", type=int, default=200, help="API calls in flight")
    parser.add_argument("--image-s", type=float, default=20.0, help="seconds per image")
    parser.add_argument("--readers", type=int, default=4, help="concurrent page readers")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--server", choices=["asgi", "wsgi"], default="asgi")
    parser.add_argument(
        "--api-server",
        choices=["same", "separate"],
        default="same",
        help="separate: the API on its own server (--api-workers, at a lower CPU priority), "
        "as the README's production section describes",
    )
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "PAIRWISE_BENCH_PG", "postgres://pairwise:pairwise@127.0.0.1:5432/pairwise"
        ),
    )
    parser.add_argument("--votes", type=int, default=2000, help="demo votes behind the pages")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="api-isolation-"))
    pg_name = None
    if args.db == "postgres":
        pg_name, database_url = create_postgres_database(args.postgres_url)
    else:
        database_url = f"sqlite:///{workdir / 'site.sqlite3'}"
    env = site_environment(workdir, database_url, GATEWAY_RATE_LIMIT_PER_MINUTE="0")
    simulator_port, server_port, api_port = free_port(), free_port(), free_port()
    simulator = start_simulator(workdir, simulator_port, args.image_s)
    servers: list[subprocess.Popen] = []
    try:
        print(f"Preparing the site in {workdir} ({args.db}) ...", flush=True)
        key = prepare_site(env, f"http://127.0.0.1:{simulator_port}", args.votes)
        servers.append(start_server(env, workdir, server_port, args, workers=args.workers))
        base_url = api_url = f"http://127.0.0.1:{server_port}"
        if args.api_server == "separate":
            servers.append(
                start_server(
                    env,
                    workdir,
                    api_port,
                    args,
                    workers=args.api_workers,
                    niceness=API_SERVER_NICENESS,
                )  # fmt: skip
            )
            api_url = f"http://127.0.0.1:{api_port}"
        for url in {base_url, api_url}:
            wait_until_up(url)
        print(
            f"Server: {args.server}, {args.workers} workers"
            + (f"; API: its own server, {args.api_workers} workers at nice {API_SERVER_NICENESS}"
               if args.api_server == "separate" else "")
            + f"; simulator: {args.image_s:g} s per image; {args.readers} readers; "
            f"load: {os.getloadavg()[0]:.2f}",
            flush=True,
        )  # fmt: skip
        asyncio.run(measure(base_url, api_url, key, servers[-1], args))
    finally:
        for process in (*servers, simulator):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if pg_name is not None:
            drop_postgres_database(args.postgres_url, pg_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
