"""Refit the serving boards (each model's offerings against each other) from the
serving arena's votes. Its own step, so it can run beside `manage.py ratings`."""

from django.core.management.base import BaseCommand

from leaderboard.serving_boards import BOOTSTRAP_ROUNDS, refresh_serving_boards


class Command(BaseCommand):
    help = "Refit every model's serving board from the serving-arena votes."

    def add_arguments(self, parser):
        parser.add_argument("--bootstrap", type=int, default=BOOTSTRAP_ROUNDS)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, bootstrap, seed, **options):
        if bootstrap < 0:
            self.stderr.write("--bootstrap must be 0 or more")
            raise SystemExit(2)
        self.stdout.write(refresh_serving_boards(bootstrap=bootstrap, seed=seed))
