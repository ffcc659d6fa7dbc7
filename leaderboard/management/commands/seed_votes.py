"""Write N synthetic demo votes fast (PostgreSQL COPY, batched inserts on SQLite).

python manage.py seed_votes 10000000 --days 180     # then: manage.py ratings

For benchmarks and for sizing a deployment; the votes are marked as demo votes and
the pages say so. Needs the catalog (and ideally demo images) loaded first.
"""

from django.core.management.base import BaseCommand, CommandError

from leaderboard.arena.seed import seed_votes


class Command(BaseCommand):
    help = "Write N synthetic demo votes quickly (for benchmarks and sizing)."

    def add_arguments(self, parser):
        parser.add_argument("votes", type=int, help="How many votes to write.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed.")
        parser.add_argument(
            "--days", type=float, default=180, help="Spread over the last N days (0.01: 15 min)."
        )

    def handle(self, *args, votes, seed, days, **options):
        if votes < 1:
            raise CommandError("votes must be a positive number")
        if not 0 < days <= 3650:
            raise CommandError("--days must be above 0 and at most 3650")
        written = seed_votes(votes, seed=seed, days=days, say=self.stderr.write)
        if not written:
            raise CommandError(
                "No challenge with two models to pair: load the catalog first "
                "(manage.py loaddata catalog, or manage.py demo)."
            )
        self.stdout.write(f"{written:,} demo votes written")
