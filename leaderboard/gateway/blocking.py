"""Blocking work (the database, image conversion) for the API's async views.

An API call spends seconds waiting on a provider and milliseconds on everything else.
The waiting happens on the event loop; the rest runs here, in a thread, through
asgiref's ``sync_to_async``. After each piece the thread gives its database connection
back, so 200 calls waiting on providers hold 200 coroutines, not 200 connections
(PostgreSQL allows 100 by default). Each such thread holds a connection while it runs,
so a burst of calls starting at once would open one each: at most
GATEWAY_DB_CONCURRENCY pieces run at a time per worker process, the others wait their
turn on the event loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

P = ParamSpec("P")
T = TypeVar("T")


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _turn() -> asyncio.Semaphore:
    """This event loop's limit on blocking pieces running at once."""
    loop = asyncio.get_running_loop()
    if loop not in _turns:
        _turns[loop] = asyncio.Semaphore(settings.GATEWAY_DB_CONCURRENCY)
    return _turns[loop]


def blocking(function: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``function`` as a coroutine function that runs it in a thread, when its turn
    comes."""

    def run_and_release(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            release_connections()

    in_thread = sync_to_async(run_and_release)

    @wraps(function)
    async def when_its_turn_comes(*args, **kwargs):
        async with _turn():
            return await in_thread(*args, **kwargs)

    return when_its_turn_comes


def release_connections() -> None:
    """Close this thread's idle connections (not one inside a transaction, e.g. a test's)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
