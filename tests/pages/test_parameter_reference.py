"""The parameter reference is generated from the gateway's own code, so it cannot drift.

Every parameter the gateway reads is listed; the ranges shown are the ones it enforces;
every enum of every offering (formats, ratios, tiers) appears; and each provider's
handling is what the gateway's normalization really puts in that provider's body.
"""

import pytest

from leaderboard.gateway import params as gateway_params
from leaderboard.gateway.errors import BadRequest
from leaderboard.models import Offering
from leaderboard.pages import queries
from leaderboard.pages.parameter_reference import BEHAVIOURS, parameter_reference
from tests.gateway.conftest import catalog_rows  # noqa: F401  (the demo catalog, in the test's transaction)
from tests.pages.builders import text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_rows")]
# Read by the gateway but not rows of their own: the model id is the page's subject,
# image[] is the multipart spelling of image, and mask is refused with a 400.
NOT_ROWS = {"model", "image[]", "mask"}


def reference_of(slug: str) -> dict:
    catalog = queries.catalog()
    live = catalog.offerings_of(slug)
    return parameter_reference(catalog.models[slug], [offering.id for offering in live])


def rows_of(reference: dict) -> dict:
    return {row.name: row for _group, rows in reference["groups"] for row in rows}


def handling(reference: dict, name: str) -> dict[str, tuple[str, str]]:
    return {h.provider: (h.behaviour, h.detail) for h in rows_of(reference)[name].handling}


def test_every_parameter_the_gateway_reads_has_a_row():
    names = set(rows_of(reference_of("flux.2-pro")))
    assert gateway_params.CONSUMED - NOT_ROWS <= names
    assert set(gateway_params.integer_limits()) <= names
    assert set(gateway_params.FAL_BOOLEAN_FIELDS) <= names


def test_the_ranges_shown_are_the_ones_the_gateway_enforces():
    rows = rows_of(reference_of("flux.2-pro"))
    for name, (low, high) in gateway_params.integer_limits().items():
        partner = {"width": {"height": 512}, "height": {"width": 512}}.get(name, {})

        def parse(value, name=name, partner=partner):
            return gateway_params.parse_params(
                {"model": "m", "prompt": "p", name: value, **partner}
            )

        parse(low), parse(high)
        for outside in (low - 1, high + 1):
            with pytest.raises(BadRequest) as refused:
                parse(outside)
            assert refused.value.param == name
        assert rows[name].allowed[0].startswith(f"{low}–"), name


def test_every_enum_of_every_offering_appears():
    rows = rows_of(reference_of("flux.2-pro"))
    assert rows["output_format"].allowed == gateway_params.output_formats()
    assert rows["response_format"].allowed == gateway_params.RESPONSE_FORMATS
    assert rows["n"].default == "1" and rows["response_format"].default == '"url"'
    offerings = Offering.objects.filter(image_model__slug="flux.2-pro", is_active=True)
    assert offerings.count() >= 3
    for offering in offerings:
        assert set(offering.capability_rules.formats) <= set(rows["output_format"].allowed)
        assert set(offering.size_rules.ratios) <= set(rows["aspect_ratio"].allowed)
        assert set(offering.size_rules.tiers) <= set(rows["resolution"].allowed)


def test_each_provider_line_is_what_its_body_carries():
    reference = reference_of("flux.2-pro")
    fal, replicate, bfl = "fal.ai", "Replicate", "Black Forest Labs"
    assert handling(reference, "safety_tolerance")[fal] == ("converted", 'safety_tolerance="3"')
    assert handling(reference, "safety_tolerance")[bfl] == ("passthrough", "safety_tolerance=3")
    assert handling(reference, "output_compression")[replicate] == (
        "renamed",
        "output_quality=80",
    )
    assert handling(reference, "output_compression")[fal] == ("emulated", "")
    assert handling(reference, "enable_safety_checker")[bfl] == ("not sent", "")
    assert set(handling(reference, "n").values()) == {("emulated", "")}
    assert set(handling(reference, "any other name").values()) == {("passthrough", 'style="vivid"')}
    assert handling(reference, "size")[fal] == (
        "converted",
        'image_size={"width": 1360, "height": 768}',
    )


def test_the_reference_follows_a_change_in_the_normalization(monkeypatch):
    # Nothing about fal is written in the reference module: drop safety_tolerance from
    # what the gateway sends fal, and the page says fal never receives it.
    original = gateway_params._provider_fields

    def without_tolerance_for_fal(params, kind, upstream_format):
        extra, is_native = original(params, kind, upstream_format)
        if kind in gateway_params.FAL_KINDS:
            extra.pop("safety_tolerance", None)
        return extra, is_native

    monkeypatch.setattr(gateway_params, "_provider_fields", without_tolerance_for_fal)
    assert handling(reference_of("flux.2-pro"), "safety_tolerance")["fal.ai"] == ("not sent", "")


def test_openai_compatible_endpoints_get_the_seed_as_an_extra_field():
    catalog = queries.catalog()
    offering = next(
        o
        for o in catalog.offerings.values()
        if o.endpoint_kind == "openai_images" and catalog.is_live(o)
    )
    provider = catalog.providers[offering.provider_slug].name
    reference = reference_of(offering.model_slug)
    assert handling(reference, "seed")[provider] == ("passthrough", "seed=42")


def test_the_model_page_shows_the_reference_and_the_legend(client):
    page = client.get("/models/flux.2-pro/").content.decode()
    page_text = text(page)
    for name in ("output_format", "output_compression", "safety_tolerance", "sync_mode"):
        assert name in page_text
    for behaviour in BEHAVIOURS:
        assert behaviour in page_text
    assert "png jpeg webp gif" in page_text
    assert "renamed Replicate: output_quality=80" in page_text  # the simulated provider is hidden
