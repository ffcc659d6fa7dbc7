"""The one place that builds HTTP clients, and the timed exchange every adapter uses.

``make_client`` returns an ``httpx.AsyncClient`` with explicit connect/read/write/pool
timeouts, connection limits and no transport retries (a paid POST must never be
re-sent). ``exchange`` sends one request and reads its whole body, stamping on the
monotonic clock the moment the request headers were written and the arrival of the
first and last body bytes.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpcore
import httpx

from bench.timing import now_ns, utc_now
from bench.wire import WireBackend, WireStream

# httpx logs every request URL at INFO; signed image URLs must never reach a log.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

USER_AGENT = "pairwise-bench/0.1"
# httpcore's pool matches every queued request against every connection on each
# event (O(requests x connections)); at 200 in flight that alone saturates a core.
# Pools of at most this many connections keep it linear.
_CONNECTIONS_PER_SHARD = 8


def make_client(
    *,
    connect_timeout_s: float = 10.0,
    read_timeout_s: float = 300.0,
    write_timeout_s: float = 60.0,
    pool_timeout_s: float = 60.0,
    max_connections: int = 64,
    max_keepalive_connections: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """A client for one provider: explicit timeouts (seconds), bounded pool, zero retries.

    ``read_timeout_s`` only bounds the gap between two chunks; callers bound a whole
    request with their own deadline. Size ``max_connections`` at or above the number of
    requests in flight: time spent waiting for a pooled connection is not the provider's.
    ``ssl_context`` replaces the system's trust store (tests against a local CA).
    """
    shards = max(1, -(-max_connections // _CONNECTIONS_PER_SHARD))
    per_shard = -(-max_connections // shards)
    limits = httpx.Limits(
        max_connections=per_shard,
        max_keepalive_connections=-(-(max_keepalive_connections or max_connections) // shards),
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=connect_timeout_s,
            read=read_timeout_s,
            write=write_timeout_s,
            pool=pool_timeout_s,
        ),
        transport=ShardedTransport(shards, limits, ssl_context or _ssl_context()),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


class _TimedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, limits: httpx.Limits, context: ssl.SSLContext) -> None:
        super().__init__(retries=0, limits=limits, verify=context)
        # httpx does not pass a network backend through: the same pool, on stamped sockets.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=WireBackend(),
        )


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several small connection pools behind one transport; each request goes to the least busy.

    A request counts against its pool until its response is closed, so a pool never
    holds more requests than connections and none waits while another pool is idle.
    No pool retries anything (``retries=0``).
    """

    def __init__(self, shards: int, limits: httpx.Limits, context: ssl.SSLContext) -> None:
        self._pools = [_TimedTransport(limits, context) for _ in range(shards)]
        self._busy = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._busy[index] -= 1
            raise
        response.stream = _ReleasingStream(response.stream, self._busy, index)
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~20 ms; every pool of every client shares one context.
    return httpx.create_ssl_context()


class _ReleasingStream(httpx.AsyncByteStream):
    def __init__(self, stream, busy: list[int], index: int) -> None:
        self._stream, self._busy, self._index = stream, busy, index
        self._is_released = False

    async def __aiter__(self):
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if not self._is_released:
            self._is_released = True
            self._busy[self._index] -= 1
        await self._stream.aclose()


@dataclass
class Reply:
    """One finished HTTP exchange: status, headers, the whole body and its arrival times."""

    status: int
    headers: httpx.Headers
    body: bytes
    sent_ns: int
    first_byte_ns: int
    last_byte_ns: int
    started_at: datetime = field(default_factory=utc_now)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def json(self):
        """The body parsed as JSON; ValueError when it is not JSON."""
        return json.loads(self.body)


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    json_body=None,
    content: bytes | None = None,
    files=None,
    data=None,
    timeout_s: float | None = None,
    follow_redirects: bool = False,
) -> Reply:
    """Send one request, read the full body, and stamp the exchange on the monotonic clock.

    ``sent_ns`` is when the request's last byte was handed to the socket (``bench.wire``):
    neither waiting for a pooled connection, nor opening one, nor our own event loop's
    turns between writing the head and the body count, and the provider has the whole
    request from then on. ``first_byte_ns`` is when the first byte of the socket read
    that delivered the body's first bytes reached the socket, ``last_byte_ns`` when the
    last byte of the read that completed the body did, both by the kernel's clock (the
    response head's arrival when the body is empty). Transport errors propagate as httpx
    exceptions; nothing
    is retried.
    """
    timeout = None
    if timeout_s is not None:
        base = client.timeout
        timeout = httpx.Timeout(
            connect=base.connect, read=timeout_s, write=base.write, pool=base.pool
        )
    request = client.build_request(
        method,
        url,
        headers=headers,
        json=json_body,
        content=content,
        files=files,
        data=data,
        timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
    )
    before_ns = now_ns()
    response = await client.send(request, stream=True, follow_redirects=follow_redirects)
    stream = response.extensions.get("network_stream")
    if not isinstance(stream, WireStream):
        stream = None
    head_ns = (stream and stream.last_read_ns) or now_ns()
    sent_ns = (stream and stream.last_write_ns) or before_ns
    started_at = utc_now() - timedelta(microseconds=(now_ns() - sent_ns) / 1000)
    first_ns = last_ns = None
    chunks = []
    try:
        async for chunk in response.aiter_bytes():
            if chunk:
                if first_ns is None:
                    first_ns = (stream and stream.first_read_ns) or now_ns()
                last_ns = (stream and stream.last_read_ns) or now_ns()
                chunks.append(chunk)
    finally:
        await response.aclose()
    first_ns = first_ns or head_ns
    return Reply(
        status=response.status_code,
        headers=response.headers,
        body=b"".join(chunks),
        sent_ns=sent_ns,
        first_byte_ns=first_ns,
        last_byte_ns=max(first_ns, last_ns or head_ns),
        started_at=started_at,
    )
