"""API keys: creation, bearer authentication, per-key rate limits and usage counters.

A key is "pw_" + 256 random bits (URL-safe base64). Only its SHA-256 is stored, which
is enough for a lookup and, for a key this random, as good as a slow password hash;
the first characters (``ApiKey.prefix``) identify it in the admin and in logs.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leaderboard.gateway.errors import RateLimited, Unauthorized
from leaderboard.models import ApiKey, ApiRequest

KEY_PREFIX = "pw_"
DISPLAY_PREFIX_CHARS = 10
RATE_WINDOW_S = 60


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(name: str, *, rate_limit_per_minute: int | None = None) -> tuple[ApiKey, str]:
    """A new key row and the key itself, which exists nowhere else: show it once."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey.objects.create(
        name=name,
        prefix=key[:DISPLAY_PREFIX_CHARS],
        key_hash=hash_key(key),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    return row, key


def authenticate(request) -> ApiKey:
    """The active key named by ``Authorization: Bearer <key>``; Unauthorized otherwise."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthorized(
            "Missing API key: send it as 'Authorization: Bearer <key>' "
            "(keys come from 'manage.py create_api_key')."
        )
    row = ApiKey.objects.filter(key_hash=hash_key(credential)).first()
    if row is None:
        raise Unauthorized("Incorrect API key provided.")
    if not row.is_active:
        raise Unauthorized("This API key has been revoked.", code="revoked_api_key")
    return row


def rate_limit_of(key: ApiKey) -> int:
    """Requests per minute allowed for ``key``; 0 means no limit."""
    if key.rate_limit_per_minute is not None:
        return key.rate_limit_per_minute
    return settings.GATEWAY_RATE_LIMIT_PER_MINUTE


def check_rate_limit(key: ApiKey, *, now_s: float | None = None) -> dict[str, str]:
    """Count one request against the key's limit; RateLimited when over.

    A token bucket (the generic cell rate algorithm): the bucket holds ``limit``
    requests and refills at ``limit`` per minute, so a client may burst up to the
    limit, then goes at the refill rate. There is no window edge to exploit: a full
    burst just before a minute boundary leaves nothing to burst again just after it.
    The state is one number on the key's row, read and written under its row lock, so
    every web worker counts against the same bucket. Returns the ``x-ratelimit-*``
    headers for the response.
    """
    limit = rate_limit_of(key)
    if limit == 0:
        return {}
    now_ms = int((time.time() if now_s is None else now_s) * 1000)
    interval_ms = RATE_WINDOW_S * 1000 / limit  # one request's worth of refill
    burst_ms = RATE_WINDOW_S * 1000 - interval_ms  # how far ahead the bucket may run
    with transaction.atomic():
        full_at_ms = (
            ApiKey.objects.select_for_update()
            .filter(pk=key.pk)
            .values_list("rate_full_at_ms", flat=True)[0]
        )
        start_ms = max(full_at_ms, now_ms)
        is_allowed = start_ms - now_ms <= burst_ms
        if is_allowed:
            full_at_ms = int(start_ms + interval_ms)
            ApiKey.objects.filter(pk=key.pk).update(rate_full_at_ms=full_at_ms)
    remaining = max(0, int((now_ms + RATE_WINDOW_S * 1000 - full_at_ms) // interval_ms))
    reset_s = max(1, math.ceil((full_at_ms - now_ms) / 1000))
    headers = {
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(remaining),
        "x-ratelimit-reset-requests": f"{reset_s}s",
    }
    if not is_allowed:
        retry_s = max(1, math.ceil((full_at_ms - now_ms - burst_ms) / 1000))
        raise RateLimited(
            f"Rate limit reached: {limit} requests per minute for this key. "
            f"Try again in {retry_s} s.",
            headers={**headers, "Retry-After": str(retry_s)},
        )
    return headers


@dataclass
class Usage:
    """What one API call did, for its ApiRequest row and the key's counters."""

    endpoint: str
    status_code: int
    image_model_id: int | None = None
    error_code: str = ""
    images_requested: int = 0
    images_returned: int = 0
    attempts: int = 0
    providers: str = ""
    cost_usd: Decimal = Decimal(0)
    duration_ms: float | None = None


def record_usage(key: ApiKey, usage: Usage) -> ApiRequest:
    """Store the call and add it to the key's totals (requests, images, cost)."""
    now = timezone.now()
    with transaction.atomic():
        row = ApiRequest.objects.create(
            api_key=key,
            created_at=now,
            endpoint=usage.endpoint,
            image_model_id=usage.image_model_id,
            status_code=usage.status_code,
            error_code=usage.error_code[:40],
            images_requested=usage.images_requested,
            images_returned=usage.images_returned,
            attempts=usage.attempts,
            providers=usage.providers[:200],
            cost_usd=usage.cost_usd,
            duration_ms=usage.duration_ms,
        )
        ApiKey.objects.filter(pk=key.pk).update(
            request_count=F("request_count") + 1,
            image_count=F("image_count") + usage.images_returned,
            cost_usd=F("cost_usd") + usage.cost_usd,
            last_used_at=now,
        )
    return row
