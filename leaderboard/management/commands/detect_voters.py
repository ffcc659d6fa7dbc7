"""Test every voter against the current ratings and exclude the suspicious ones.

`manage.py ratings` does this before each fit (routine passes, a full one daily); this
command runs a full pass alone, or with --dry-run lists what it would exclude and why,
without excluding anyone. It waits for no ratings job: one running makes it exit 1.
"""

from django.core.management.base import BaseCommand, CommandError

from leaderboard import vote_counts
from leaderboard.arena.detection import detect_voters
from leaderboard.management.locks import job_lock


class Command(BaseCommand):
    help = "Flag voters whose votes the ratings cannot explain; exclude them from the ratings."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report, exclude nobody.")
        parser.add_argument(
            "--min-votes",
            type=int,
            default=None,
            help="Decisive votes on one model before a voter is tested "
            "(default ARENA_DETECT_MIN_VOTES).",
        )

    def handle(self, *args, dry_run, min_votes, **options):
        if min_votes is not None and min_votes < 1:
            raise CommandError("--min-votes must be at least 1.")
        # The same lock as the ratings job: both bring the day counts up to date.
        with job_lock("ratings"):
            vote_counts.tune_job_session()
            summary = detect_voters(dry_run=dry_run, min_votes=min_votes, full=True)
        for voter, evidence in summary.flagged.items():
            self.stdout.write(f"{voter[:12]}  {evidence['rule']:<12} {evidence['reason']}")
        self.stdout.write(("dry run, nothing changed; " if dry_run else "") + str(summary))
