"""The parameter table, protocol by protocol: what reaches each provider's wire format.

Pure: unsaved catalog rows and the adapters' own body builders, no database.
"""

import pytest

from bench.providers import bfl, fal, openai_images, replicate
from bench.sizes import SizeError
from leaderboard.gateway.errors import BadRequest
from leaderboard.gateway.params import parse_params, plan
from leaderboard.models import Offering, Provider
from tests.gateway.builders import FLUX_SIZES, PER_MEGAPIXEL

LABEL_SIZES = {"ratios": ["1:1", "16:9", "4:3"], "tiers": ["1K", "2K"], "custom": False}
BODIES = {
    "replicate": lambda request: replicate.build_input(request),
    "fal_queue": lambda request: fal.build_input(request),
    "bfl": lambda request: bfl.build_input(request),
    "openai_images": lambda request: openai_images.build_fields(request, "m"),
}


def offering(kind, sizes=FLUX_SIZES):
    return Offering(
        provider=Provider(slug=kind, base_url="http://127.0.0.1:1"), endpoint_kind=kind,
        provider_model_id="m", pricing=PER_MEGAPIXEL, sizes=sizes,
    )  # fmt: skip


def includes(body: dict, **expected) -> bool:
    return all(key in body and body[key] == value for key, value in expected.items())


def wire(kind, sizes=FLUX_SIZES, **fields):
    """The body the adapter for ``kind`` would send for these request fields."""
    params = parse_params({"model": "flux.2-pro", "prompt": "A fox", **fields})
    return BODIES[kind](plan(params, offering(kind, sizes), ()).request)


def test_size_is_converted_to_each_protocols_own_fields():
    assert includes(wire("bfl", size="1024x768"), width=1024, height=768)
    assert wire("fal_queue", size="1024x768")["image_size"] == {"width": 1024, "height": 768}
    assert includes(
        wire("replicate", size="1024x768"), aspect_ratio="custom", width=1024, height=768
    )
    assert wire("openai_images", size="1024x768")["size"] == "1024x768"


def test_ratio_and_tier_become_labels_where_the_offering_takes_only_labels():
    body = wire("replicate", LABEL_SIZES, aspect_ratio="16:10", resolution="2K")
    assert (body["aspect_ratio"], body["resolution"]) == ("16:9", "2K")
    body = wire("fal_queue", LABEL_SIZES, size="4:3")
    assert (body["aspect_ratio"], body["resolution"]) == ("4:3", "1K")


def test_seed_passes_through_everywhere():
    for kind in BODIES:
        assert wire(kind, seed=42)["seed"] == 42


def test_safety_tolerance_passes_through_and_is_a_string_for_fal():
    assert wire("bfl", safety_tolerance=4)["safety_tolerance"] == 4
    assert wire("replicate", safety_tolerance=4)["safety_tolerance"] == 4
    assert wire("fal_queue", safety_tolerance=4)["safety_tolerance"] == "4"


def test_provider_specific_fields_reach_only_their_provider():
    fields = {"enable_safety_checker": False, "sync_mode": True, "output_quality": 70}
    assert includes(wire("fal_queue", **fields), enable_safety_checker=False, sync_mode=True)
    assert "output_quality" not in wire("fal_queue", **fields)
    assert wire("replicate", **fields)["output_quality"] == 70
    assert "sync_mode" not in wire("replicate", **fields)
    assert not {"sync_mode", "output_quality"} & set(wire("bfl", **fields))


def test_replicate_width_and_height_are_read_as_a_size():
    assert includes(wire("replicate", width=800, height=600), width=800, height=608)
    assert includes(wire("bfl", width=800, height=600), width=1024, height=1024)


def test_output_compression_is_renamed_for_replicate_and_openai_and_emulated_elsewhere():
    params = parse_params({"model": "x", "prompt": "y", "output_format": "jpeg",
                           "output_compression": 40})  # fmt: skip
    native = {kind: plan(params, offering(kind), ()).is_compression_native for kind in BODIES}

    assert native == {"replicate": True, "openai_images": True, "fal_queue": False, "bfl": False}
    assert (
        BODIES["replicate"](plan(params, offering("replicate"), ()).request)["output_quality"] == 40
    )
    assert wire("openai_images", output_format="webp", output_compression=40)[
        "output_compression"
    ] == 40  # fmt: skip


def test_formats_providers_lack_are_asked_as_png_and_converted_by_the_gateway():
    assert wire("bfl", output_format="gif")["output_format"] == "png"
    assert wire("fal_queue", output_format="jpeg")["output_format"] == "jpeg"
    assert wire("replicate", output_format="webp")["output_format"] == "webp"


def test_unknown_parameters_pass_through_to_every_protocol():
    for kind in BODIES:
        body = wire(kind, guidance=3.5, prompt_upsampling=True)
        assert includes(body, guidance=3.5, prompt_upsampling=True)


def test_gateway_only_parameters_never_reach_a_provider():
    fields = {"n": 3, "response_format": "b64_json", "user": "end-user-7", "model": "flux.2-pro"}
    for kind in ("replicate", "fal_queue", "bfl"):
        body = wire(kind, **fields)
        assert not {"n", "response_format", "user", "model"} & set(body)


def test_form_fields_are_typed_like_json():
    params = parse_params(
        {"model": "m", "prompt": "p", "n": "2", "seed": "7", "sync_mode": "true",
         "guidance": "3.5", "steps": "28", "prompt_upsampling": "false", "style": "vivid",
         "output_compression": ""},
        is_form=True,
    )  # fmt: skip

    assert (params.n, params.seed, params.output_compression) == (2, 7, None)
    assert params.fal_fields == {"sync_mode": True}
    assert params.passthrough == {
        "guidance": 3.5, "steps": 28, "prompt_upsampling": False, "style": "vivid",
    }  # fmt: skip


def test_a_size_an_offering_cannot_make_names_size():
    small = {**FLUX_SIZES, "max_side": 2048}
    params = parse_params({"model": "m", "prompt": "p", "size": "4000x1000"})

    with pytest.raises(SizeError) as caught:
        plan(params, offering("bfl", small), ())

    assert caught.value.param == "size"


def test_provider_spellings_of_gateway_parameters_are_refused_with_a_hint():
    with pytest.raises(BadRequest) as caught:
        parse_params({"model": "m", "prompt": "p", "input_image_2": "data:..."})

    assert caught.value.param == "input_image_2" and "'image'" in caught.value.message
