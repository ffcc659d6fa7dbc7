"""The curated catalog read model of the public pages: models, providers, offerings,
categories and challenges, as frozen dataclasses cached per snapshot (see `queries`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.files.storage import default_storage

from bench.pricing import PricingError, PricingRule, price_per_image_usd
from bench.sizes import SizeRules, SizeRulesError
from leaderboard.arena.pool import is_simulated_provider
from leaderboard.models import (
    ArenaMode,
    Category,
    Challenge,
    ChallengeReference,
    ImageModel,
    Offering,
    Provider,
)
from leaderboard.pages.cache import cached


@dataclass(frozen=True)
class ModelInfo:
    id: int
    slug: str
    name: str
    vendor: str
    description: str
    does_text_to_image: bool
    does_edit: bool
    max_output_mp: Decimal
    max_reference_images: int
    release_date: date | None
    is_open_weights: bool
    is_active: bool
    retired_on: date | None = None

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(
            mode
            for mode, supported in (
                (ArenaMode.TEXT_TO_IMAGE.value, self.does_text_to_image),
                (ArenaMode.EDIT.value, self.does_edit),
            )
            if supported
        )


@dataclass(frozen=True)
class ProviderInfo:
    id: int
    slug: str
    name: str
    base_url: str
    website: str
    is_active: bool


@dataclass(frozen=True)
class OfferingInfo:
    id: int
    model_slug: str
    provider_slug: str
    provider_model_id: str
    edit_model_id: str
    endpoint_kind: str
    pricing: dict
    sizes: dict
    max_reference_images: int
    is_active: bool
    price_per_image_usd: Decimal | None
    price_source_url: str = ""
    price_checked_on: date | None = None
    price_is_estimated: bool = False

    @property
    def key(self) -> str:
        return f"{self.provider_slug}/{self.model_slug}"

    @property
    def pricing_rule(self) -> PricingRule:
        return PricingRule.from_json(self.pricing)

    @property
    def size_rules(self) -> SizeRules | None:
        try:
            return SizeRules.from_json(self.sizes)
        except SizeRulesError:
            return None


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class ReferenceInfo:
    url: str
    width: int
    height: int
    description: str
    position: int


@dataclass(frozen=True)
class ChallengeInfo:
    id: int
    slug: str
    title: str
    prompt: str
    mode: str
    category_slug: str
    is_active: bool
    references: tuple[ReferenceInfo, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """The curated catalog, by slug (offerings by id), in display order."""

    models: dict[str, ModelInfo]
    providers: dict[str, ProviderInfo]
    offerings: dict[int, OfferingInfo]
    categories: dict[str, CategoryInfo]
    challenges: dict[str, ChallengeInfo]
    model_slugs_by_id: dict[int, str] = field(default_factory=dict)
    category_slugs_by_id: dict[int, str] = field(default_factory=dict)
    challenge_slugs_by_id: dict[int, str] = field(default_factory=dict)

    def offerings_of(self, model_slug: str, *, active_only: bool = True) -> list[OfferingInfo]:
        """The model's offerings; with `active_only` the live ones a visitor is shown,
        where the simulated provider appears only when nothing else serves the model."""
        if not active_only:
            return [o for o in self.offerings.values() if o.model_slug == model_slug]
        live = [
            o for o in self.offerings.values() if o.model_slug == model_slug and self.is_live(o)
        ]
        named = [o for o in live if not is_simulated_provider(o.provider_slug)]
        return named or live

    def public_providers(self) -> list[ProviderInfo]:
        """Active providers for the public pages: the simulated one only when it is alone."""
        active = [p for p in self.providers.values() if p.is_active]
        named = [p for p in active if not is_simulated_provider(p.slug)]
        return named or active

    def offerings_by(self, provider_slug: str) -> list[OfferingInfo]:
        return [o for o in self.offerings.values() if o.provider_slug == provider_slug]

    def is_live(self, offering: OfferingInfo) -> bool:
        """Active offering of an active provider: the ones a buyer can use today."""
        return offering.is_active and self.providers[offering.provider_slug].is_active


def catalog() -> Catalog:
    return cached("catalog", _load_catalog)


def category_slugs() -> list[str]:
    return cached("category-slugs", lambda: list(catalog().categories))


def _load_catalog() -> Catalog:
    """The curated catalog as frozen dataclasses, read once per snapshot.

    Long on purpose: a field-by-field copy of the catalog tables into plain data, with no
    logic to split out.
    """
    models = {
        m.slug: ModelInfo(
            id=m.id,
            slug=m.slug,
            name=m.name,
            vendor=m.vendor,
            description=m.description,
            does_text_to_image=m.does_text_to_image,
            does_edit=m.does_edit,
            max_output_mp=m.max_output_mp,
            max_reference_images=m.max_reference_images,
            release_date=m.release_date,
            is_open_weights=m.is_open_weights,
            is_active=m.is_active,
            retired_on=m.retired_on,
        )
        for m in ImageModel.objects.order_by("name")
    }
    providers = {
        p.slug: ProviderInfo(
            id=p.id,
            slug=p.slug,
            name=p.name,
            base_url=p.base_url,
            website=p.website,
            is_active=p.is_active,
        )
        for p in Provider.objects.order_by("name")
    }
    offerings = {
        o.id: OfferingInfo(
            id=o.id,
            model_slug=o.image_model.slug,
            provider_slug=o.provider.slug,
            provider_model_id=o.provider_model_id,
            edit_model_id=o.edit_model_id,
            endpoint_kind=o.endpoint_kind,
            pricing=o.pricing,
            sizes=o.sizes,
            max_reference_images=o.max_reference_images,
            is_active=o.is_active,
            price_per_image_usd=_price(o.pricing),
            price_source_url=o.price_source_url,
            price_checked_on=o.price_checked_on,
            price_is_estimated=o.price_is_estimated,
        )
        for o in Offering.objects.select_related("image_model", "provider").order_by(
            "image_model__name", "provider__name"
        )
    }
    categories = {
        c.slug: CategoryInfo(id=c.id, slug=c.slug, name=c.name, description=c.description)
        for c in Category.objects.order_by("name")
    }
    references: dict[int, list[ReferenceInfo]] = {}
    for ref in ChallengeReference.objects.order_by("challenge_id", "position"):
        references.setdefault(ref.challenge_id, []).append(
            ReferenceInfo(
                url=default_storage.url(ref.image.name),
                width=ref.width,
                height=ref.height,
                description=ref.description,
                position=ref.position,
            )
        )
    challenges = {
        c.slug: ChallengeInfo(
            id=c.id,
            slug=c.slug,
            title=c.title,
            prompt=c.prompt,
            mode=c.mode,
            category_slug=c.category.slug,
            is_active=c.is_active,
            references=tuple(references.get(c.id, ())),
        )
        for c in Challenge.objects.select_related("category").order_by("title")
    }
    return Catalog(
        models=models,
        providers=providers,
        offerings=offerings,
        categories=categories,
        challenges=challenges,
        model_slugs_by_id={m.id: m.slug for m in models.values()},
        category_slugs_by_id={c.id: c.slug for c in categories.values()},
        challenge_slugs_by_id={c.id: c.slug for c in challenges.values()},
    )


def _price(pricing: dict) -> Decimal | None:
    try:
        return price_per_image_usd(PricingRule.from_json(pricing))
    except PricingError:
        return None
