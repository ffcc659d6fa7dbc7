"""`manage.py bench ...`: the benchmark runner (`python -m bench ...`) on this site's database.

A thin wrapper: the runner itself never imports Django; this only hands it the
site's DATABASE_URL and MEDIA_ROOT so both write to the same place.

    0 */6 * * *  cd /srv/pairwise && .venv/bin/python manage.py bench run --suite default
"""

import argparse
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the benchmark runner (run, smoke, probe, simulate, stats) on this site's database."

    def add_arguments(self, parser):
        parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="bench's own arguments")

    def run_from_argv(self, argv):
        # bench parses its own flags (--help included); Django's parser must not touch them.
        sys.exit(run_bench(argv[2:]))

    def handle(self, *args, bench_args, **options):
        exit_code = run_bench(bench_args)
        if exit_code:
            raise CommandError(f"bench {' '.join(bench_args[:1])} exited with code {exit_code}")


def run_bench(argv: list[str]) -> int:
    from bench.cli import main

    os.environ.setdefault("DATABASE_URL", settings.DATABASE_URL)
    os.environ.setdefault("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    return main(list(argv))
