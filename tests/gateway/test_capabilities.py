"""The API's requests are converted to what each offering's endpoint takes, or refused
before anything is paid (the catalog's capabilities, the adapters' own bodies).

Pure: unsaved catalog rows from fixtures/catalog.json, no database.
"""

import json
from pathlib import Path

import pytest

from bench.providers import ADAPTERS
from bench.sizes import SizeError
from leaderboard.gateway.params import parse_params, plan
from leaderboard.models import ImageModel, Offering, Provider

CATALOG = json.loads((Path(__file__).parents[2] / "fixtures" / "catalog.json").read_text())


def catalog_offering(kind, model_id, **changes):
    fields = next(
        entry["fields"]
        for entry in CATALOG
        if entry["model"] == "leaderboard.offering"
        and entry["fields"]["endpoint_kind"] == kind
        and entry["fields"]["provider_model_id"] == model_id
    )
    return Offering(
        provider=Provider(slug=kind, base_url="http://127.0.0.1:1"),
        image_model=ImageModel(slug="m"), endpoint_kind=kind, provider_model_id=model_id,
        pricing=fields["pricing"], sizes=changes.get("sizes", fields["sizes"]),
        capabilities=changes.get("capabilities", fields["capabilities"]),
    )  # fmt: skip


def wire(offering, **fields):
    params = parse_params({"model": "m", "prompt": "A fox", **fields})
    request = plan(params, offering, ()).request
    return ADAPTERS[offering.endpoint_kind].body(request, offering.provider_model_id)


@pytest.mark.parametrize(
    ("fields", "size"),
    [({"size": "1536x1024"}, "1536x1024"), ({"aspect_ratio": "3:2"}, "1536x1024"),
     ({"size": "1254x836"}, "1536x1024"), ({"aspect_ratio": "9:16"}, "1024x1536"),
     ({"size": "auto"}, "1024x1024")],
)  # fmt: skip
def test_a_gpt_image_offering_only_ever_gets_its_three_sizes(fields, size):
    body = wire(catalog_offering("openai_images", "gpt-image-1"), **fields)

    assert body["size"] == size


def test_webp_to_fal_flux2_is_asked_as_jpeg_and_converted_by_the_gateway():
    body = wire(catalog_offering("fal_queue", "fal-ai/flux-2-pro"), output_format="webp")

    assert body["output_format"] == "jpeg"


def test_a_single_tier_offering_gets_no_resolution_field():
    body = wire(catalog_offering("fal_queue", "fal-ai/nano-banana"), aspect_ratio="16:9")

    assert body["aspect_ratio"] == "16:9" and "resolution" not in body


def test_a_request_the_endpoint_cannot_take_is_refused_before_sending():
    # An endpoint stated to take no size field at all: no conversion helps, so the
    # offering cannot serve the request and nothing is sent.
    offering = catalog_offering(
        "bfl", "flux-kontext-pro",
        capabilities={"formats": ["jpeg"], "params": ["prompt", "output_format"],
                      "source": ["test"]},
    )  # fmt: skip

    with pytest.raises(SizeError, match="cannot take this request.*aspect_ratio"):
        wire(offering, aspect_ratio="16:9")


def test_a_size_longer_than_gpt_image_2_5_takes_is_cut_to_3_to_1():
    body = wire(catalog_offering("openai_images", "gpt-image-2.5-flare"), size="3200x800")

    assert body["size"] == "2400x800"
