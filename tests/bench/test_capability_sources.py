"""Capabilities checked against the providers' own schemas (fal-js types, Replicate's).

Each defect found is reproduced against the strict simulator: the request the
adapters now build succeeds at the requested size, and the ``old shape`` (what the
catalog used to make them send) comes back at the provider's default size, which
the benchmark would have blamed on the provider as ``invalid_image``.
"""

import pytest

from bench.providers import ImageRequest
from tests.bench.test_protocol_defects import catalog_request, post, run

# Replicate's Seedream 4 takes its tier in ``size``; it has no ``resolution`` field.


@pytest.mark.parametrize(
    "size", [{"aspect_ratio": "4:3", "resolution": "1K"}, {"size": "1920x1080"}]
)
def test_replicate_seedream_4_comes_back_at_the_requested_tier_or_custom_size(simulator, size):
    request, rules, capabilities = catalog_request("replicate", "bytedance/seedream-4", **size)

    result = run("replicate", simulator.base_url, "bytedance/seedream-4", request,
                 size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert result.status == "ok", result.error
    assert (result.width, result.height) == (request.width, request.height)


def test_old_shape_seedream_4_with_resolution_comes_back_at_2k(simulator):
    request, _, _ = catalog_request(
        "replicate", "bytedance/seedream-4", aspect_ratio="4:3", resolution="1K"
    )
    old = ImageRequest(**{**request.__dict__, "tier_param": "resolution"})

    result = run("replicate", simulator.base_url, "bytedance/seedream-4", old)

    assert result.status == "invalid_image"
    job = simulator.simulator.jobs[result.provider_request_id]
    assert job.width * job.height > 3.5 * request.width * request.height  # 2K, not 1K


def test_replicate_seedream_4_refuses_a_size_it_does_not_list(simulator):
    reply = post(
        simulator.base_url,
        "/v1/models/bytedance/seedream-4/predictions",
        json={"input": {"prompt": "x", "size": "3K"}},
    )

    assert reply.status_code == 422
    assert reply.json()["invalid_fields"][0]["field"] == "input.size"


# fal's Ideogram 3 and Recraft 3 take image_size; they have no aspect_ratio.


@pytest.mark.parametrize("model_id", ["fal-ai/ideogram/v3", "fal-ai/recraft/v3/text-to-image"])
def test_a_16_9_request_to_fal_ideogram_and_recraft_comes_back_16_9(simulator, model_id):
    request, rules, capabilities = catalog_request("fal_queue", model_id, aspect_ratio="16:9")

    result = run("fal_queue", simulator.base_url, model_id, request, poll_interval_s=0.005,
                 size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert result.status == "ok", result.error
    assert abs(result.width / result.height - 16 / 9) < 0.02


@pytest.mark.parametrize("model_id", ["fal-ai/ideogram/v3", "fal-ai/recraft/v3/text-to-image"])
def test_old_shape_fal_ideogram_and_recraft_with_aspect_ratio_come_back_square(simulator, model_id):
    request = ImageRequest(
        "A lighthouse", 1365, 768, aspect_ratio="16:9", resolution="1K", custom_size=False
    )

    result = run("fal_queue", simulator.base_url, model_id, request, poll_interval_s=0.005)

    assert result.status == "invalid_image"
    assert "1024x1024" in result.error


def test_grok_on_fal_is_asked_for_webp_which_its_schema_takes(simulator):
    request, rules, capabilities = catalog_request(
        "fal_queue", "xai/grok-imagine-image", aspect_ratio="1:1", output_format="webp"
    )

    result = run("fal_queue", simulator.base_url, "xai/grok-imagine-image", request,
                 poll_interval_s=0.005, size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert request.output_format == "webp"
    assert result.status == "ok", result.error


# Replicate's Ideogram 3 takes resolution as pixels ("1024x1024"), never a tier label.


def test_replicate_ideogram_3_is_sent_its_aspect_ratio_and_succeeds(simulator):
    request, rules, capabilities = catalog_request(
        "replicate", "ideogram-ai/ideogram-v3-balanced", aspect_ratio="16:9"
    )

    result = run("replicate", simulator.base_url, "ideogram-ai/ideogram-v3-balanced", request,
                 size_rules=rules, capabilities=capabilities)  # fmt: skip

    assert result.status == "ok", result.error
    assert abs(result.width / result.height - 16 / 9) < 0.02


def test_old_shape_replicate_ideogram_3_with_a_tier_resolution_is_refused_with_422(simulator):
    reply = post(
        simulator.base_url,
        "/v1/models/ideogram-ai/ideogram-v3-balanced/predictions",
        json={"input": {"prompt": "x", "aspect_ratio": "16:9", "resolution": "1K"}},
    )

    assert reply.status_code == 422
    assert reply.json()["invalid_fields"][0]["field"] == "input.resolution"
