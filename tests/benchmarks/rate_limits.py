"""What a rate-limit check costs: the arena's `check_rate` and the gateway's per-key check.

    python -m tests.benchmarks.rate_limits                 # a throwaway SQLite database
    python -m tests.benchmarks.rate_limits --db postgres   # DATABASE_URL's server, a fresh db

Each check is one request's worth of limiter work (the arena: an upsert of the voter and
IP counters, a read of the previous window; the gateway: a row-locked token bucket).
Prints the median and p99 microseconds per check over --calls calls from one thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="pairwise-ratelimit-")
    if args.db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    elif "postgres" not in os.environ.get("DATABASE_URL", ""):
        print("error: --db postgres needs DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    else:  # a database of its own, never one another test run uses
        os.environ["TEST_DATABASE_NAME"] = f"test_ratelimit_bench_{os.getpid()}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    # Production settings: DEBUG on would log every query and cost more than the checks.
    os.environ.update(DEBUG="0", SECRET_KEY="benchmark-" + "x" * 50, ALLOWED_HOSTS="localhost")
    os.environ["PAIRWISE_VAR_DIR"] = directory
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    test_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        from leaderboard.arena.ratelimit import check_rate
        from leaderboard.gateway.auth import check_rate_limit, create_key

        settings.ARENA_VOTE_LIMIT_PER_VOTER = settings.ARENA_VOTE_LIMIT_PER_IP = 10**9
        key = create_key("bench", rate_limit_per_minute=10**6)[0]
        checks = {
            "arena check_rate": lambda i: check_rate("vote", voter=f"v{i % 50}", ip_hash="ip"),
            "gateway check_rate_limit": lambda i: check_rate_limit(key),
        }
        print(f"{connection.vendor}, {args.calls} calls each")
        for name, check in checks.items():
            spent = []
            for i in range(args.calls):
                started = time.perf_counter()
                check(i)
                spent.append((time.perf_counter() - started) * 1e6)
            spent.sort()
            p99 = spent[int(len(spent) * 0.99)]
            print(f"{name:26} median {statistics.median(spent):7.0f} us   p99 {p99:7.0f} us")
    finally:
        connection.creation.destroy_test_db(test_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
