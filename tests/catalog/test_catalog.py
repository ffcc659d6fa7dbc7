"""The catalog fixture and the rules the catalog tables enforce."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import ProtectedError
from django.utils import timezone

from bench.pricing import price_per_image_usd
from bench.sizes import normalize_size
from leaderboard.models import (
    ArenaMode,
    Category,
    Challenge,
    ImageModel,
    Offering,
    Provider,
    Vote,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    call_command("loaddata", "catalog", verbosity=0)


def test_the_catalog_fixture_holds_a_real_catalog(catalog):
    assert ImageModel.objects.count() >= 12
    assert Category.objects.count() >= 8
    assert Challenge.objects.count() >= 20
    assert set(Provider.objects.values_list("slug", flat=True)) >= {
        "replicate",
        "fal",
        "bfl",
        "openai",
        "simulated",
    }
    for title in [
        "Man and Car in California",
        "Studio Ghibli Anime Style",
        "Modern Clean Menu",
        "Geometric Composition",
        "Bald man challenge",
    ]:
        assert Challenge.objects.filter(title=title).exists(), title
    assert Challenge.objects.filter(mode=ArenaMode.EDIT, prompt__contains="Duchenne").exists()
    assert Challenge.objects.filter(mode=ArenaMode.EDIT, prompt__contains="night").exists()


def test_every_edit_challenge_has_references_and_no_t2i_challenge_does(catalog):
    for challenge in Challenge.objects.prefetch_related("references"):
        has_references = challenge.references.exists()
        assert has_references == (challenge.mode == ArenaMode.EDIT), challenge.slug


def test_every_offering_has_a_valid_price_and_size_rule(catalog):
    for offering in Offering.objects.select_related("provider", "image_model"):
        offering.full_clean()
        assert price_per_image_usd(offering.pricing_rule) > 0
        size = normalize_size(offering.size_rules, aspect_ratio="1:1", resolution="1K")
        assert size.width > 0 and size.height > 0


def test_flux2_pro_costs_what_the_bfl_price_sheet_says(catalog):
    offering = Offering.objects.get(provider__slug="bfl", image_model__slug="flux.2-pro")
    # $0.03 first megapixel + $0.015 for the 1 MP reference (BFL's own worked example).
    from bench.pricing import request_cost_usd

    cost = request_cost_usd(offering.pricing_rule, 1024, 1024, reference_sizes=[(1024, 1024)])
    assert str(cost.normalize()) == "0.045"


def test_the_simulated_provider_serves_every_model_over_every_protocol(catalog):
    simulated = Offering.objects.filter(provider__slug="simulated")
    assert simulated.count() == ImageModel.objects.count()
    assert set(simulated.values_list("endpoint_kind", flat=True)) == {
        "replicate",
        "fal_queue",
        "fal_sync",
        "bfl",
        "openai_images",
    }


def test_no_provider_row_holds_a_key(catalog):
    for provider in Provider.objects.all():
        assert provider.api_key_env == "" or provider.api_key_env.isupper()


def test_a_slug_cannot_be_renamed(catalog):
    model = ImageModel.objects.get(slug="flux.2-pro")
    model.slug = "flux-2-pro-renamed"
    with pytest.raises(ValidationError, match="Slugs are stable"):
        model.save()
    assert ImageModel.objects.filter(slug="flux.2-pro").exists()


def test_slugs_are_unique(catalog):
    with pytest.raises(ValidationError):
        ImageModel(name="Copy", slug="flux.2-pro", vendor="X").full_clean()


def test_a_model_with_votes_cannot_be_deleted_but_can_be_deactivated(catalog):
    flux, nano = (
        ImageModel.objects.get(slug="flux.2-pro"),
        ImageModel.objects.get(slug="nano-banana"),
    )
    Vote.objects.create(
        model_a=flux,
        model_b=nano,
        outcome="a",
        mode=ArenaMode.TEXT_TO_IMAGE,
        voter="v1",
        created_at=timezone.now(),
    )
    with pytest.raises(ProtectedError):
        flux.delete()
    flux.is_active = False
    flux.save()
    assert ImageModel.objects.get(slug="flux.2-pro").is_active is False
    assert Vote.objects.count() == 1


def test_a_model_without_votes_can_be_deleted(catalog):
    ImageModel.objects.get(slug="recraft-v3").offerings.all().delete()
    ImageModel.objects.get(slug="recraft-v3").delete()
    assert not ImageModel.objects.filter(slug="recraft-v3").exists()


def test_an_offering_with_a_bad_pricing_rule_is_refused(catalog):
    offering = Offering.objects.first()
    offering.pricing = {"unit": "megapixel"}
    with pytest.raises(ValidationError):
        offering.full_clean()


def test_a_key_typed_into_the_provider_env_field_is_refused(catalog):
    provider = Provider.objects.get(slug="fal")
    provider.api_key_env = "sk-live-1234:abcd"
    with pytest.raises(ValidationError, match="variable"):
        provider.full_clean()


def test_a_vote_needs_two_different_models(catalog):
    from django.db import IntegrityError, transaction

    flux = ImageModel.objects.get(slug="flux.2-pro")
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(
            model_a=flux,
            model_b=flux,
            outcome="a",
            mode="t2i",
            voter="v",
            created_at=timezone.now(),
        )
