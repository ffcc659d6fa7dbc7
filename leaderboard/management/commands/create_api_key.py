"""Create a key for the OpenAI-compatible API and print it, once.

Only the key's SHA-256 is stored, so a lost key cannot be shown again: create a new
one and revoke the old one in the admin. The key goes alone to stdout (easy to
capture in a script); the summary goes to stderr.
"""

from django.core.management.base import BaseCommand, CommandError

from leaderboard.gateway.auth import create_key, rate_limit_of


class Command(BaseCommand):
    help = "Create an API key for /openai/v1 and print it once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what the key is for (shown in the admin).")
        parser.add_argument(
            "--rate-limit",
            type=int,
            default=None,
            metavar="PER_MINUTE",
            help="Requests per minute for this key (0: unlimited; default: "
            "GATEWAY_RATE_LIMIT_PER_MINUTE).",
        )

    def handle(self, *args, name, rate_limit, **options):
        if not name.strip():
            raise CommandError("Give the key a name.")
        if rate_limit is not None and rate_limit < 0:
            raise CommandError("--rate-limit must be 0 (unlimited) or more.")
        row, key = create_key(name.strip(), rate_limit_per_minute=rate_limit)
        self.stdout.write(key)
        limit = rate_limit_of(row)
        self.stderr.write(
            f"Created API key {row.name!r} ({row.prefix}…, "
            f"{f'{limit} requests/min' if limit else 'no rate limit'}). "
            "It is shown only this once."
        )
