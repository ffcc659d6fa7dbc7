"""Clocks and time arithmetic for measurements.

Every interval is taken on ``time.monotonic_ns`` (CLOCK_MONOTONIC on Linux). That
clock is system-wide, so a simulator in another process can stamp its own events
on the same time line and the measurement-quality benchmark can compare them.
Wall-clock time (UTC) is only used to say when a sample happened.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime

now_ns = time.monotonic_ns


def utc_now() -> datetime:
    """The current wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)


def ms_between(start_ns: int | None, end_ns: int | None) -> float | None:
    """Milliseconds from ``start_ns`` to ``end_ns`` (monotonic nanoseconds); None if either is."""
    if start_ns is None or end_ns is None:
        return None
    return (end_ns - start_ns) / 1e6


class Deadline:
    """An absolute point on the monotonic clock, ``budget_s`` seconds after creation."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.at_ns = now_ns() + int(budget_s * 1e9)

    def remaining_s(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, (self.at_ns - now_ns()) / 1e9)

    @property
    def is_expired(self) -> bool:
        return now_ns() >= self.at_ns


def parse_retry_after(headers, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a 429's headers, or None when the server gave no hint.

    Reads ``retry-after-ms`` (OpenAI), then ``Retry-After`` as seconds (fractions
    accepted) or as an HTTP date (RFC 9110 section 10.2.3). Negative values give 0.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utc_now())).total_seconds())
