"""Blocking work (the database, image conversion) for the API's async views.

An API call spends seconds waiting on a provider and milliseconds on everything else.
The waiting happens on the event loop; the rest runs here, in a thread, through
asgiref's ``sync_to_async``. After each piece the thread gives its database connection
back, so 200 calls waiting on providers hold 200 coroutines, not 200 connections
(PostgreSQL allows 100 by default).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

P = ParamSpec("P")
T = TypeVar("T")


def blocking(function: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``function`` as a coroutine function that runs it in a thread."""

    @wraps(function)
    def run_and_release(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            release_connections()

    return sync_to_async(run_and_release)


def release_connections() -> None:
    """Close this thread's idle connections (not one inside a transaction, e.g. a test's)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
