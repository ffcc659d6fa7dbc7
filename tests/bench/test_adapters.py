"""Every adapter against the simulator: success, each failure class, timing against ground truth.

No database: adapters are usable on their own (the API gateway calls them too).
"""

import asyncio
import io
import socket
from decimal import Decimal

import pytest
from PIL import Image

from bench.pricing import PricingRule
from bench.providers import Endpoint, ImageRequest, ReferenceImage, generate, protocol_base_url
from bench.simulator import Profile
from tests.bench.builders import ALL_KINDS, MODEL_IDS, fast_profile, settled_truth

PRICING = PricingRule.from_json({"unit": "image", "usd": "0.04"})


def call(kind, base_url, request=None, **endpoint_options):
    endpoint_options.setdefault("poll_interval_s", 0.005)
    endpoint_options.setdefault("deadline_s", 10)
    endpoint = Endpoint(
        protocol_base_url(kind, base_url), MODEL_IDS[kind], pricing=PRICING, **endpoint_options
    )
    request = request or ImageRequest(
        "A red fox in the snow", 384, 256, seed=7, output_format="png"
    )
    return asyncio.run(generate(kind, endpoint, request))


def use(simulator, **default):
    simulator.simulator.profile = Profile(fast_profile(default))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_successful_request_returns_a_decoded_image_with_times_and_cost(kind, simulator):
    use(simulator, queue_ms=20, processing_ms=60, transfer_ms=15)

    result = call(kind, simulator.base_url, api_key="sk-test")

    assert result.status == "ok", result.error
    assert (result.width, result.height) == (384, 256)
    assert result.content_type == "image/png"
    assert Image.open(io.BytesIO(result.image)).size == (384, 256)
    assert result.cost_usd == Decimal("0.04")
    assert result.provider_request_id in simulator.simulator.jobs
    assert 80 <= result.ttfb_ms < result.generation_ms
    assert result.generation_ms - result.ttfb_ms >= 14  # the injected transfer time
    assert result.started_at is not None and result.submit_ttfb_ms > 0


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_measured_times_match_the_servers_ground_truth_within_a_few_milliseconds(kind, simulator):
    use(simulator, queue_ms={"median": 30, "sigma": 0.5}, processing_ms=40, transfer_ms=10)

    for _ in range(3):
        result = call(kind, simulator.base_url)
        truth = settled_truth(simulator, result.provider_request_id)
        true_ttfb = (truth["first_byte_ns"] - truth["received_ns"]) / 1e6
        true_generation = (truth["last_byte_ns"] - truth["received_ns"]) / 1e6
        assert result.ttfb_ms == pytest.approx(true_ttfb, abs=5)
        assert result.generation_ms == pytest.approx(true_generation, abs=5)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize(
    ("failure", "status", "http_status"),
    [
        ("rate_limited", "rate_limited", 429),
        ("server_error", "http_5xx", None),
        ("unauthorized", "http_4xx", 401),
        ("bad_request", "http_4xx", None),
        ("moderated", "moderated", None),
        ("not_an_image", "invalid_image", "2xx"),
        ("wrong_size", "invalid_image", "2xx"),
        ("drop_connection", "connection_error", None),
    ],
)
def test_each_failure_is_reported_with_its_class(kind, failure, status, http_status, simulator):
    use(simulator, failures={failure: 1.0})

    result = call(kind, simulator.base_url)

    assert result.status == status, result.error
    assert result.image is None and result.generation_ms is None and result.cost_usd is None
    assert result.error
    if http_status == "2xx":
        assert 200 <= result.http_status < 300
    elif http_status is not None:
        assert result.http_status == http_status
    if status == "http_5xx" and failure == "server_error":
        assert result.http_status >= 500
    if failure == "rate_limited":
        assert result.retry_after_s == pytest.approx(0.2)
    if failure == "wrong_size":
        assert "192x128" in result.error and "384x256 was requested" in result.error


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_request_that_never_finishes_is_a_timeout_at_the_deadline(kind, simulator):
    use(simulator, failures={"timeout": 1.0}, hang_s=30)

    result = call(kind, simulator.base_url, deadline_s=0.3)

    assert result.status == "timeout"
    assert "0.3 s deadline" in result.error
    assert len(simulator.simulator.jobs) == 1  # the paid create call was sent once, never again


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_closed_port_is_a_connection_error(kind):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = call(kind, f"http://127.0.0.1:{port}")

    assert result.status == "connection_error"
    assert "ConnectError" in result.error


@pytest.mark.parametrize("kind", ["replicate", "fal_queue", "fal_sync"])
def test_images_returned_inline_as_data_uris_are_decoded(kind, simulator):
    use(simulator, inline=True)

    result = call(kind, simulator.base_url)

    assert result.status == "ok" and (result.width, result.height) == (384, 256)


def test_an_openai_compatible_url_answer_is_downloaded(simulator):
    request = ImageRequest("A fox", 64, 64, output_format="jpeg", extra={"response_format": "url"})

    result = call("openai_images", simulator.base_url, request)

    assert result.status == "ok" and result.content_type == "image/jpeg"


@pytest.mark.parametrize("kind", ["replicate", "fal_queue", "fal_sync", "bfl", "openai_images"])
def test_edit_requests_carry_every_reference_image(kind, simulator):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, "PNG")
    reference = ReferenceImage(buffer.getvalue(), "image/png", 32, 32)
    request = ImageRequest("Make it blue", 256, 256, references=(reference, reference, reference))

    result = call(kind, simulator.base_url, request, edit_model_id=MODEL_IDS[kind])

    assert result.status == "ok", result.error
    assert simulator.simulator.jobs[result.provider_request_id].references == 3


def test_provider_reported_queue_and_processing_times_are_recorded(simulator):
    use(simulator, queue_ms=30, processing_ms=50)

    replicate = call("replicate", simulator.base_url)
    fal = call("fal_queue", simulator.base_url)
    openai = call("openai_images", simulator.base_url)

    assert replicate.queue_ms == pytest.approx(30, abs=0.01)
    assert replicate.processing_ms == pytest.approx(50, abs=0.01)
    assert fal.processing_ms == pytest.approx(50, abs=0.01)
    assert openai.processing_ms == 50


def test_replicate_polls_when_the_blocking_wait_expires(simulator, monkeypatch):
    import bench.providers.replicate as replicate

    monkeypatch.setattr(replicate, "MAX_WAIT_S", 0.05)
    use(simulator, queue_ms=10, processing_ms=150)

    result = call("replicate", simulator.base_url)

    assert result.status == "ok" and result.polls >= 1
    assert result.submit_ttfb_ms == pytest.approx(50, abs=15)


def test_a_key_echoed_by_the_provider_never_reaches_the_error(simulator):
    canary = "sk-canary-4f0c2f5e9d3b4a7c8e1f"
    use(simulator, failures={"unauthorized": 1.0}, echo_credentials=True)

    results = [call(kind, simulator.base_url, api_key=canary) for kind in ALL_KINDS]

    for result in results:
        assert result.status == "http_4xx"
        assert canary not in result.error and canary[:12] not in result.error
