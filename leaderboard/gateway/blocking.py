"""Blocking work (the database, image conversion) for the API's async views.

An API call spends seconds waiting on a provider and milliseconds on everything else.
The waiting happens on the event loop; the rest runs here, in one of
GATEWAY_DB_CONCURRENCY threads per worker process, in turn (the others wait on the
event loop). So 200 calls waiting on providers hold 200 coroutines, and a burst of
calls opens at most that many connections per worker, not 200 (PostgreSQL allows
100 by default).

Each of these threads keeps its connection from one piece to the next. On
PostgreSQL with password authentication, opening one costs about 3 ms of the
worker's CPU and as much of the database's (SCRAM on both sides), and an API call
has five pieces: opened per piece, that was the largest cost of a call's own work.
Before each piece a kept connection is checked (one round trip) and replaced if the
database restarted or an error left it unusable.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial, wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import connections

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _threads() -> ThreadPoolExecutor:
    """This process's threads for blocking pieces (new ones if the setting changed)."""
    global _pool
    size = settings.GATEWAY_DB_CONCURRENCY
    with _lock:
        if _pool is None or _pool[0] != size:
            if _pool is not None:
                _pool[1].shutdown(wait=False)
            _pool = (size, ThreadPoolExecutor(size, thread_name_prefix="gateway-db"))
        return _pool[1]


def blocking(function: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``function`` as a coroutine function that runs it in one of the gateway's threads."""

    def run(*args, **kwargs):
        check_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_broken_connections()

    @wraps(function)
    async def when_its_turn_comes(*args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_threads(), partial(run, *args, **kwargs))

    return when_its_turn_comes


def check_connections() -> None:
    """Replace this thread's kept connections that no longer answer (a restart)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            connection.close()


def close_broken_connections() -> None:
    """Close this thread's connections that a piece left failed or without autocommit."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        if not connection.get_autocommit():
            connection.close()
        elif connection.errors_occurred and not connection.is_usable():
            connection.close()
        else:
            connection.errors_occurred = False


def close_all() -> None:
    """Close every gateway thread's connection and stop the threads (tests; shutdown)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    size, executor = pool
    # A task per thread: each waits at the barrier until all have started, so no thread
    # runs two of them.
    barrier = threading.Barrier(size)

    def close_this_threads():
        connections.close_all()
        barrier.wait(timeout=30)

    for future in [executor.submit(close_this_threads) for _ in range(size)]:
        future.result()
    executor.shutdown()
