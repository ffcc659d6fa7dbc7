"""How long `manage.py demo` takes on a fresh SQLite database, and what it benchmarks.

    python -m tests.benchmarks.demo_time              # the README's demo (3,000 votes)
    python -m tests.benchmarks.demo_time --votes 300  # as the crawl tests run it

Runs the command in a child process with a temporary PAIRWISE_VAR_DIR (so nothing of
the developer's var/ is touched), prints its own step lines, the wall time, the load
average before and after, and the samples per provider it stored.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pairwise-demo-") as var_dir:
        env = {**os.environ, "PAIRWISE_VAR_DIR": var_dir}
        env.pop("DATABASE_URL", None)
        load_before = os.getloadavg()
        started = time.monotonic()
        output = subprocess.run(
            [sys.executable, "manage.py", "demo", "--votes", str(args.votes)],
            cwd=REPO, env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        elapsed = time.monotonic() - started
        print(output.rstrip())
        print(f"wall time {elapsed:.1f} s; load average before {load_before[0]:.2f}, "
              f"after {os.getloadavg()[0]:.2f} (1 min)")  # fmt: skip
        with sqlite3.connect(Path(var_dir) / "pairwise.sqlite3") as db:
            rows = db.execute(
                "select p.slug, count(*), sum(s.status = 'ok') from leaderboard_benchsample s "
                "join leaderboard_offering o on o.id = s.offering_id "
                "join leaderboard_provider p on p.id = o.provider_id group by p.slug"
            ).fetchall()
        for slug, samples, ok in rows:
            print(f"{slug:>10}: {samples:5d} samples, {ok:5d} ok")


if __name__ == "__main__":
    main()
