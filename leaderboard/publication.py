"""The one rule for which generations the public pages and APIs may show with a model's name.

Blindness holds only if the images the arena serves are nowhere else with their
model's name beside them. So a generation may be shown publicly when it is

- a showcase image (the runner draws those for the pages; the arena never serves
  them), or
- a retired arena image whose last matchup can no longer be voted on (retired at
  least ARENA_MATCHUP_EXPIRY_S ago).

Arena candidates and pixel-duplicates are never public. Every page and API query
that lists generations filters with `public_generations`; `may_show_publicly` is
the same rule for one row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bench.pools import RETIRED, SHOWCASE


def _published_retirement_cutoff(now: datetime | None) -> datetime:
    """Retired before this moment: every matchup that showed the image has expired."""
    return (now or timezone.now()) - timedelta(seconds=settings.ARENA_MATCHUP_EXPIRY_S)


def public_generations(now: datetime | None = None) -> Q:
    """A filter on Generation: the rows any public page or API may show."""
    return Q(pool=SHOWCASE) | Q(pool=RETIRED, retired_at__lte=_published_retirement_cutoff(now))


def showcase_generations() -> Q:
    """A filter on Generation: showcase images only, drawn for the pages and never served
    by the arena (a model page's hero shows nothing else, not even retired arena images)."""
    return Q(pool=SHOWCASE)


def may_show_publicly(generation, now: datetime | None = None) -> bool:
    """True when `generation` (a Generation) may appear on a public page or API."""
    if generation.pool == SHOWCASE:
        return True
    return (
        generation.pool == RETIRED
        and generation.retired_at is not None
        and generation.retired_at <= _published_retirement_cutoff(now)
    )
