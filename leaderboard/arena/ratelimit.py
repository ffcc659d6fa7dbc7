"""Per-voter and per-IP rate limits on serving matchups and voting.

Fixed windows of ARENA_RATE_WINDOW_S seconds, counted in the database (one upsert per
request) so every gunicorn worker sees the same counts; an in-process cache would
let each worker allow the full limit on its own.
"""

from __future__ import annotations

import random
import time

from django.conf import settings
from django.db import connection

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
    """Count one hit of each action for the voter and the IP, in one statement.

    Returns {action: seconds until its window resets} for the actions over a limit.
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
    now_s = time.time() if now_s is None else now_s
    bucket = int(now_s // window_s)
    hits = _count_hits(list(limits), bucket, expires_at=(bucket + 2) * window_s)
    if random.random() < CLEANUP_PROBABILITY:
        ArenaRateCounter.objects.filter(expires_at__lt=int(now_s)).delete()
    retry_after_s = max(1, int((bucket + 1) * window_s - now_s) + 1)
    return {action: retry_after_s for key, (action, limit) in limits.items() if hits[key] > limit}


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
