"""Serve cost against a voter's history depth: how much the per-voter rules cost.

    python -m tests.benchmarks.arena_serve [--serves 200]

Builds a throwaway SQLite site (the catalog, 7 placeholder images per model and
challenge: 1 showcase, 6 arena), gives one voter a history of 0, 100 and 480
matchups, then times `serve_matchup` for that voter: with this worker's memory of
the voter warm (the normal case: only matchups served since are read) and cold (the
voter's last 500 matchups read in full, as a worker new to the voter does). Prints
microseconds per serve; the machine's load is printed too, as figures move with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serves", type=int, default=200, help="Timed serves per depth.")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="pairwise-serve-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="leaderboard.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        PAIRWISE_VAR_DIR=str(workdir),
        MEDIA_ROOT=str(workdir / "media"),
        ARENA_IMAGE_DIR=str(workdir / "arena-images"),
        ARENA_MAX_IMPRESSIONS="1000000",
    )
    import django

    django.setup()
    try:
        return measure(args.serves)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(serves: int) -> int:
    from django.core.management import call_command

    from leaderboard.arena import pool, services
    from leaderboard.arena.demo import ensure_demo_generations
    from leaderboard.arena.history import voter_histories

    call_command("migrate", verbosity=0)
    call_command("loaddata", "catalog", verbosity=0)
    ensure_demo_generations(side=32, arena_images=6)
    pool.clear_cache()
    print(f"load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    print(f"{'history':>8} {'warm us/serve':>14} {'cold us/serve':>14}")
    for n, depth in enumerate((0, 100, 480)):
        voter = f"{n:064d}"
        for _ in range(depth):
            services.serve_matchup(voter=voter, mode="t2i")
        warm, cold = [], []
        for _ in range(serves // 2):
            started = time.perf_counter()
            services.serve_matchup(voter=voter, mode="t2i")
            warm.append(time.perf_counter() - started)
            voter_histories.clear()
            started = time.perf_counter()
            services.serve_matchup(voter=voter, mode="t2i")
            cold.append(time.perf_counter() - started)
        print(
            f"{depth:>8} {statistics.median(warm) * 1e6:>14.0f} "
            f"{statistics.median(cold) * 1e6:>14.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
