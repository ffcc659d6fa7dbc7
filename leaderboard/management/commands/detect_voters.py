"""Test every voter against the current ratings and exclude the suspicious ones.

`manage.py ratings` does this before each fit; this command runs it alone, or with
--dry-run lists what it would exclude and why, without changing anything.
"""

from django.core.management.base import BaseCommand, CommandError

from leaderboard.arena.detection import detect_voters


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
        summary = detect_voters(dry_run=dry_run, min_votes=min_votes)
        for voter, evidence in summary.flagged.items():
            self.stdout.write(f"{voter[:12]}  {evidence['rule']:<12} {evidence['reason']}")
        self.stdout.write(("dry run, nothing changed; " if dry_run else "") + str(summary))
