"""API calls' database work runs a few pieces at a time per worker (GATEWAY_DB_CONCURRENCY):
a burst of calls must not open more connections than PostgreSQL allows."""

import asyncio
import threading
import time

from asgiref.sync import ThreadSensitiveContext

from leaderboard.gateway.blocking import blocking


def test_a_burst_of_blocking_pieces_runs_at_most_the_configured_number_at_once(settings):
    settings.GATEWAY_DB_CONCURRENCY = 3
    running, most, lock = 0, 0, threading.Lock()

    @blocking
    def piece(n):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return n

    async def call(n):
        # As under the ASGI server: each request in a context of its own.
        async with ThreadSensitiveContext():
            return await piece(n)

    async def burst():
        return await asyncio.gather(*(call(n) for n in range(20)))

    assert asyncio.run(burst()) == list(range(20))
    assert most == 3
