"""Recompute every leaderboard from the non-excluded votes; run from cron.

Suspicious voters are found first (leaderboard/arena/detection.py: the voters with new
votes each time, everyone daily or with --full-detect) and their votes excluded, so the
fit never sees them; --no-detect skips that step.

*/10 * * * *  cd /srv/pairwise && .venv/bin/python manage.py ratings

A second copy started while one runs exits with status 1 and says so (locks.py).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leaderboard import vote_counts
from leaderboard.arena.detection import detect_voters
from leaderboard.management.locks import job_lock
from leaderboard.rating_refresh import prune_leaderboards, refresh_leaderboards


class Command(BaseCommand):
    help = "Refit all leaderboards (per arena mode, category and time window) and store them."
    # A cron job every few minutes: the system checks would import every page and chart
    # module (a second of its run); the web server and `manage.py check` run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--bootstrap", type=int, default=1000, help="Bootstrap rounds.")
        parser.add_argument("--seed", type=int, default=0, help="Bootstrap seed.")
        parser.add_argument("--keep", type=int, default=3, help="Computations to keep.")
        parser.add_argument(
            "--no-detect", action="store_true", help="Do not look for suspicious voters first."
        )
        parser.add_argument(
            "--full-detect",
            action="store_true",
            help="Test every voter, not only those with votes since the last pass.",
        )

    def handle(self, *args, bootstrap, seed, keep, no_detect, full_detect, **options):
        if no_detect and full_detect:
            raise CommandError("--no-detect and --full-detect contradict each other.")
        now = timezone.now()
        with job_lock("ratings"):
            vote_counts.tune_job_session()
            if not no_detect:
                self.stdout.write(str(detect_voters(now=now, full=full_detect or None)))
            summary = refresh_leaderboards(bootstrap=bootstrap, seed=seed, now=now)
            prune_leaderboards(keep=keep)
        self.stdout.write(str(summary))
