"""Polling that sees completion early and says how early it could have: pacing, retries, brackets.

A polled protocol learns that a job is done only at the first poll after it is: the
completion lies between the last "not ready" answer and the first "ready" one. The
adapters record that bracket (``Measurement.pending``/``ready``) and pace their polls
with ``PollPacer``: slow while completion is unlikely, every ``FAST_INTERVAL_S``
around the offering's running median time to ready, slower again when late. Every
poll of a protocol in this process also goes through one ``RateBucket``, so that
many jobs in flight never poll above the provider's documented rate limit.

A status poll is a free GET: on the answers the official clients retry (a 503 from
a busy status endpoint, a 429), it is retried with backoff, inside the request's
deadline; the create call (the paid POST) never is.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque

import httpx

from bench.http import Reply, exchange
from bench.timing import parse_retry_after

FAST_INTERVAL_S = 0.04
# Until an offering's median is known, poll at a tenth of the time elapsed.
_COLD_FRACTION = 0.1
_WINDOW = (0.6, 1.8)  # fast polling between these fractions of the running median
_HISTORY = 50
_MAX_ATTEMPTS = 6
_BACKOFF_S = (0.1, 2.0)

# Documented request limits for status polls, per process (we poll from one process):
# Replicate: 3000 requests/min on endpoints other than create
#   (https://replicate.com/docs/topics/predictions/rate-limits) -> 50/s, 45 for margin.
# fal: no rate limit on queue status, only on concurrency
#   (https://docs.fal.ai/model-apis/faq, concurrency limits); its client polls every 0.1 s.
# BFL: none documented for get_result (https://docs.bfl.ai/api_integration/integration_guidelines);
#   we stay at the Replicate figure.
POLLS_PER_SECOND = {"replicate": 45.0, "fal_queue": 100.0, "bfl": 45.0}

# Answers of a status GET that the official clients retry.
# replicate-python RetryTransport: 429, 503, 504 on idempotent methods
#   (https://github.com/replicate/replicate-python/blob/main/replicate/client.py).
# fal_client: 408, 409, 429, and 502/503/504 from its ingress, told apart from the
#   app's own answers by the absence of x-fal-request-id (``_is_ingress_error``;
#   https://github.com/fal-ai/fal/blob/main/projects/fal_client/src/fal_client/client.py).
#   We follow the client: a 5xx that fal's app itself sends on the result URL is the
#   job's failure, not a busy status endpoint.
# BFL: its error docs list 429, 502 and 503 as transient (https://docs.bfl.ai/api_integration/errors).
RETRY_STATUSES = {
    "replicate": frozenset({429, 503, 504}),
    "fal_queue": frozenset({408, 409, 429}),
    "bfl": frozenset({429, 502, 503, 504}),
}
_FAL_INGRESS_STATUSES = frozenset({502, 503, 504})

_ready_history: dict[tuple[str, str], deque] = {}


def running_median_ms(kind: str, model: str) -> float | None:
    """The median time to a ready answer of the last jobs of ``model`` in this process."""
    history = _ready_history.get((kind, model))
    return statistics.median(history) if history else None


def remember_ready(kind: str, model: str, ready_ms: float) -> None:
    """Add one job's time to a ready answer (ms after send) to the running median."""
    _ready_history.setdefault((kind, model), deque(maxlen=_HISTORY)).append(ready_ms)


class RateBucket:
    """At most ``rate`` acquisitions per second, spaced evenly (no event loop state)."""

    def __init__(self, rate: float) -> None:
        self.spacing_s = 1.0 / rate
        self._next = 0.0

    async def acquire(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.spacing_s
        if slot > now:
            await asyncio.sleep(slot - now)


_buckets = {kind: RateBucket(rate) for kind, rate in POLLS_PER_SECOND.items()}


class PollPacer:
    """The delay before each poll of one job.

    ``fixed_s`` (an explicit ``Endpoint.poll_interval_s``) polls at a constant interval.
    Otherwise, with ``expected_ms`` the running median time to ready: sleep until
    60 % of it (in steps of at most ``slow_s``), poll every ``FAST_INTERVAL_S`` up
    to 180 %, then back off by a quarter of the overrun, up to ``slow_s``. Without
    a median yet, poll at a tenth of the elapsed time, between the two intervals.
    """

    def __init__(
        self,
        sent_ns: int | None,
        *,
        fixed_s: float | None,
        slow_s: float,
        expected_ms: float | None,
    ) -> None:
        self.sent_ns = sent_ns if sent_ns is not None else time.monotonic_ns()
        self.fixed_s, self.slow_s, self.expected_ms = fixed_s, slow_s, expected_ms

    def next_delay_s(self, now_ns: int | None = None) -> float:
        if self.fixed_s:
            return self.fixed_s
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        elapsed_s = (now_ns - self.sent_ns) / 1e9
        fast, slow = FAST_INTERVAL_S, max(self.slow_s, FAST_INTERVAL_S)
        if not self.expected_ms:
            return min(slow, max(fast, elapsed_s * _COLD_FRACTION))
        expected_s = self.expected_ms / 1000
        start, end = expected_s * _WINDOW[0], expected_s * _WINDOW[1]
        if elapsed_s < start:
            return min(slow, max(fast, start - elapsed_s))
        if elapsed_s <= end:
            return fast
        return min(slow, fast + (elapsed_s - end) / 4)

    async def wait(self, kind: str) -> None:
        """Sleep until the next poll, then take a slot of the protocol's rate bucket."""
        await asyncio.sleep(self.next_delay_s())
        bucket = _buckets.get(kind)
        if bucket is not None:
            await bucket.acquire()


def is_retryable(kind: str, reply: Reply) -> bool:
    """Whether a status poll's answer is one the official client would retry."""
    if kind == "fal_queue" and reply.status in _FAL_INGRESS_STATUSES:
        return "x-fal-request-id" not in reply.headers
    return reply.status in RETRY_STATUSES.get(kind, ())


async def poll_get(
    client: httpx.AsyncClient, kind: str, url: str, headers: dict, measurement
) -> Reply:
    """GET a status URL; retry the answers the official clients retry, with backoff.

    Every attempt counts in ``measurement.polls``. The last answer is returned,
    retryable or not; the caller's deadline bounds the whole loop.
    """
    delay_s = _BACKOFF_S[0]
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        try:
            reply = await exchange(client, "GET", url, headers=headers)
        except httpx.TransportError:
            # A dropped status GET loses nothing: the job runs on. Give up only at the end.
            measurement.polls += 1
            if attempt == _MAX_ATTEMPTS:
                raise
            await asyncio.sleep(delay_s)
            delay_s = min(_BACKOFF_S[1], delay_s * 2)
            continue
        measurement.polls += 1
        if not is_retryable(kind, reply) or attempt == _MAX_ATTEMPTS:
            return reply
        measurement.poll_retries += 1
        hint = parse_retry_after(reply.headers)
        await asyncio.sleep(min(_BACKOFF_S[1], hint) if hint else delay_s)
        delay_s = min(_BACKOFF_S[1], delay_s * 2)
    raise AssertionError("unreachable")
