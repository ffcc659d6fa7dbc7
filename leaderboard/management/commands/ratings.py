"""Recompute every leaderboard from the non-excluded votes; run from cron.

Suspicious voters are found first (leaderboard/arena/detection.py) and their votes
excluded, so the fit never sees them; --no-detect skips that step.

*/10 * * * *  cd /srv/pairwise && .venv/bin/python manage.py ratings

A second copy started while one runs exits with status 1 and says so (locks.py).
"""

from django.core.management.base import BaseCommand

from leaderboard.arena.detection import detect_voters
from leaderboard.management.locks import job_lock
from leaderboard.rating_refresh import prune_leaderboards, refresh_leaderboards


class Command(BaseCommand):
    help = "Refit all leaderboards (per arena mode, category and time window) and store them."

    def add_arguments(self, parser):
        parser.add_argument("--bootstrap", type=int, default=1000, help="Bootstrap rounds.")
        parser.add_argument("--seed", type=int, default=0, help="Bootstrap seed.")
        parser.add_argument("--keep", type=int, default=3, help="Computations to keep.")
        parser.add_argument(
            "--no-detect", action="store_true", help="Do not look for suspicious voters first."
        )

    def handle(self, *args, bootstrap, seed, keep, no_detect, **options):
        with job_lock("ratings"):
            if not no_detect:
                self.stdout.write(str(detect_voters()))
            summary = refresh_leaderboards(bootstrap=bootstrap, seed=seed)
            prune_leaderboards(keep=keep)
        self.stdout.write(str(summary))
