"""Scale benchmark: millions of votes, seeded with `manage.py seed_votes`.

    python -m tests.benchmarks.scale_votes --db postgres --votes 10000000
    python -m tests.benchmarks.scale_votes --db sqlite --votes 2000000

Builds a scratch database (PostgreSQL: `scale_votes_<pid>`, dropped at the end unless
--keep; SQLite: a file in a temporary directory), loads the catalog and demo images,
seeds the votes, then times, each in its own child process (wall time, and peak
memory from that child's rusage maxrss):

1. seed_votes N;
2. the first `manage.py ratings` (every board, --bootstrap rounds, detection on): it
   counts every day and builds the Elo history from the first vote;
3. a second full `manage.py ratings` (the day counts and Elo state exist);
4. after `seed_votes 1000` more (cast in the last minutes), an incremental refresh;
5. the model page's uncached render (the page cache dropped before each render): a new
   process's first render (which also compiles the templates), then the median and
   the worst of 5;
6. `manage.py export_votes` of each arena mode to a file (rows, wall, peak), and the sum.

Targets from issue 14 (10M on PostgreSQL: ratings < 30 s and < 500 MB, incremental
< 5 s, model page < 200 ms, export < 60 s with flat memory; 2M on SQLite: ratings
< 10 s and < 400 MB, model page < 500 ms) are printed next to the figures; nothing is
asserted. The machine's load average is printed before and after: on a shared
machine wall times stretch, CPU times less so.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def timed(command: list[str], env: dict) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak MB) of one child process, and its standard output."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr = child.stderr.read().decode()
        out.seek(0)
        stdout = out.read().decode()
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout.strip()


def manage(*args) -> list[str]:
    return [PYTHON, "manage.py", *args]


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def line(what: str, wall: float, cpu: float, peak: float, target: str = "") -> None:
    print(
        f"{what:<44} {wall:8.2f} s wall {cpu:8.2f} s CPU {peak:8.0f} MB peak   {target}",
        flush=True,
    )


PAGE_SCRIPT = """
import os, statistics, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
django.setup()
from django.test import Client
from leaderboard.pages.cache import forget_snapshot
client = Client()
times = []
for _ in range(6):
    forget_snapshot()
    started = time.perf_counter()
    response = client.get("/models/{slug}/")
    times.append((time.perf_counter() - started) * 1000)
    assert response.status_code == 200, response.status_code
# The first render of a new process also imports and compiles the templates.
print(f"{{times[0]:.0f}} {{statistics.median(times[1:]):.0f}} {{max(times[1:]):.0f}}")
"""


def create_postgres(admin_url: str, template: str | None = None) -> tuple[str, str]:
    import psycopg

    name = f"scale_votes_{os.getpid()}"
    # A file copy, checkpointed before and after: the default (WAL_LOG) copy writes
    # the whole database to the WAL, and its flushing would be timed in the first run.
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"{copy}')
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_benchmark(args, env: dict, workdir: Path) -> None:
    quiet = dict(stdout=subprocess.DEVNULL)
    subprocess.run(manage("migrate", "--noinput", "-v0"), cwd=REPO, env=env, check=True, **quiet)
    subprocess.run(manage("loaddata", "catalog", "-v0"), cwd=REPO, env=env, check=True, **quiet)
    subprocess.run(
        manage(
            "shell",
            "-c",
            "from leaderboard.arena.demo import ensure_demo_generations as make; make(side=64)",
        ),
        cwd=REPO,
        env=env,
        check=True,
        **quiet,
    )
    if args.template:
        print(f"{args.db}, a copy of {args.template}; {load()}", flush=True)
    else:
        print(f"{args.db}, {args.votes:,} votes; {load()}", flush=True)
        seeded = timed(manage("seed_votes", str(args.votes), "--days", str(args.days)), env)
        line(f"seed_votes {args.votes:,}", *seeded[:3], seeded[3])
    rounds = str(args.bootstrap)
    target = "(target < 30 s, < 500 MB)" if args.db == "postgres" else "(target < 10 s, < 400 MB)"
    first = timed(manage("ratings", "--bootstrap", rounds), env)
    line("ratings, first run (counts every day, Elo)", *first[:3], target)
    print("   ", first[3].replace("\n", "\n    "))
    again = timed(manage("ratings", "--bootstrap", rounds), env)
    line("ratings, full refit (state kept)", *again[:3], target)
    more = timed(manage("seed_votes", "1000", "--days", "0.0005", "--seed", "1"), env)
    line("seed_votes 1,000 new", *more[:3])
    incremental = timed(manage("ratings", "--bootstrap", rounds), env)
    line("ratings after 1,000 new votes", *incremental[:3], "(target < 5 s)")
    print("   ", incremental[3].replace("\n", "\n    "))
    script = PAGE_SCRIPT.format(slug=args.slug)
    page = timed([PYTHON, "-c", script], env)
    cold, median, worst = page[3].split()
    target = "< 200 ms" if args.db == "postgres" else "< 500 ms"
    print(
        f"model page {args.slug}, uncached: median {median} ms, worst {worst} ms of 5 "
        f"(target {target}); a new process's first render {cold} ms"
    )
    total_rows, total_wall, peaks = 0, 0.0, []
    for mode in ("t2i", "edit"):
        export = timed(
            manage("export_votes", "--mode", mode, "-o", str(workdir / "votes.csv")), env
        )
        rows = sum(1 for _ in open(workdir / "votes.csv", "rb")) - 1
        line(f"export_votes {mode} ({rows:,} rows)", *export[:3])
        total_rows, total_wall = total_rows + rows, total_wall + export[0]
        peaks.append(export[2])
    print(
        f"export of every vote: {total_rows:,} rows in {total_wall:.1f} s, peaks "
        f"{' and '.join(f'{peak:.0f}' for peak in peaks)} MB (target < 60 s for 10M, flat memory)"
    )
    print(load(), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=180)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--slug", default="flux.2-pro", help="Model page to render.")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "SCALE_PG_ADMIN_URL", "postgresql://pairwise:pairwise@127.0.0.1:5432/postgres"
        ),
        help="A PostgreSQL URL allowed to CREATE DATABASE.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    parser.add_argument(
        "--template",
        help="PostgreSQL: start from a copy of this database, already seeded with "
        "seed_votes and never rated (seeding 10M votes takes minutes); no seeding is timed.",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="scale-votes-"))
    pg_name = None
    if args.template and args.db != "postgres":
        parser.error("--template is for --db postgres")
    if args.db == "postgres":
        pg_name, database_url = create_postgres(args.pg_admin_url, args.template)
    else:
        database_url = f"sqlite:///{workdir / 'scale.sqlite3'}"
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        PAIRWISE_VAR_DIR=str(workdir),
        MEDIA_ROOT=str(workdir / "media"),
        ARENA_IMAGE_DIR=str(workdir / "arena-images"),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        LOG_LEVEL="ERROR",
    )
    try:
        run_benchmark(args, env, workdir)
    finally:
        if pg_name and not args.keep:
            drop_postgres(args.pg_admin_url, pg_name)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"own peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
