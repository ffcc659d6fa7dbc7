"""The catalog walk: every offering, every size of its table, every output format, checked
against what the offering says its endpoint takes, before anything would be paid.

Pure: reads fixtures/catalog.json and builds the adapters' bodies without a database.
"""

import json
from pathlib import Path

import pytest

from bench import simulator_limits
from bench.capabilities import Capabilities, check_body
from bench.providers import ADAPTERS, ImageRequest, ReferenceImage
from bench.sizes import SizeRules, size_table

CATALOG = json.loads((Path(__file__).parents[2] / "fixtures" / "catalog.json").read_text())
OFFERINGS = [entry for entry in CATALOG if entry["model"] == "leaderboard.offering"]
MODELS = {
    entry["pk"]: entry["fields"] for entry in CATALOG if entry["model"] == "leaderboard.imagemodel"
}
FORMATS = ("jpeg", "png", "webp")


def offering_id(entry):
    fields = entry["fields"]
    return f"{entry['pk']}:{fields['endpoint_kind']}:{fields['provider_model_id']}"


@pytest.mark.parametrize("entry", OFFERINGS, ids=offering_id)
def test_every_offering_states_its_capabilities_and_their_source(entry):
    capabilities = entry["fields"].get("capabilities")

    assert capabilities, "no capabilities"
    parsed = Capabilities.from_json(capabilities)
    assert parsed.source and all(text.strip() for text in parsed.source)
    assert parsed.formats
    SizeRules.from_json(entry["fields"]["sizes"])


@pytest.mark.parametrize("entry", OFFERINGS, ids=offering_id)
def test_every_size_and_format_of_every_offering_builds_a_request_its_endpoint_takes(entry):
    fields = entry["fields"]
    kind = fields["endpoint_kind"]
    rules = SizeRules.from_json(fields["sizes"])
    capabilities = Capabilities.from_json(fields["capabilities"])
    adapter = ADAPTERS[kind]
    checked = 0
    for tier in rules.tiers:
        for image_size in size_table(rules, tier):
            for fmt in FORMATS:
                request = ImageRequest.for_offering(
                    "A lighthouse at dawn",
                    rules,
                    aspect_ratio=image_size.aspect_ratio,
                    resolution=tier,
                    output_format=fmt,
                    seed=42,
                    capabilities=capabilities,
                )
                body = adapter.body(request, fields["provider_model_id"])
                problems = check_body(kind, body, rules, capabilities)
                assert problems == [], (image_size.size, tier, fmt, body)
                # And the provider's own limits, written independently from its documents.
                refusal = provider_refusal(kind, fields, body)
                assert refusal is None, (image_size.size, tier, fmt, refusal)
                checked += 1
    assert checked == len(rules.tiers) * len(rules.ratios) * len(FORMATS)


def provider_refusal(kind, fields, body):
    model = fields["provider_model_id"]
    if kind == "openai_images":
        return simulator_limits.openai_refusal(body) if fields["is_active"] else None
    if kind == "bfl":
        return simulator_limits.bfl_refusal(model, body)
    if kind == "replicate":
        return simulator_limits.replicate_refusal(model, body)
    return simulator_limits.fal_refusal(model, body)


def test_a_shut_down_model_is_retired_and_no_longer_benchmarked_but_keeps_its_rows():
    gpt_image_1 = next(pk for pk, model in MODELS.items() if model["slug"] == "gpt-image-1")

    assert MODELS[gpt_image_1]["retired_on"] == "2026-10-23"
    assert MODELS[gpt_image_1]["is_active"] is False
    offerings = [e for e in OFFERINGS if e["fields"]["image_model"] == gpt_image_1]
    assert offerings and not any(e["fields"]["is_active"] for e in offerings)


def test_the_successors_named_by_the_openai_client_are_in_the_catalog():
    from openai.types import image_model

    names = set(image_model.ImageModel.__args__)
    successors = {m["slug"] for m in MODELS.values() if m["vendor"] == "OpenAI" and m["is_active"]}

    assert {"gpt-image-2.5-sunburst", "gpt-image-2.5-flare"} <= successors <= names


EDIT_OFFERINGS = [
    entry
    for entry in OFFERINGS
    if entry["fields"]["max_reference_images"]
    and MODELS[entry["fields"]["image_model"]]["does_edit"]
]


@pytest.mark.parametrize("entry", EDIT_OFFERINGS, ids=offering_id)
def test_every_edit_offering_sends_its_references_in_the_field_its_endpoint_takes(entry):
    """Replicate's Nano Banana and Seedream take `image_input`, FLUX.2 `input_images`,
    Kontext one `input_image`: an edit built for FLUX.2's names was refused before sending."""
    fields = entry["fields"]
    kind = fields["endpoint_kind"]
    rules = SizeRules.from_json(fields["sizes"])
    capabilities = Capabilities.from_json(fields["capabilities"])
    count = min(2, fields["max_reference_images"])
    references = tuple(ReferenceImage(b"\x89PNG", "image/png", 512, 512) for _ in range(count))
    request = ImageRequest.for_offering(
        "Put the hat on the man",
        rules,
        aspect_ratio="1:1",
        output_format="png",
        references=references,
        capabilities=capabilities,
    )
    body = ADAPTERS[kind].body(request, fields["edit_model_id"] or fields["provider_model_id"])

    assert check_body(kind, body, rules, capabilities) == [], body.keys()
    field = capabilities.reference_field()
    if kind == "replicate" and field:
        sent = body[field]
        assert sent == [ref.data_uri() for ref in references] or sent == references[0].data_uri()
