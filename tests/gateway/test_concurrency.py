"""Many API calls at once reach the provider at once (GATEWAY_UPSTREAM_CONNECTIONS)."""

import asyncio
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from leaderboard.gateway.upstream import DECODE_NICENESS, upstream
from tests.gateway.builders import openai_client, use_profile

PROCESSING_MS = 6000


def test_seventy_calls_at_once_all_reach_the_provider_without_waiting_for_a_connection(
    live_server, api_key, catalog, settings
):
    # A Replicate call holds its connection while the model runs (Prefer: wait). With 64
    # connections per provider, the 65th call waited a whole generation for one, and
    # that wait was recorded as the provider's time.
    settings.GATEWAY_RATE_LIMIT_PER_MINUTE = 0
    use_profile(catalog, processing_ms=PROCESSING_MS)
    calls = 70

    def call(index):
        # Started 20 ms apart (1.4 s in all): the test server's listen backlog is short.
        time.sleep(index * 0.02)
        with openai_client(live_server, api_key) as api:
            return api.images.generate(model="flux.2-pro", prompt="A fox", size="1024x1024")

    with ThreadPoolExecutor(calls) as pool:
        answers = list(pool.map(call, range(calls)))

    assert all(answer.data for answer in answers)
    jobs = list(catalog.simulator.jobs.values())
    assert len(jobs) == calls
    # Every call was at the provider before the first one finished: none waited for a
    # connection another call held.
    assert max(job.received_ns for job in jobs) < min(job.done_ns for job in jobs)


@pytest.mark.skipif(sys.platform != "linux", reason="niceness is per thread on Linux only")
def test_the_image_checks_run_below_the_pages_priority():
    # Many answers arriving at once each decode an image in full (bench.providers).
    async def decoding_threads_niceness():
        return await asyncio.to_thread(os.getpriority, os.PRIO_PROCESS, 0)

    async def probe():
        return await upstream.run_async(decoding_threads_niceness(), timeout_s=10)

    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert asyncio.run(probe()) == min(own + DECODE_NICENESS, 19) > own
