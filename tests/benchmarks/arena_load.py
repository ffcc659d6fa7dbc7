"""Load benchmark of the arena: many simulated voters against gunicorn on loopback.

    python -m tests.benchmarks.arena_load                      # SQLite, fresh database
    python -m tests.benchmarks.arena_load --db postgres        # a fresh PostgreSQL database
    python -m tests.benchmarks.arena_load --generator wrk      # the same votes sent by wrk

It builds a throwaway site (fresh database, the catalog, placeholder images), starts
gunicorn with production settings (DEBUG=0, WhiteNoise, CSRF and CSP on; the production
uvicorn workers of gunicorn.conf.py, or `--server gthread` workers), and runs `--voters`
concurrent voters (httpx, async) for `--duration` seconds. Each voter loads the arena
page once for its cookies and CSRF token and pays its identity's proof of work (once per
voter, at its start, not per vote), then does what arena.js does: POST a vote with the
token and get back the reveal and the next matchup as JSON (`--flow two-step` instead
fetches /arena/next before every vote). A share of votes is submitted twice at once,
like a double click: exactly one of the two must succeed.

Printed: acknowledged votes per second, p50/p99 latency, errors, the votes recorded
in the database against those acknowledged (a lost or duplicated vote shows as a
difference), and the CPU each side used per vote. The load generator shares the
machine's cores with the server (and with anything else running), so the report
also gives the rate the measured CPU per vote would allow on otherwise idle cores.
Rate limits are raised for the run: all voters share one IP, and the benchmark
measures throughput, not the limiter's verdict.

The Python voters cost about 1.1 ms of CPU per vote on the same two cores as the
server; `--generator wrk` sends the same one-request-per-vote flow from wrk (Debian's
`wrk`, a Lua script in arena_load.lua, one connection per voter) for about 0.1 ms, so the
figure is the server's. wrk sends no double submits; the Python generator does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.benchmarks import harness
from tests.benchmarks.harness import (
    CSRF_INPUT,
    REPO,
    gunicorn,
    load_average,
    manage,
    percentile,
    solve_challenge,
    work_directory,
)

OUTCOMES = ["a", "b", "tie", "both_bad"]
RAISED_LIMIT = "100000000"


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    acknowledged: int = 0
    refused_duplicates: int = 0
    double_submits: int = 0
    errors: Counter = field(default_factory=Counter)
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    wrk_latency_us: tuple[int, int] | None = None

    def timed(self, kind: str, started: float) -> None:
        self.latencies[kind].append(time.perf_counter() - started)


def site_environment(workdir: Path, database_url: str, args) -> dict[str, str]:
    env = harness.site_environment(
        workdir, database_url, ARENA_MIN_VOTE_MS=str(args.min_vote_ms), LOG_LEVEL="ERROR"
    )
    if args.keep_sqlite_connections:
        # A what-if, not the project's settings: the same settings with persistent
        # SQLite connections, to measure that change before proposing it.
        (workdir / "loadtest_settings.py").write_text(
            "from leaderboard.settings import *  # noqa: F403\n"
            'DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405\n'
        )
        env["DJANGO_SETTINGS_MODULE"] = "loadtest_settings"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir), env.get("PYTHONPATH")]))
    for name in (
        "ARENA_SERVE_LIMIT_PER_VOTER",
        "ARENA_SERVE_LIMIT_PER_IP",
        "ARENA_VOTE_LIMIT_PER_VOTER",
        "ARENA_VOTE_LIMIT_PER_IP",
        "ARENA_NEW_VOTER_LIMIT_PER_NETWORK",
    ):
        env[name] = RAISED_LIMIT
    return env


def prepare_site(env: dict[str, str], workdir: Path) -> None:
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "loaddata", "catalog", "-v0")
    shutil.copytree(REPO / "fixtures" / "media", workdir / "media", dirs_exist_ok=True)
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(
        env,
        "shell",
        "-c",
        # Six arena images per model and challenge: each voter's hundreds of votes
        # find fresh images (none twice in 500 matchups), as on a replenished site.
        "from leaderboard.arena.demo import ensure_demo_generations as make; "
        "make(side=512, arena_images=6)",
    )


def create_postgres_database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"pairwise_load_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count_recorded(database_url: str) -> tuple[int, int, int]:
    """(votes, distinct matchups voted on, matchups marked voted) in the database."""
    sql = (
        "SELECT (SELECT count(*) FROM leaderboard_vote),"
        " (SELECT count(DISTINCT matchup_id) FROM leaderboard_vote),"
        " (SELECT count(*) FROM leaderboard_matchup WHERE voted_at IS NOT NULL)"
    )
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return connection.execute(sql).fetchone()
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as connection:
        return connection.execute(sql).fetchone()


async def prove_identity(client: httpx.AsyncClient, csrf_token: str) -> None:
    """Pay the client's new voter identity's proof of work; raises on refusal."""
    challenge = (await client.get("/arena/challenge")).json()["challenge"]
    answer = await client.post(
        "/arena/identity",
        data={"altcha": await asyncio.to_thread(solve_challenge, challenge)},
        headers={"Accept": "application/json", "X-CSRFToken": csrf_token},
    )
    answer.raise_for_status()


async def voter(base_url: str, deadline: float, tally: Tally, args, rng: random.Random) -> None:
    """One simulated voter: the page once, then fetch/vote as arena.js does.

    In the "script" flow (arena.js) a vote's JSON answer carries the next matchup, so
    each vote is one request; the "two-step" flow fetches /arena/next before each vote.
    """
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    # verify=False: plain HTTP on loopback; it skips loading CA certificates per client.
    async with httpx.AsyncClient(
        base_url=base_url, timeout=30, limits=limits, verify=False
    ) as client:
        try:
            page = await client.get("/arena/")
            token = CSRF_INPUT.search(page.text).group(1)
            await prove_identity(client, token)
        except (httpx.HTTPError, AttributeError) as error:
            tally.errors[f"setup: {type(error).__name__}"] += 1
            return
        # The voter's cookies (session, CSRF) go in a fixed header from here on: httpx's
        # cookie jar costs the load generator more CPU than the rest of a request.
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        client.cookies.clear()
        json_headers = {"Accept": "application/json", "Cookie": cookie}
        vote_headers = {
            **json_headers,
            "X-CSRFToken": token,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        matchup = None
        while time.monotonic() < deadline:
            try:
                if matchup is None or args.flow == "two-step":
                    started = time.perf_counter()
                    response = await client.get("/arena/next?mode=t2i", headers=json_headers)
                    tally.timed("serve", started)
                    if response.status_code != 200:
                        tally.errors[f"serve {response.status_code}"] += 1
                        continue
                    matchup = response.json()["matchup"]
                if args.fetch_images:
                    started = time.perf_counter()
                    images = await asyncio.gather(
                        *(
                            client.get(slot["image_url"], headers={"Cookie": cookie})
                            for slot in matchup["slots"]
                        )
                    )
                    tally.timed("images", started)
                    for image in images:
                        if image.status_code != 200:
                            tally.errors[f"image {image.status_code}"] += 1
                body = f"outcome={rng.choice(OUTCOMES)}".encode()
                is_double = rng.random() < args.double_share
                started = time.perf_counter()
                if is_double:
                    responses = await asyncio.gather(
                        *(
                            client.post(matchup["vote_url"], content=body, headers=vote_headers)
                            for _ in range(2)
                        )
                    )
                else:
                    responses = [
                        await client.post(matchup["vote_url"], content=body, headers=vote_headers)
                    ]
                tally.timed("vote", started)
                statuses = sorted(r.status_code for r in responses)
                tally.acknowledged += statuses.count(200)
                if is_double:
                    tally.double_submits += 1
                    if statuses == [200, 409]:
                        tally.refused_duplicates += 1
                    else:
                        tally.errors[f"double submit {statuses}"] += 1
                elif statuses != [200]:
                    tally.errors[f"vote {statuses[0]}"] += 1
                accepted = [r for r in responses if r.status_code == 200]
                matchup = accepted[0].json()["next"] if accepted else None
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
                tally.errors[type(error).__name__] += 1
                matchup = None


async def prepare_wrk_voters(base_url: str, count: int) -> list[dict]:
    """Voters for the wrk driver: each with its cookie, CSRF token and first vote URL."""
    voters = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for _ in range(count):
            client.cookies.clear()
            page = await client.get("/arena/")
            token = CSRF_INPUT.search(page.text).group(1)
            await prove_identity(client, token)
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
            upcoming = await client.get(
                "/arena/next?mode=t2i", headers={"Accept": "application/json", "Cookie": cookie}
            )
            voters.append(
                {
                    "cookie": cookie,
                    "token": token,
                    "vote_url": upcoming.json()["matchup"]["vote_url"],
                }
            )
    return voters


def run_wrk(base_url: str, args, workdir: Path) -> tuple[Tally, float]:
    """The same script flow driven by wrk (C, one connection per voter), whose own CPU
    cost per vote is a fraction of the Python generator's; double submits are not sent."""
    voters = asyncio.run(prepare_wrk_voters(base_url, args.voters))
    lua = (
        "VOTERS = {\n"
        + "".join(
            f"  {{cookie = {json.dumps(v['cookie'])}, token = {json.dumps(v['token'])}, "
            f"vote_url = {json.dumps(v['vote_url'])}}},\n"
            for v in voters
        )
        + "}\n"
        + (Path(__file__).with_name("arena_load.lua")).read_text()
    )
    script = workdir / "voters.lua"
    started = time.time()
    vote_until = int(started + args.duration) + 1
    script.write_text(f"VOTE_UNTIL = {vote_until}\n{lua}")
    command = [
        "wrk", "-t", str(args.voters), "-c", str(args.voters), "-d", f"{int(args.duration) + 4}s",
        "--timeout", "10s", "-s", str(script), base_url,
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = vote_until - started  # the voting window; the tail only polls /healthz
    figures = dict(item.split("=") for item in re.search(r"WRK (.*)", output).group(1).split())
    tally = Tally()
    tally.acknowledged = int(figures["acknowledged"])
    if int(figures["failed"]):
        tally.errors["vote not 200"] = int(figures["failed"])
    if int(figures["errors"]):
        tally.errors["socket errors"] = int(figures["errors"])
    tally.wrk_latency_us = (int(figures["p50_us"]), int(figures["p99_us"]))
    tally.client_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return tally, elapsed


async def run_voters(base_url: str, args) -> tuple[Tally, float]:
    tally = Tally()
    rng = random.Random(args.seed)
    started = time.monotonic()
    deadline = started + args.duration
    await asyncio.gather(
        *(
            voter(base_url, deadline, tally, args, random.Random(rng.random()))
            for _ in range(args.voters)
        )
    )
    return tally, time.monotonic() - started


def report(args, tally: Tally, elapsed_s: float, recorded, load_before, load_after) -> bool:
    votes, distinct_matchups, voted_matchups = recorded
    what_if = " (what-if: persistent SQLite connections)" if args.keep_sqlite_connections else ""
    print(f"database           {args.db}{what_if}")
    print(
        f"server             gunicorn {args.server}, {args.workers} workers"
        + (f" x {args.threads} threads" if args.server == "gthread" else "")
        + f", {os.cpu_count()} cores"
    )
    print(f"voters             {args.voters} concurrent, {elapsed_s:.1f} s, flow {args.flow}")
    print(f"load average       {load_before} before, {load_after} after")
    per_vote = 1000 / max(1, tally.acknowledged)
    server_s, database_s, client_s = tally.server_cpu_s, tally.database_cpu_s, tally.client_cpu_s
    database = (
        f"postgres backends {database_s:.1f} s ({database_s * per_vote:.2f} ms/vote), "
        if args.db == "postgres"
        else ""
    )
    print(
        f"cpu                gunicorn {server_s:.1f} s ({server_s * per_vote:.2f} ms/vote), "
        f"{database}load generator {client_s:.1f} s ({client_s * per_vote:.2f} ms/vote)"
    )
    total_ms = (server_s + database_s + client_s) * per_vote
    print(
        f"capacity estimate  {os.cpu_count() * 1000 / total_ms:,.0f} votes/s if the run had "
        f"all {os.cpu_count()} cores to itself ({total_ms:.2f} ms of CPU per vote)"
    )
    print(
        f"acknowledged votes {tally.acknowledged:,} ({tally.acknowledged / elapsed_s:,.0f} votes/s)"
    )
    print(
        f"recorded votes     {votes:,} (matchups voted: {voted_matchups:,}, "
        f"distinct: {distinct_matchups:,})"
    )
    print(
        f"double submits     {tally.double_submits:,}, second submit refused (409) in "
        f"{tally.refused_duplicates:,}"
    )
    if tally.wrk_latency_us:
        p50_us, p99_us = tally.wrk_latency_us
        print(f"latency vote       p50 {p50_us / 1000:6.1f} ms  p99 {p99_us / 1000:6.1f} ms  (wrk)")
    for kind, values in tally.latencies.items():
        print(
            f"latency {kind:<10} p50 {percentile(values, 0.5) * 1000:6.1f} ms  "
            f"p99 {percentile(values, 0.99) * 1000:6.1f} ms  (n={len(values):,}, "
            f"mean {statistics.fmean(values) * 1000:.1f} ms)"
        )
    errors = sum(tally.errors.values())
    print(f"errors             {errors}" + (f" {dict(tally.errors)}" if errors else ""))
    ok = errors == 0 and votes == tally.acknowledged == distinct_matchups == voted_matchups
    relation = "==" if votes == tally.acknowledged else "!="
    print(f"verdict            {'OK' if ok else 'FAILED'}: recorded {relation} acknowledged")
    return ok


def cpu_seconds(select) -> float:
    """User + system CPU seconds of the processes `select(pid, ppid, cmdline)` picks
    (Linux /proc; processes that have exited are not counted)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if select(int(entry.name), int(fields[1]), cmdline):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def server_cpu_s(gunicorn_pid: int, pg_name: str | None) -> tuple[float, float]:
    """CPU seconds of gunicorn (master and workers) and of this run's PostgreSQL backends."""
    web = cpu_seconds(lambda pid, ppid, cmd: gunicorn_pid in (pid, ppid))
    database = cpu_seconds(
        lambda pid, ppid, cmd: cmd.startswith("postgres:") and f" {pg_name} " in cmd
    )
    return web, (database if pg_name else 0.0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "LOADTEST_PG_ADMIN_URL", "postgresql://pairwise:pairwise@127.0.0.1:5432/postgres"
        ),
        help="A PostgreSQL URL allowed to CREATE DATABASE (the run uses a fresh one).",
    )
    parser.add_argument(
        "--database-url",
        help="Run against this existing database (say one seeded with `manage.py seed_votes`) "
        "instead of a fresh one; it is migrated and topped up with images, never dropped.",
    )
    parser.add_argument("--voters", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds of load.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
    parser.add_argument(
        "--server",
        choices=["asgi", "gthread"],
        default="asgi",
        help="asgi: the production server (uvicorn workers, gunicorn.conf.py); gthread: "
        "gunicorn's threaded WSGI workers.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="gthread: threads per worker; 0: 1 on SQLite (no waits to overlap, least CPU "
        "per vote), 4 on PostgreSQL (overlaps the round trips to the database).",
    )
    parser.add_argument("--port", type=int, default=0, help="0: a free port.")
    parser.add_argument(
        "--flow",
        choices=["script", "two-step"],
        default="script",
        help="script: the vote's answer carries the next matchup (arena.js); "
        "two-step: GET /arena/next before every vote.",
    )
    parser.add_argument("--double-share", type=float, default=0.05, help="Share of double submits.")
    parser.add_argument("--fetch-images", action="store_true", help="Also download both images.")
    parser.add_argument("--min-vote-ms", type=int, default=0, help="ARENA_MIN_VOTE_MS for the run.")
    parser.add_argument(
        "--keep-sqlite-connections",
        action="store_true",
        help="What-if: run the site with persistent SQLite connections (CONN_MAX_AGE=None) "
        "instead of the project's one connection per request.",
    )
    parser.add_argument(
        "--generator",
        choices=["python", "wrk"],
        default="python",
        help="python: httpx voters (with double submits); wrk: the same vote flow from wrk "
        "(needs Debian's wrk), so the load generator takes less of the shared CPU.",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Keep the work directory.")
    args = parser.parse_args(argv)
    args.threads = args.threads or (4 if args.db == "postgres" else 1)

    with work_directory("pairwise-load-", keep=args.keep) as workdir:
        pg_name = None
        if args.database_url:
            database_url = args.database_url  # e.g. seeded with seed_votes; kept afterwards
        elif args.db == "postgres":
            pg_name, database_url = create_postgres_database(args.pg_admin_url)
        else:
            database_url = f"sqlite:///{workdir / 'load.sqlite3'}"
        try:
            env = site_environment(workdir, database_url, args)
            print(f"preparing a fresh site in {workdir} ...", flush=True)
            prepare_site(env, workdir)
            options = {
                "workers": args.workers,
                "threads": args.threads,
                "asgi": args.server == "asgi",
            }
            with gunicorn(env, port=args.port, **options) as (base_url, server):
                ok = measure(base_url, server.pid, args, database_url, pg_name, workdir)
        finally:
            if pg_name:
                drop_postgres_database(args.pg_admin_url, pg_name)
    return 0 if ok else 1


def measure(base_url, gunicorn_pid, args, database_url, pg_name, workdir) -> bool:
    """Warm up, drive the load, count what was recorded; report and return the verdict."""
    # A short warm-up so every worker has its catalog and connections.
    warmup = argparse.Namespace(**{**vars(args), "duration": 2.0, "double_share": 0.0})
    asyncio.run(run_voters(base_url, warmup))
    before = count_recorded(database_url)
    load_before = load_average()
    web_cpu, db_cpu = server_cpu_s(gunicorn_pid, pg_name)
    client_cpu = time.process_time()
    if args.generator == "wrk":
        tally, elapsed = run_wrk(base_url, args, workdir)
    else:
        tally, elapsed = asyncio.run(run_voters(base_url, args))
        tally.client_cpu_s = time.process_time() - client_cpu
    web_after, db_after = server_cpu_s(gunicorn_pid, pg_name)
    tally.server_cpu_s, tally.database_cpu_s = web_after - web_cpu, db_after - db_cpu
    load_after = load_average()
    after = count_recorded(database_url)
    recorded = tuple(a - b for a, b in zip(after, before, strict=True))
    return report(args, tally, elapsed, recorded, load_before, load_after)


if __name__ == "__main__":
    sys.exit(main())
