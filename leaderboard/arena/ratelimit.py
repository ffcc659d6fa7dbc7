"""Per-voter and per-IP rate limits on serving matchups and voting.

Sliding windows of ARENA_RATE_WINDOW_S seconds, counted in the database so every
gunicorn worker sees the same counts (an in-process cache would let each worker allow
the full limit on its own). Hits are counted in SLICES slices of the window (one
upsert per request); the limit applies to the hits of the last SLICES slices, the
current one included. A full burst just before any edge therefore leaves no second
burst just after it: a hit counts for one window less at most one slice, never
longer, so Retry-After never exceeds the window. Refused requests do not count.
"""

from __future__ import annotations

import math
import random
import time

from django.conf import settings
from django.db import connection
from django.db.models import F

from leaderboard.arena.errors import RateLimited
from leaderboard.models import ArenaRateCounter

LIMITS = {
    "serve": ("ARENA_SERVE_LIMIT_PER_VOTER", "ARENA_SERVE_LIMIT_PER_IP"),
    "vote": ("ARENA_VOTE_LIMIT_PER_VOTER", "ARENA_VOTE_LIMIT_PER_IP"),
    # New voter identities, per network (the caller passes the network's hash as ip_hash).
    "identity": (None, "ARENA_NEW_VOTER_LIMIT_PER_NETWORK"),
}
# Share of requests that also delete stale counter rows (keeps the table small).
CLEANUP_PROBABILITY = 0.002
# Slices per window: more is closer to an exact sliding window, with more rows to sum.
SLICES = 6


def check_rate(action: str, *, voter: str, ip_hash: str, now_s: float | None = None) -> None:
    """Count one `action` ("serve", "vote" or "identity") for the voter and the IP;
    raise RateLimited (with the seconds until the window resets) when either is over
    its limit."""
    over = over_limits((action,), voter=voter, ip_hash=ip_hash, now_s=now_s)
    if over:
        raise RateLimited(retry_after_s=over[action])


def over_limits(
    actions: tuple[str, ...], *, voter: str, ip_hash: str, now_s: float | None = None
) -> dict[str, int]:
    """Count one hit of each action for the voter and the IP (one upsert, one read).

    Returns {action: seconds until it may be tried again} for the actions over a limit.
    """
    limits: dict[str, tuple[str, int]] = {}
    for action in actions:
        voter_setting, ip_setting = LIMITS[action]
        if voter_setting:
            limits[f"{action}:v:{voter}"] = (action, getattr(settings, voter_setting))
        limits[f"{action}:ip:{ip_hash}"] = (action, getattr(settings, ip_setting))
    limits = {key: rule for key, rule in limits.items() if rule[1] > 0}
    if not limits:
        return {}
    window_s = max(1, settings.ARENA_RATE_WINDOW_S)
    slice_s = window_s / SLICES
    now_s = time.time() if now_s is None else now_s
    bucket = int(now_s // slice_s)
    expires_at = math.ceil((bucket + SLICES) * slice_s)
    current = _count_hits(list(limits), bucket, expires_at=expires_at)
    earlier = _earlier_hits(list(limits), first=bucket - SLICES + 1, last=bucket - 1)
    if random.random() < CLEANUP_PROBABILITY:
        ArenaRateCounter.objects.filter(expires_at__lt=int(now_s)).delete()
    over: dict[str, int] = {}
    for key, (action, limit) in limits.items():
        slices = {**earlier.get(key, {}), bucket: current[key]}
        if _sliding_count(slices, bucket) > limit:
            slices[bucket] -= 1  # the refused hit is taken back below
            slice_ends_s = (bucket + _slices_until_room(slices, bucket, limit)) * slice_s
            over[action] = max(over.get(action, 0), max(1, math.ceil(slice_ends_s - now_s)))
    if over:
        # A refused request did not happen: it must not hold its sender back any longer.
        refused = [key for key, (action, _) in limits.items() if action in over]
        ArenaRateCounter.objects.filter(key__in=refused, bucket=bucket).update(hits=F("hits") - 1)
    return over


def _sliding_count(slices: dict[int, int], bucket: int) -> int:
    """Hits in the last SLICES slices, the current one (``bucket``) included."""
    return sum(slices.get(b, 0) for b in range(bucket - SLICES + 1, bucket + 1))


def _slices_until_room(slices: dict[int, int], bucket: int, limit: int) -> int:
    """Whole slices until one more hit fits, if nobody asks meanwhile."""
    for ahead in range(1, SLICES + 1):
        if _sliding_count(slices, bucket + ahead) + 1 <= limit:
            return ahead
    return SLICES


def _earlier_hits(keys: list[str], *, first: int, last: int) -> dict[str, dict[int, int]]:
    """{key: {slice: hits}} for slices first..last (a plain cursor: this runs on every
    request)."""
    table = connection.ops.quote_name(ArenaRateCounter._meta.db_table)
    key, bucket_col, hits = (connection.ops.quote_name(c) for c in ("key", "bucket", "hits"))
    marks = ", ".join(["%s"] * len(keys))
    sql = (
        f"SELECT {key}, {bucket_col}, {hits} FROM {table} "
        f"WHERE {bucket_col} BETWEEN %s AND %s AND {key} IN ({marks})"
    )
    found: dict[str, dict[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [first, last, *keys])
        for name, number, count in cursor.fetchall():
            found.setdefault(name, {})[number] = count
    return found


def _count_hits(keys: list[str], bucket: int, expires_at: int) -> dict[str, int]:
    """Add one hit to each key's counter in one statement; return the new counts.

    INSERT ... ON CONFLICT DO UPDATE ... RETURNING works on PostgreSQL and on
    SQLite >= 3.35, and is atomic on both, so concurrent requests never lose a hit.
    """
    table = connection.ops.quote_name(ArenaRateCounter._meta.db_table)
    key, bucket_col, hits, expires = (
        connection.ops.quote_name(c) for c in ("key", "bucket", "hits", "expires_at")
    )
    rows = ", ".join(["(%s, %s, 1, %s)"] * len(keys))
    sql = (
        f"INSERT INTO {table} ({key}, {bucket_col}, {hits}, {expires}) VALUES {rows} "
        f"ON CONFLICT ({key}, {bucket_col}) DO UPDATE SET {hits} = {table}.{hits} + 1 "
        f"RETURNING {key}, {hits}"
    )
    params = [value for k in keys for value in (k, bucket, expires_at)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())
