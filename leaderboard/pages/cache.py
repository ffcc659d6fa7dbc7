"""The snapshot the public pages show, and the per-worker cache keyed by it.

Everything a page shows is derived from three kinds of rows that change only when a
job runs: the current leaderboards (`manage.py ratings`), the current offering stats
(`manage.py stats`) and the generations (`manage.py bench`). Their newest timestamps
and ids make the snapshot's version; every cached page, API answer, dataset and chart
is keyed by it, so a new run invalidates them all without anyone calling `clear()`.

The cache lives in each worker's memory, as plain Python objects: a hit is a dict
lookup, with no pickling and no copy, which is what lets a cached page serve nearly as
fast as a trivial view. Each worker renders a page once per snapshot. A worker asks the
database for the version at most once every PAGES_SNAPSHOT_CHECK_S seconds; in between
a cached page costs no query. Entries also expire after PAGES_CACHE_S, so catalog edits
made in the admin (which change no snapshot) show within that time. Cached values are
shared: treat them as read-only.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db.models import Max

from leaderboard.models import Generation, Leaderboard, OfferingStats

T = TypeVar("T")
# Keys are validated slugs and parameters, so the store is bounded by the catalog; the cap
# is a backstop (e.g. ALLOWED_HOSTS=* makes the model pages' host part unbounded).
MAX_ENTRIES = 5000
_lock = threading.RLock()
_memo: tuple[float, Snapshot] | None = None
_store: dict[str, tuple[float, object]] = {}
_store_version: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The ratings/stats/generations state the pages currently show."""

    ratings_at: datetime | None
    stats_at: datetime | None
    last_generation_id: int
    generated_at: datetime | None = None

    @property
    def modified_at(self) -> datetime | None:
        """When any part last changed (the pages' HTTP Last-Modified)."""
        return max(filter(None, (self.ratings_at, self.stats_at, self.generated_at)), default=None)

    @property
    def version(self) -> str:
        """A short opaque id, safe in URLs; it changes whenever any part changes."""
        parts = f"{self.ratings_at and self.ratings_at.isoformat()}|" + (
            f"{self.stats_at and self.stats_at.isoformat()}|{self.last_generation_id}"
        )
        return hashlib.sha256(parts.encode()).hexdigest()[:12]


def read_snapshot() -> Snapshot:
    """The snapshot as stored right now (three small indexed queries)."""
    newest_generation = Generation.objects.order_by("-id").values("id", "created_at").first()
    return Snapshot(
        ratings_at=Leaderboard.objects.filter(is_current=True).aggregate(at=Max("computed_at"))[
            "at"
        ],
        stats_at=OfferingStats.objects.filter(is_current=True).aggregate(at=Max("computed_at"))[
            "at"
        ],
        last_generation_id=newest_generation["id"] if newest_generation else 0,
        generated_at=newest_generation["created_at"] if newest_generation else None,
    )


def current_snapshot() -> Snapshot:
    """This worker's view of the snapshot, re-read after PAGES_SNAPSHOT_CHECK_S seconds."""
    global _memo
    now = time.monotonic()
    memo = _memo
    if memo is not None and now - memo[0] < settings.PAGES_SNAPSHOT_CHECK_S:
        return memo[1]
    snapshot = read_snapshot()
    with _lock:
        _memo = (now, snapshot)
    return snapshot


def forget_snapshot() -> None:
    """Drop this worker's snapshot and cache (tests; a job run in the same process)."""
    global _memo, _store_version
    with _lock:
        _memo = None
        _store.clear()
        _store_version = None


def cached(name: str, build: Callable[[], T], *parts) -> T:
    """`build()`'s result, computed once per snapshot and worker for `name` and `parts`."""
    global _store_version
    version = current_snapshot().version
    key = cache_key(name, *parts)
    now = time.monotonic()
    with _lock:
        if _store_version != version:
            _store.clear()
            _store_version = version
        hit = _store.get(key)
    if hit is not None and now - hit[0] < settings.PAGES_CACHE_S:
        return hit[1]
    value = build()
    with _lock:
        if _store_version == version:
            if len(_store) >= MAX_ENTRIES:
                _store.clear()
            _store[key] = (now, value)
    return value


def cache_key(name: str, *parts) -> str:
    return name + "|" + "|".join(str(part) for part in parts)
