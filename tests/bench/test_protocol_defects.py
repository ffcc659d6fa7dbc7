"""Issue 11's protocol defects, each reproduced against the strict simulator.

Every defect was a paid request a real provider refuses, or a cost blamed on the
wrong party. Each test below sends the request the way the adapters now do and
checks it succeeds (or fails with the right class); the ``old shape`` tests send
what the adapters used to send and check the simulator refuses it as the real
provider does, so the simulator alone would have caught the defect.
"""

import asyncio
import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from bench.capabilities import Capabilities
from bench.probe import probe
from bench.providers import Endpoint, ImageRequest, generate, protocol_base_url
from bench.sizes import SizeRules
from tests.bench.builders import fast_profile
from tests.bench.conftest import set_profile

CATALOG = json.loads((Path(__file__).parents[2] / "fixtures" / "catalog.json").read_text())


def offering(kind, model_id):
    """(size rules, capabilities) of the catalog's offering of ``model_id`` over ``kind``."""
    for entry in CATALOG:
        fields = entry["fields"]
        if (
            entry["model"] == "leaderboard.offering"
            and fields["endpoint_kind"] == kind
            and fields["provider_model_id"] == model_id
        ):
            return SizeRules.from_json(fields["sizes"]), Capabilities.from_json(
                fields["capabilities"]
            )
    raise LookupError(model_id)


def run(kind, base_url, model_id, request, **options):
    options.setdefault("deadline_s", 10)
    endpoint = Endpoint(protocol_base_url(kind, base_url), model_id, **options)
    return asyncio.run(generate(kind, endpoint, request))


def catalog_request(kind, model_id, **size):
    rules, capabilities = offering(kind, model_id)
    fmt = size.pop("output_format", "jpeg")
    request = ImageRequest.for_offering(
        "A lighthouse", rules, output_format=fmt, capabilities=capabilities, **size
    )
    return request, rules, capabilities


def post(base_url, path, **kwargs):
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return client.post(path, **kwargs)


# 1. OpenAI GPT image sizes; gpt-image-1 shut down


def test_a_3_2_request_to_a_gpt_image_model_is_sent_as_1536x1024(simulator):
    request, rules, capabilities = catalog_request(
        "openai_images", "gpt-image-1", aspect_ratio="3:2"
    )

    result = run("openai_images", simulator.base_url, "gpt-image-1.5", request,
                 size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert result.status == "ok", result.error
    assert (result.width, result.height) == (1536, 1024)


def test_old_shape_openai_1254x836_is_refused_like_openai_does(simulator):
    reply = post(
        simulator.base_url,
        "/v1/images/generations",
        json={"model": "gpt-image-1.5", "prompt": "x", "size": "1254x836"},
    )

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_value"
    assert reply.json()["error"]["param"] == "size"


def test_gpt_image_1_is_shut_down_at_the_simulator_as_at_openai(simulator):
    request = ImageRequest("x", 1024, 1024, output_format="png")

    result = run("openai_images", simulator.base_url, "gpt-image-1", request)

    assert result.status == "http_4xx" and result.http_status == 404
    assert "does not exist" in result.error


# 2. BFL Kontext takes aspect_ratio only


def test_a_16_9_kontext_request_on_bfl_comes_back_16_9(simulator):
    request, rules, capabilities = catalog_request("bfl", "flux-kontext-pro", aspect_ratio="16:9")

    result = run("bfl", simulator.base_url, "flux-kontext-pro", request, poll_interval_s=0.005,
                 size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert result.status == "ok", result.error
    assert result.width > result.height
    assert abs(result.width / result.height - 16 / 9) < 0.05


def test_old_shape_kontext_with_width_and_height_comes_back_square(simulator):
    # The old adapter sent pixels: BFL ignores them and renders 1:1, which the
    # benchmark then blamed on the provider as invalid_image.
    request = ImageRequest("A lighthouse", 1365, 768, custom_size=True, output_format="jpeg")

    result = run("bfl", simulator.base_url, "flux-kontext-pro", request, poll_interval_s=0.005)

    assert result.status == "invalid_image"
    assert "1024x1024" in result.error


# 3. Replicate FLUX.2 [pro] caps custom sides at 2048


def test_2k_16_9_on_replicate_flux2_is_sent_as_labels_and_succeeds(simulator):
    request, rules, capabilities = catalog_request(
        "replicate", "black-forest-labs/flux-2-pro", aspect_ratio="16:9", resolution="2K"
    )

    result = run("replicate", simulator.base_url, "black-forest-labs/flux-2-pro", request,
                 size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert result.status == "ok", result.error
    assert (result.width, result.height) == (2731, 1536)
    job = simulator.simulator.jobs[result.provider_request_id]
    assert (job.width, job.height) == (2731, 1536)


def test_old_shape_replicate_custom_2736x1536_is_refused_with_422(simulator):
    reply = post(
        simulator.base_url,
        "/v1/models/black-forest-labs/flux-2-pro/predictions",
        json={"input": {"prompt": "x", "aspect_ratio": "custom", "width": 2736, "height": 1536}},
    )

    assert reply.status_code == 422
    assert reply.json()["invalid_fields"][0]["type"] == "number_lte"


def test_a_custom_size_beyond_replicates_bounds_goes_as_the_nearest_labelled_size():
    rules, _ = offering("replicate", "black-forest-labs/flux-2-pro")

    request = ImageRequest.for_offering("x", rules, size="3000x1000")

    assert not request.custom_size and request.aspect_ratio == "21:9"


# 4. fal FLUX.2 takes jpeg or png only


def test_a_webp_request_to_fal_flux2_asks_for_jpeg_and_succeeds(simulator):
    request, rules, capabilities = catalog_request(
        "fal_queue", "fal-ai/flux-2-pro", aspect_ratio="1:1", output_format="webp"
    )

    result = run("fal_queue", simulator.base_url, "fal-ai/flux-2-pro", request,
                 poll_interval_s=0.005, size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert request.output_format == "jpeg"
    assert result.status == "ok", result.error
    assert result.content_type == "image/jpeg"


def test_a_request_breaking_the_offerings_limits_is_refused_before_sending(simulator):
    rules, capabilities = offering("fal_queue", "fal-ai/flux-2-pro")
    request = ImageRequest("x", 1024, 1024, output_format="webp")  # not converted

    result = run("fal_queue", simulator.base_url, "fal-ai/flux-2-pro", request,
                 size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert result.status == "skipped"
    assert "refused before sending" in result.error and "webp" in result.error
    assert not simulator.simulator.jobs


# 5. A failed fal job reports COMPLETED; the result URL carries the error


def test_a_failed_fal_job_is_classed_by_its_result_status(simulator):
    # The old adapter stopped at the status body's error and called this http_5xx.
    request = ImageRequest("x", 1024, 1024, output_format="webp")

    result = run("fal_queue", simulator.base_url, "fal-ai/flux-2-pro", request,
                 poll_interval_s=0.005)  # fmt: skip

    assert result.status == "http_4xx" and result.http_status == 422
    assert "jpeg" in result.error


def test_old_shape_fal_webp_completes_and_its_result_is_a_422(simulator):
    submitted = post(
        simulator.base_url,
        "/fal/queue/fal-ai/flux-2-pro",
        json={"prompt": "x", "output_format": "webp"},
    ).json()
    with httpx.Client(timeout=10) as client:
        for _ in range(200):
            status = client.get(submitted["status_url"]).json()
            if status["status"] == "COMPLETED":
                break
        result = client.get(submitted["response_url"])

    assert status["status"] == "COMPLETED"
    assert result.status_code == 422
    assert result.json()["detail"][0]["loc"] == ["body", "output_format"]


# 6. A 503 on a status poll does not fail a paid job


@pytest.mark.parametrize(("kind", "model_id"), [("fal_queue", "fal-ai/flux-2-pro"),
                                                ("bfl", "flux-2-pro")])  # fmt: skip
def test_503_status_polls_are_retried_and_the_job_succeeds(kind, model_id, simulator):
    set_profile(simulator, fast_profile({"processing_ms": 80, "poll_error_rate": 0.5}))
    request = ImageRequest("x", 256, 256, output_format="jpeg")

    results = [run(kind, simulator.base_url, model_id, request, poll_interval_s=0.01)
               for _ in range(4)]  # fmt: skip

    assert [result.status for result in results] == ["ok"] * 4, [r.error for r in results]


def test_old_shape_a_status_poll_can_answer_503(simulator):
    set_profile(simulator, fast_profile({"processing_ms": 500, "poll_error_rate": 1.0}))
    task = post(simulator.base_url, "/v1/flux-2-pro", json={"prompt": "x"}).json()

    with httpx.Client(timeout=10) as client:
        reply = client.get(task["polling_url"])

    assert reply.status_code == 503


# 7. Cancel at the deadline, Replicate's 429 hint, OpenAI billing, probe sizes


def test_a_fal_job_abandoned_at_the_deadline_is_cancelled(simulator):
    set_profile(simulator, fast_profile({"queue_ms": 5000}))
    request = ImageRequest("x", 256, 256, output_format="jpeg")

    result = run("fal_queue", simulator.base_url, "fal-ai/flux-2-pro", request,
                 poll_interval_s=0.01, deadline_s=0.3)  # fmt: skip

    assert result.status == "timeout"
    (job,) = simulator.simulator.jobs.values()
    assert job.canceled


def test_replicates_429_wait_hint_is_read_from_its_body(simulator):
    set_profile(simulator, fast_profile({"failures": {"rate_limited": 1.0}, "retry_after_s": 30}))
    request = ImageRequest("x", 256, 256, output_format="jpeg")

    result = run("replicate", simulator.base_url, "black-forest-labs/flux-2-pro", request)

    assert result.status == "rate_limited" and result.retry_after_s == 30


def test_old_shape_replicates_429_has_no_retry_after_header(simulator):
    set_profile(simulator, fast_profile({"failures": {"rate_limited": 1.0}, "retry_after_s": 30}))

    reply = post(
        simulator.base_url,
        "/v1/models/black-forest-labs/flux-2-pro/predictions",
        json={"input": {"prompt": "x"}},
    )

    assert reply.status_code == 429 and "retry-after" not in reply.headers
    assert "resets in ~30s" in reply.json()["detail"]


def test_openai_insufficient_quota_is_a_billing_error_not_a_rate_limit(simulator):
    set_profile(simulator, fast_profile({"failures": {"insufficient_quota": 1.0}}))
    request = ImageRequest("x", 1024, 1024, output_format="png")

    result = run("openai_images", simulator.base_url, "gpt-image-1.5", request)

    assert result.status == "http_4xx" and result.http_status == 429
    assert "insufficient_quota" in result.error and result.retry_after_s is None


def test_probe_16_9_on_bfl_sends_sides_in_multiples_of_16(simulator):
    report = asyncio.run(
        probe("bfl", simulator.base_url, "flux-2-pro", prompt="x", n=1, size="16:9",
              poll_interval_s=0.005)
    )  # fmt: skip

    (sample,) = report["samples"]
    assert sample["status"] == "ok", sample["error"]
    assert (sample["width"], sample["height"]) == (1360, 768)


def test_old_shape_bfl_1365x768_is_refused_with_422(simulator):
    reply = post(simulator.base_url, "/v1/flux-2-pro",
                 json={"prompt": "x", "width": 1365, "height": 768})  # fmt: skip

    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "width"]


def decoded_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_a_replicate_status_poll_answering_503_is_retried(simulator):
    from bench.providers.base import Measurement
    from bench.providers.polling import poll_get

    set_profile(simulator, fast_profile({"processing_ms": 50, "poll_error_rate": 0.6}))
    created = post(
        simulator.base_url,
        "/v1/models/black-forest-labs/flux-2-pro/predictions",
        json={"input": {"prompt": "x"}},
    ).json()

    async def poll_all():
        measurement = Measurement()
        async with httpx.AsyncClient(timeout=10) as client:
            replies = [
                await poll_get(client, "replicate", created["urls"]["get"], {}, measurement)
                for _ in range(5)
            ]
        return replies, measurement

    replies, measurement = asyncio.run(poll_all())

    assert [reply.status for reply in replies] == [200] * 5
    assert measurement.poll_retries > 0 and measurement.polls > 5
