"""Per-voter and per-IP rate limits on serving matchups and voting.

Sliding windows of ARENA_RATE_WINDOW_S seconds, counted in the database so every
gunicorn worker sees the same counts (an in-process cache would let each worker allow
the full limit on its own). Hits are counted per fixed window (one upsert per
request); the limit applies to the current window's hits plus the previous window's,
weighted by how much of the previous window the sliding window still covers. A full
burst just before a window edge therefore leaves no second burst just after it.
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
}
# Share of requests that also delete stale counter rows (keeps the table small).
CLEANUP_PROBABILITY = 0.002


def check_rate(action: str, *, voter: str, ip_hash: str, now_s: float | None = None) -> None:
    """Count one `action` ("serve" or "vote") for the voter and the IP; raise RateLimited
    (with the seconds until the window resets) when either is over its limit."""
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
        limits[f"{action}:v:{voter}"] = (action, getattr(settings, voter_setting))
        limits[f"{action}:ip:{ip_hash}"] = (action, getattr(settings, ip_setting))
    limits = {key: rule for key, rule in limits.items() if rule[1] > 0}
    if not limits:
        return {}
    window_s = max(1, settings.ARENA_RATE_WINDOW_S)
    now_s = time.time() if now_s is None else now_s
    bucket = int(now_s // window_s)
    hits = _count_hits(list(limits), bucket, expires_at=(bucket + 2) * window_s)
    previous = _previous_hits(list(limits), bucket - 1)
    if random.random() < CLEANUP_PROBABILITY:
        ArenaRateCounter.objects.filter(expires_at__lt=int(now_s)).delete()
    elapsed = (now_s - bucket * window_s) / window_s  # share of this window gone by
    over: dict[str, int] = {}
    for key, (action, limit) in limits.items():
        current, before = hits[key], previous.get(key, 0)
        if before * (1 - elapsed) + current > limit:
            wait_s = _seconds_until_under(limit, current, before, elapsed, window_s)
            over[action] = max(over.get(action, 0), wait_s)
    if over:
        # A refused request did not happen: it must not hold its sender back any longer.
        refused = [key for key, (action, _) in limits.items() if action in over]
        ArenaRateCounter.objects.filter(key__in=refused, bucket=bucket).update(hits=F("hits") - 1)
    return over


def _seconds_until_under(
    limit: int, current: int, before: int, elapsed: float, window_s: int
) -> int:
    """Seconds until the sliding count is back under ``limit`` if no one asks meanwhile."""
    if current < limit and before:
        # Still in this window: the previous window's weight fades out.
        wait = ((1 - (limit - current) / before) - elapsed) * window_s
    else:
        # Next window: this window's hits are the ones fading out.
        wait = (1 - elapsed) * window_s + max(0.0, 1 - limit / current) * window_s
    return max(1, math.ceil(wait))


def _previous_hits(keys: list[str], bucket: int) -> dict[str, int]:
    """The keys' hits in window ``bucket`` (a plain cursor: this runs on every request)."""
    table = connection.ops.quote_name(ArenaRateCounter._meta.db_table)
    key, bucket_col, hits = (connection.ops.quote_name(c) for c in ("key", "bucket", "hits"))
    marks = ", ".join(["%s"] * len(keys))
    sql = f"SELECT {key}, {hits} FROM {table} WHERE {bucket_col} = %s AND {key} IN ({marks})"
    with connection.cursor() as cursor:
        cursor.execute(sql, [bucket, *keys])
        return dict(cursor.fetchall())


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
