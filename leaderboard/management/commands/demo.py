"""Prepare the demo site: migrate, load the catalog, copy its reference images.

`python manage.py demo --serve` is the README's quick start: after it, the site
runs on the embedded SQLite default at http://127.0.0.1:8000.
"""

import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from leaderboard.models import ImageModel

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"


class Command(BaseCommand):
    help = "Migrate, load the demo catalog and media, and optionally serve the site."

    def add_arguments(self, parser):
        parser.add_argument("--serve", action="store_true", help="Run the site afterwards.")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args, serve, addrport, **options):
        started = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        if not ImageModel.objects.exists():
            call_command("loaddata", "catalog", verbosity=0)
        copy_fixture_media(Path(settings.MEDIA_ROOT))
        self.stdout.write(
            f"Demo ready: {ImageModel.objects.count()} models "
            f"({time.monotonic() - started:.1f} s)."
        )
        if serve:
            call_command("runserver", addrport, use_reloader=False)


def copy_fixture_media(media_root: Path) -> None:
    """Copy the fixtures' reference images into MEDIA_ROOT (idempotent)."""
    shutil.copytree(FIXTURES_DIR / "media", media_root, dirs_exist_ok=True)
