"""The background event loop that runs the benchmark adapters for the API's views.

The API's views are async (leaderboard/gateway/views.py). Under the production ASGI
server (uvicorn workers, gunicorn.conf.py) they await ``run_async`` on the worker's own
loop, so a call waiting 20 s on a provider holds no thread and no worker. Under WSGI
(runserver, the test live server) Django runs the same views on a fresh loop per
request; that is why the adapters live on one loop of their own: each process starts
one daemon thread with one asyncio loop on first use (and two low-priority threads
that decode images). The loop owns one pooled ``httpx.AsyncClient`` per provider
(built by ``bench.http.make_client``, the only place clients are built), so
connections are reused across requests, and the parallel requests that emulate ``n``
run side by side on it. ``asyncio.run`` per request would instead open fresh
connections (and TLS handshakes) every time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.conf import settings

from bench.http import make_client

# The adapters decode every image in full to check it (``asyncio.to_thread``, the
# loop's default executor): about 8 ms of CPU per 1024x1024 PNG, with the GIL released.
# When 200 answers arrive at once, these threads yield the CPU to the pages.
DECODE_THREADS = 2
DECODE_NICENESS = 10


def _lower_this_threads_priority() -> None:
    if sys.platform == "linux":  # niceness is per thread on Linux, per process elsewhere
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + DECODE_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))


class _Upstream:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked worker inherits the object but not the thread: start its own.
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                loop.set_default_executor(
                    ThreadPoolExecutor(
                        DECODE_THREADS, "gateway-decode", initializer=_lower_this_threads_priority
                    )
                )
                thread = threading.Thread(
                    target=loop.run_forever, name="gateway-upstream", daemon=True
                )
                thread.start()
                self._loop, self._pid, self._clients = loop, os.getpid(), {}
            return self._loop

    async def run_async(self, coroutine: Coroutine, timeout_s: float):
        """Await ``coroutine`` run on the loop; TimeoutError after ``timeout_s``.

        Cancelling the caller (the client hung up) cancels the upstream requests too.
        """
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
        finally:
            future.cancel()  # a no-op once done

    def client(self, provider_slug: str, read_timeout_s: float) -> httpx.AsyncClient:
        """The provider's shared client; call from coroutines running on the loop only."""
        client = self._clients.get(provider_slug)
        if client is None:
            client = make_client(
                read_timeout_s=read_timeout_s,
                max_connections=settings.GATEWAY_UPSTREAM_CONNECTIONS,
            )
            self._clients[provider_slug] = client
        return client


upstream = _Upstream()
