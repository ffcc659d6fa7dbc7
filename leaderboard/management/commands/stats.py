"""Recompute the stored provider statistics from BenchSamples; run from cron after bench runs.

*/15 * * * *  cd /srv/pairwise && .venv/bin/python manage.py stats

A second copy started while one runs exits with status 1 and says so (locks.py).
"""

from django.core.management.base import BaseCommand, CommandError

from leaderboard.management.locks import job_lock
from leaderboard.provider_stats import refresh_offering_stats


class Command(BaseCommand):
    help = "Refresh every offering's rolling-window benchmark statistics (OfferingStats)."

    def add_arguments(self, parser):
        parser.add_argument("--window-days", type=int, default=30)

    def handle(self, *args, window_days, **options):
        if window_days < 1:
            raise CommandError("--window-days must be at least 1")
        with job_lock("stats"):
            summary = refresh_offering_stats(window_days=window_days)
        self.stdout.write(str(summary))
