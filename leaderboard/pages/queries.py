"""Every database read of the public pages, as plain picklable data cached per snapshot.

Each public function returns frozen dataclasses (or dicts and lists of them) and is
computed at most once per snapshot and worker through `cache.cached`; presenters and
charts build on these and never touch the ORM. The heavy ones (vote tallies, latency
distributions, daily success) aggregate in SQL so a cache fill stays well under a
second even with hundreds of thousands of votes and samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from leaderboard.arena.pool import SIMULATED_PROVIDER
from leaderboard.models import (
    ArenaMode,
    BenchSample,
    Category,
    Challenge,
    ChallengeReference,
    Generation,
    ImageModel,
    Leaderboard,
    Offering,
    OfferingStats,
    Provider,
    Rating,
    SampleStatus,
    Vote,
)
from leaderboard.pages.cache import cached, current_snapshot
from leaderboard.pricing import PricingError, PricingRule, price_per_image_usd
from leaderboard.publication import public_generations
from leaderboard.sizes import SizeRules, SizeRulesError

DEFAULT_WINDOW_DAYS = 30
# Latency distributions are stored as these quantiles (0%, 1%, ..., 100%) per offering.
CDF_QUANTILES = np.linspace(0.0, 1.0, 101)
GALLERY_SCAN_LIMIT = 500


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
        return [
            o
            for o in self.offerings.values()
            if o.model_slug == model_slug and (not active_only or self.is_live(o))
        ]

    def offerings_by(self, provider_slug: str) -> list[OfferingInfo]:
        return [o for o in self.offerings.values() if o.provider_slug == provider_slug]

    def is_live(self, offering: OfferingInfo) -> bool:
        """Active offering of an active provider: the ones a buyer can use today."""
        return offering.is_active and self.providers[offering.provider_slug].is_active


@dataclass(frozen=True)
class RatingInfo:
    model_slug: str
    rating: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    win_rate: float | None
    is_provisional: bool
    status: str
    elo_history: tuple = ()

    @property
    def is_rated(self) -> bool:
        return self.rating is not None


@dataclass(frozen=True)
class BoardInfo:
    """One current leaderboard with its ratings, rated ones first by rating."""

    mode: str
    category_slug: str | None
    window: str
    computed_at: datetime
    vote_count: int
    excluded_vote_count: int
    bootstrap_rounds: int
    seed: int
    notes: tuple[str, ...]
    ratings: tuple[RatingInfo, ...]

    @property
    def rated(self) -> list[RatingInfo]:
        return [r for r in self.ratings if r.is_rated]

    @property
    def unrated(self) -> list[RatingInfo]:
        return [r for r in self.ratings if not r.is_rated]

    def rating_of(self, model_slug: str) -> RatingInfo | None:
        return next((r for r in self.ratings if r.model_slug == model_slug), None)


@dataclass(frozen=True)
class StatsInfo:
    offering_id: int
    computed_at: datetime
    window_days: int
    sample_count: int
    success_count: int
    success_rate: float | None
    success_ci_low: float | None
    success_ci_high: float | None
    generation_p50_ms: float | None
    generation_p95_ms: float | None
    generation_p99_ms: float | None
    ttfb_p50_ms: float | None
    submit_ttfb_p50_ms: float | None
    cost_per_success_usd: Decimal | None
    failures: dict
    gateway_sample_count: int
    poll_bracket_p50_ms: float | None = None


@dataclass(frozen=True)
class Tally:
    """Non-excluded votes between two models on one challenge (x < y by slug)."""

    mode: str
    challenge_slug: str | None
    model_x: str
    model_y: str
    x_wins: int = 0
    y_wins: int = 0
    ties: int = 0
    both_bad: int = 0

    @property
    def votes(self) -> int:
        return self.x_wins + self.y_wins + self.ties + self.both_bad


@dataclass(frozen=True)
class LatencyDistribution:
    """Successful generation times of one offering: 101 quantiles (ms) over its window."""

    offering_id: int
    samples: int
    quantiles_ms: tuple[float, ...]

    def quantile(self, q: float) -> float:
        return float(np.interp(q, CDF_QUANTILES, self.quantiles_ms))


@dataclass(frozen=True)
class DailySuccess:
    day: date
    offering_id: int
    requests: int
    successes: int


@dataclass(frozen=True)
class GenerationInfo:
    id: int
    url: str
    width: int
    height: int
    challenge_slug: str
    offering_id: int
    model_slug: str
    created_at: datetime


def catalog() -> Catalog:
    return cached("catalog", _load_catalog)


def boards() -> dict[tuple[str, str, str], BoardInfo]:
    """Current leaderboards by (mode, category slug or "", window)."""
    return cached("boards", _load_boards)


def offering_stats() -> dict[int, StatsInfo]:
    """Current stats by offering id."""
    return cached("offering-stats", _load_offering_stats)


def vote_tallies() -> list[Tally]:
    """Vote counts per (mode, challenge, model pair) up to the ratings' computation time."""
    return cached("vote-tallies", _load_vote_tallies)


def latency_distributions(model_slug: str) -> dict[int, LatencyDistribution]:
    """By offering id, for the model's offerings that have successful samples."""
    return cached("latency", lambda: _load_latency(model_slug), model_slug)


def daily_success(provider_slug: str) -> list[DailySuccess]:
    return cached("daily-success", lambda: _load_daily_success(provider_slug), provider_slug)


def model_generations(model_slug: str) -> list[GenerationInfo]:
    """The model's newest generations (at most GALLERY_SCAN_LIMIT), newest first."""
    return cached(
        "model-generations",
        lambda: _load_generations(Q(offering__image_model__slug=model_slug)),
        model_slug,
    )


def challenge_generations(challenge_slug: str) -> list[GenerationInfo]:
    return cached(
        "challenge-generations",
        lambda: _load_generations(Q(challenge__slug=challenge_slug)),
        challenge_slug,
    )


def category_slugs() -> list[str]:
    return cached("category-slugs", lambda: list(catalog().categories))


def has_demo_data() -> bool:
    """Whether demo votes or simulated-provider stats are on show (pages then say so)."""
    return cached("has-demo", _load_has_demo)


def _load_catalog() -> Catalog:
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


def _load_boards() -> dict[tuple[str, str, str], BoardInfo]:
    leaderboards = list(Leaderboard.objects.filter(is_current=True).select_related("category"))
    ratings: dict[int, list[Rating]] = {}
    for rating in Rating.objects.filter(leaderboard__in=leaderboards).select_related("image_model"):
        ratings.setdefault(rating.leaderboard_id, []).append(rating)
    result = {}
    for board in leaderboards:
        rows = sorted(
            ratings.get(board.id, []),
            key=lambda r: (r.rating is None, -(r.rating or 0.0), r.image_model.slug),
        )
        info = BoardInfo(
            mode=board.mode,
            category_slug=board.category.slug if board.category_id else None,
            window=board.window,
            computed_at=board.computed_at,
            vote_count=board.vote_count,
            excluded_vote_count=board.excluded_vote_count,
            bootstrap_rounds=board.bootstrap_rounds,
            seed=board.seed,
            notes=tuple(board.notes or ()),
            ratings=tuple(
                RatingInfo(
                    model_slug=r.image_model.slug,
                    rating=r.rating,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    rank=r.rank,
                    votes=r.votes,
                    wins=r.wins,
                    losses=r.losses,
                    ties=r.ties,
                    both_bad=r.both_bad,
                    win_rate=r.win_rate,
                    is_provisional=r.is_provisional,
                    status=r.status,
                    elo_history=tuple(tuple(point) for point in (r.elo_history or ())),
                )
                for r in rows
            ),
        )
        key = (info.mode, info.category_slug or "", info.window)
        # Two current boards for one key only happen mid-refresh; the newest wins.
        if key not in result or result[key].computed_at < info.computed_at:
            result[key] = info
    return result


def _load_offering_stats() -> dict[int, StatsInfo]:
    result = {}
    for s in OfferingStats.objects.filter(is_current=True).order_by("computed_at"):
        result[s.offering_id] = StatsInfo(
            offering_id=s.offering_id,
            computed_at=s.computed_at,
            window_days=s.window_days,
            sample_count=s.sample_count,
            success_count=s.success_count,
            success_rate=s.success_rate,
            success_ci_low=s.success_ci_low,
            success_ci_high=s.success_ci_high,
            generation_p50_ms=s.generation_p50_ms,
            generation_p95_ms=s.generation_p95_ms,
            generation_p99_ms=s.generation_p99_ms,
            ttfb_p50_ms=s.ttfb_p50_ms,
            submit_ttfb_p50_ms=s.submit_ttfb_p50_ms,
            cost_per_success_usd=s.cost_per_success_usd,
            failures=dict(s.failures or {}),
            gateway_sample_count=s.gateway_sample_count,
            poll_bracket_p50_ms=s.poll_bracket_p50_ms,
        )
    return result


def _load_vote_tallies() -> list[Tally]:
    votes = Vote.objects.filter(is_excluded=False)
    ratings_at = current_snapshot().ratings_at
    if ratings_at is not None:
        # The same votes the ratings saw, so a page's matchups and its ratings agree.
        votes = votes.filter(created_at__lte=ratings_at)
    rows = (
        votes.values_list("mode", "challenge_id", "model_a_id", "model_b_id", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    names = catalog()
    counts: dict[tuple, list[int]] = {}
    slot = {"tie": 2, "both_bad": 3}
    for mode, challenge_id, a_id, b_id, outcome, n in rows:
        a, b = names.model_slugs_by_id[a_id], names.model_slugs_by_id[b_id]
        x, y = sorted((a, b))
        challenge = names.challenge_slugs_by_id.get(challenge_id) if challenge_id else None
        tally = counts.setdefault((mode, challenge, x, y), [0, 0, 0, 0])
        if outcome in slot:
            tally[slot[outcome]] += n
        else:
            winner = a if outcome == "a" else b
            tally[0 if winner == x else 1] += n
    return [
        Tally(mode, challenge, x, y, *values)
        for (mode, challenge, x, y), values in sorted(
            counts.items(), key=lambda item: tuple(str(part) for part in item[0])
        )
    ]


def _sample_window(offering_ids) -> tuple[datetime, datetime]:
    stats = [s for oid, s in offering_stats().items() if oid in set(offering_ids)]
    if stats:
        end = max(s.computed_at for s in stats)
        days = max(s.window_days for s in stats)
    else:
        end, days = timezone.now(), DEFAULT_WINDOW_DAYS
    return end - timedelta(days=days), end


def _load_latency(model_slug: str) -> dict[int, LatencyDistribution]:
    offering_ids = [o.id for o in catalog().offerings_of(model_slug, active_only=False)]
    start, end = _sample_window(offering_ids)
    times: dict[int, list[float]] = {}
    for offering_id, ms in BenchSample.objects.filter(
        offering_id__in=offering_ids, status=SampleStatus.OK,
        started_at__gte=start, started_at__lte=end, generation_ms__isnull=False,
    ).values_list("offering_id", "generation_ms").iterator(chunk_size=10_000):  # fmt: skip
        times.setdefault(offering_id, []).append(ms)
    return {
        offering_id: LatencyDistribution(
            offering_id=offering_id,
            samples=len(values),
            # numpy's default (linear) quantiles, as bench.stats uses for the p50/p95.
            quantiles_ms=tuple(float(v) for v in np.quantile(np.asarray(values), CDF_QUANTILES)),
        )
        for offering_id, values in times.items()
    }


def _load_daily_success(provider_slug: str) -> list[DailySuccess]:
    offering_ids = [o.id for o in catalog().offerings_by(provider_slug)]
    start, end = _sample_window(offering_ids)
    rows = (
        BenchSample.objects.filter(
            offering_id__in=offering_ids, started_at__gte=start, started_at__lte=end
        )
        .exclude(status=SampleStatus.SKIPPED)
        .annotate(day=TruncDate("started_at"))
        .values_list("day", "offering_id")
        .annotate(requests=Count("id"), successes=Count("id", filter=Q(status=SampleStatus.OK)))
        .order_by("day", "offering_id")
    )
    return [DailySuccess(day, offering_id, requests, ok) for day, offering_id, requests, ok in rows]


def _load_generations(where: Q) -> list[GenerationInfo]:
    # Only showcase and long-retired arena images: the arena's own stay unpublished.
    rows = (
        Generation.objects.filter(where & public_generations())
        .order_by("-created_at", "-id")
        .values_list(
            "id",
            "image",
            "width",
            "height",
            "challenge__slug",
            "offering_id",
            "offering__image_model__slug",
            "created_at",
        )[:GALLERY_SCAN_LIMIT]
    )
    return [
        GenerationInfo(
            id=pk,
            url=default_storage.url(name),
            width=width,
            height=height,
            challenge_slug=challenge,
            offering_id=offering_id,
            model_slug=model,
            created_at=created,
        )
        for pk, name, width, height, challenge, offering_id, model, created in rows
    ]


def _load_has_demo() -> bool:
    return (
        Vote.objects.filter(is_demo=True).exists()
        or OfferingStats.objects.filter(
            is_current=True, offering__provider__slug=SIMULATED_PROVIDER
        ).exists()
    )
