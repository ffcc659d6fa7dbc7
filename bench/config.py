"""Where bench finds the database and the media files when nobody says.

The defaults are Django's own (leaderboard/settings.py), so that a bare
``python -m bench run`` and ``python manage.py runserver`` share one database
and one media folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SIMULATOR_URL_ENV = "PAIRWISE_SIMULATOR_URL"


@dataclass(frozen=True)
class Locations:
    """A SQLAlchemy database URL and the media root that Generation.image paths are under."""

    database_url: str
    media_root: Path


def locations(
    database_url: str | None = None,
    media_root: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
) -> Locations:
    """Resolve the database URL and media root: explicit values, else Django's defaults.

    Defaults: ``DATABASE_URL`` else ``sqlite:///<var>/pairwise.sqlite3``; ``MEDIA_ROOT``
    else ``<var>/media``, where ``<var>`` is ``PAIRWISE_VAR_DIR`` else ``<repo>/var``.
    Django-style URLs (``postgres://``) are turned into SQLAlchemy ones.
    """
    env = os.environ if environ is None else environ
    var_dir = Path(env.get("PAIRWISE_VAR_DIR") or REPO_ROOT / "var")
    url = database_url or env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'pairwise.sqlite3'}"
    media = media_root or env.get("MEDIA_ROOT") or var_dir / "media"
    return Locations(sqlalchemy_url(url), Path(media))


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy spelling of a Django/dj-database-url database URL (psycopg 3 driver)."""
    for prefix in ("postgres://", "postgresql://", "pgsql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
