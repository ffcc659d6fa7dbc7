"""Polling you can read: the completion bracket, the provider's own times, the pacing."""

import asyncio
import time

import pytest

from bench.providers import Endpoint, ImageRequest, generate, protocol_base_url
from bench.providers.polling import FAST_INTERVAL_S, PollPacer, RateBucket
from bench.runner import run_benchmark
from leaderboard.models import BenchSample
from tests.bench.builders import MODEL_IDS, challenge, fast_profile, simulated_catalog
from tests.bench.conftest import set_profile


def run(kind, base_url, **options):
    endpoint = Endpoint(
        protocol_base_url(kind, base_url), MODEL_IDS[kind], deadline_s=10, **options
    )
    return asyncio.run(generate(kind, endpoint, ImageRequest("x", 256, 256, output_format="png")))


# On loopback a kernel receive stamp can carry the sending socket's cached TCP clock,
# which may lag the send by a fraction of a millisecond (seen once: 0.15 ms early).
STAMP_SLACK_MS = 0.5


@pytest.mark.parametrize("kind", ["bfl", "fal_queue"])
def test_the_bracket_holds_the_true_completion_time(kind, simulator):
    set_profile(simulator, fast_profile({"queue_ms": 10, "processing_ms": 150}))

    for _ in range(3):
        result = run(kind, simulator.base_url, poll_interval_s=0.05)
        job = simulator.simulator.jobs[result.provider_request_id]
        true_done_ms = (job.done_ns - result.sent_ns) / 1e6

        assert result.status == "ok", result.error
        assert result.last_pending_ms < true_done_ms <= result.first_ready_ms + STAMP_SLACK_MS
        assert result.first_ready_ms - result.last_pending_ms < 50 + 25  # one interval + slack


def test_replicate_reports_its_own_timestamps(simulator):
    set_profile(simulator, fast_profile({"queue_ms": 30, "processing_ms": 60}))

    result = run("replicate", simulator.base_url)

    assert result.status == "ok", result.error
    assert result.provider_created_at < result.provider_started_at < result.provider_completed_at
    assert result.processing_ms == pytest.approx(60, abs=1)
    # A blocking create that returns done has no "not ready" answer.
    assert result.last_pending_ms is None and result.first_ready_ms is not None


def test_a_run_stores_the_bracket_and_provider_times(database_url, media_root, simulator):
    set_profile(simulator, fast_profile({"queue_ms": 10, "processing_ms": 120}))
    simulated_catalog(("bfl", "fal_queue", "replicate"))
    challenge("fox")

    run_benchmark(database_url, media_root, suite="tiny",
                  base_url_overrides={"simulated": simulator.base_url})  # fmt: skip

    samples = {s.offering.endpoint_kind: s for s in BenchSample.objects.select_related("offering")}
    for kind in ("bfl", "fal_queue"):
        sample = samples[kind]
        assert sample.status == "ok", sample.error
        assert 0 < sample.last_pending_ms < sample.first_ready_ms <= sample.generation_ms
    replicate = samples["replicate"]
    assert replicate.provider_started_at is not None
    assert replicate.provider_completed_at > replicate.provider_started_at
    assert replicate.first_ready_ms is not None


def test_the_pacer_polls_fast_around_the_median_and_slowly_elsewhere():
    pacer = PollPacer(0, fixed_s=None, slow_s=0.5, expected_ms=2000)

    def delay_at(seconds):
        return pacer.next_delay_s(int(seconds * 1e9))

    assert delay_at(0.0) == 0.5  # far from completion: the slow interval
    assert delay_at(1.0) == pytest.approx(0.2)  # sleeps up to 60 % of the median
    assert delay_at(1.2) == delay_at(2.0) == delay_at(3.6) == FAST_INTERVAL_S
    assert FAST_INTERVAL_S < delay_at(4.0) < delay_at(6.0) <= 0.5  # late: backs off
    assert PollPacer(0, fixed_s=0.25, slow_s=0.5, expected_ms=2000).next_delay_s(10**9) == 0.25


def test_the_rate_bucket_never_goes_above_its_rate():
    bucket = RateBucket(200.0)

    async def take(count):
        for _ in range(count):
            await bucket.acquire()

    started = time.monotonic()
    asyncio.run(take(21))
    assert time.monotonic() - started >= 20 / 200 - 0.005
