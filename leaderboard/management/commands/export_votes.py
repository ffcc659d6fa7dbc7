"""Write the anonymized vote table as CSV, in the rating CLI's format.

python manage.py export_votes --mode t2i -o votes.csv
python -m leaderboard.ratings votes.csv --json     # the same numbers as the site
"""

import sys

from django.core.management.base import BaseCommand

from leaderboard.models import ArenaMode
from leaderboard.rating_refresh import write_votes_csv


class Command(BaseCommand):
    help = "Export one arena mode's votes (anonymized) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--mode", choices=ArenaMode.values, default=ArenaMode.TEXT_TO_IMAGE)
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")
        parser.add_argument(
            "--include-excluded", action="store_true", help="Also export excluded votes."
        )

    def handle(self, *args, mode, output, include_excluded, **options):
        if output:
            with open(output, "w", newline="", encoding="utf-8") as stream:
                count = write_votes_csv(stream, mode=mode, include_excluded=include_excluded)
            self.stderr.write(f"{count:,} votes written to {output}")
        else:
            write_votes_csv(sys.stdout, mode=mode, include_excluded=include_excluded)
