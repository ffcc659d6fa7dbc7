"""What the arena can show, read from the database and kept per web worker for a while.

Serving a matchup must not scan the generations table, so each worker keeps one
`ArenaCatalog` per mode for ARENA_POOL_CACHE_S seconds: the challenges, their
images, the sampler's pair tables, the current leaderboard's standings and the
prepared-image sets. Only live arena images (pool "arena", under
ARENA_MAX_IMPRESSIONS) can be drawn; showcase images never. Reads only; rows are
written by `services`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q, Sum

from bench.pools import ARENA, RETIRED, SHOWCASE
from leaderboard.arena.history import voter_histories
from leaderboard.arena.images import ImageSet, SourceImage, build_image_set
from leaderboard.arena.sampling import PairTable, Pool, Standing
from leaderboard.models import (
    ArenaMode,
    Challenge,
    ChallengeReference,
    Generation,
    ImageModel,
    Leaderboard,
    Rating,
    RatingWindow,
    Vote,
)

SIMULATED_PROVIDER = "simulated"


def is_simulated_provider(slug: str) -> bool:
    """The built-in simulator, or one of the demo's stand-ins named after it
    ("simulated-east"): hidden from the public provider lists and counts."""
    return slug == SIMULATED_PROVIDER or slug.startswith(f"{SIMULATED_PROVIDER}-")


@dataclass(frozen=True)
class ChallengeInfo:
    id: int
    title: str
    prompt: str
    mode: str
    is_active: bool
    category_id: int
    category_slug: str
    category_name: str
    reference_ids: tuple[str, ...]


@dataclass(frozen=True)
class Contestant:
    """Who made one generation: shown only after the vote."""

    model_id: int
    model: str
    vendor: str
    provider: str


@dataclass(frozen=True)
class Position:
    """A model's place on the current overall leaderboard of its arena."""

    rank: int | None
    of: int
    rating: float | None
    votes: int


@dataclass
class ArenaCatalog:
    mode: str
    challenges: dict[int, ChallengeInfo]
    contestants: dict[int, Contestant]
    image_sets: dict[int, ImageSet]
    standings: dict[int, Standing]
    positions: dict[int, Position]
    has_leaderboard: bool
    has_demo_data: bool
    _pools: dict[str | None, Pool]
    _tables: dict[str | None, PairTable] = field(default_factory=dict)
    # Generations this worker saw reach ARENA_MAX_IMPRESSIONS since the catalog was built.
    retired: set[int] = field(default_factory=set)

    def table(self, category_slug: str | None = None) -> PairTable:
        """The weighted pairs of this arena, overall or within one category."""
        if category_slug not in self._tables:
            pool = self._pools.get(category_slug) or Pool({})
            self._tables[category_slug] = PairTable(pool, self.standings)
        return self._tables[category_slug]

    def contestant(self, generation_id: int) -> Contestant:
        """Who made a generation (from the catalog, or the database if it is newer)."""
        if generation_id not in self.contestants:
            offering = (
                Generation.objects.select_related("offering__image_model", "offering__provider")
                .get(pk=generation_id)
                .offering
            )
            self.contestants[generation_id] = Contestant(
                offering.image_model_id,
                offering.image_model.name,
                offering.image_model.vendor,
                offering.provider.name,
            )
        return self.contestants[generation_id]

    def categories(self) -> list[tuple[str, str]]:
        """(slug, name) of the categories that have at least one matchup to offer."""
        names = {c.category_slug: c.category_name for c in self.challenges.values()}
        return sorted(
            ((slug, names[slug]) for slug, pool in self._pools.items() if slug and pool),
            key=lambda item: item[1],
        )


_cache: dict[str, tuple[float, ArenaCatalog]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget this worker's catalogs and its memory of recent voters."""
    with _lock:
        _cache.clear()
    voter_histories.clear()


def arena_catalog(mode: str, *, refresh: bool = False) -> ArenaCatalog:
    """This worker's catalog of one arena mode, rebuilt when older than the cache time."""
    now = time.monotonic()
    cached = _cache.get(mode)
    if cached and not refresh and now - cached[0] < settings.ARENA_POOL_CACHE_S:
        return cached[1]
    catalog = build_catalog(mode)
    with _lock:
        _cache[mode] = (now, catalog)
    return catalog


def catalog_for(mode: str, challenge_id: int) -> ArenaCatalog:
    """The catalog of `mode`, refreshed first if it predates the challenge."""
    catalog = arena_catalog(mode)
    if challenge_id not in catalog.challenges:
        catalog = arena_catalog(mode, refresh=True)
    return catalog


def build_catalog(mode: str) -> ArenaCatalog:
    media_root = Path(settings.MEDIA_ROOT)
    challenges, references = _challenges(mode, media_root)
    # Every generation stays in the image sets (a matchup served before it was retired,
    # or before an upgrade sorted it into showcase, keeps its images), but only live
    # arena images enter the pool the sampler draws from.
    generations = list(
        Generation.objects.filter(challenge__mode=mode)
        .order_by("id")
        .values_list(
            "id",
            "challenge_id",
            "image",
            "width",
            "height",
            "sha256",
            "offering__image_model_id",
            "offering__image_model__is_active",
            "offering__image_model__name",
            "offering__image_model__vendor",
            "offering__provider__slug",
            "offering__provider__name",
            "pool",
            "impressions",
        )
    )
    max_impressions = settings.ARENA_MAX_IMPRESSIONS
    contestants: dict[int, Contestant] = {}
    sources: dict[int, list[SourceImage]] = defaultdict(list)
    by_category: dict[str | None, dict[int, dict[int, list[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    has_simulated = False
    for row in generations:
        gid, cid, name, width, height, sha256, model_id, model_active = row[:8]
        model_name, vendor, provider, provider_name, generation_pool, impressions = row[8:]
        contestants[gid] = Contestant(model_id, model_name, vendor, provider_name)
        path = media_root / name
        if cid not in challenges or not path.is_file():
            continue
        sources[cid].append(SourceImage(str(gid), path, width, height, sha256))
        challenge = challenges[cid]
        is_live = generation_pool == ARENA and impressions < max_impressions
        if model_active and challenge.is_active and is_live:
            for key in (None, challenge.category_slug):
                by_category[key][cid][model_id].append(gid)
            has_simulated = has_simulated or provider == SIMULATED_PROVIDER
    image_sets = {
        cid: build_image_set(cid, sources.get(cid, []), references.get(cid, []))
        for cid in challenges
    }
    pools = {
        key: Pool({cid: {m: tuple(g) for m, g in models.items()} for cid, models in chs.items()})
        for key, chs in by_category.items()
    }
    standings, positions, has_leaderboard = _standings(mode)
    return ArenaCatalog(
        mode=mode,
        challenges=challenges,
        contestants=contestants,
        image_sets=image_sets,
        standings=standings,
        positions=positions,
        has_leaderboard=has_leaderboard,
        has_demo_data=has_simulated or Vote.objects.filter(is_demo=True).exists(),
        _pools=pools,
    )


def _challenges(mode: str, media_root: Path):
    references: dict[int, list[SourceImage]] = defaultdict(list)
    if mode == ArenaMode.EDIT:
        for ref in ChallengeReference.objects.filter(challenge__mode=mode).order_by(
            "challenge_id", "position"
        ):
            path = media_root / ref.image.name
            if path.is_file():
                fingerprint = f"{ref.image.name}:{path.stat().st_size}"
                references[ref.challenge_id].append(
                    SourceImage(f"ref{ref.position}", path, ref.width, ref.height, fingerprint)
                )
    challenges = {
        c.id: ChallengeInfo(
            id=c.id,
            title=c.title,
            prompt=c.prompt,
            mode=c.mode,
            is_active=c.is_active,
            category_id=c.category_id,
            category_slug=c.category.slug,
            category_name=c.category.name,
            reference_ids=tuple(r.id for r in references.get(c.id, [])),
        )
        for c in Challenge.objects.filter(mode=mode).select_related("category")
    }
    return challenges, references


def current_leaderboard(mode: str) -> Leaderboard | None:
    """The overall all-time leaderboard `manage.py ratings` last wrote for this arena."""
    return (
        Leaderboard.objects.filter(
            mode=mode, category__isnull=True, window=RatingWindow.ALL_TIME, is_current=True
        )
        .order_by("-computed_at")
        .first()
    )


def _standings(mode: str):
    board = current_leaderboard(mode)
    if board is None:
        # No ratings yet: every pair counts as undecided; vote counts come from the votes.
        votes: dict[int, int] = defaultdict(int)
        live = Vote.objects.filter(mode=mode, is_excluded=False)
        for side in ("model_a", "model_b"):
            for model_id, count in live.values_list(side).annotate(n=Count("id")).order_by():
                votes[model_id] += count
        return {m: Standing(votes=n) for m, n in votes.items()}, {}, False
    ratings = list(Rating.objects.filter(leaderboard=board))
    ranked = sum(1 for r in ratings if r.rank is not None)
    standings = {
        r.image_model_id: Standing(
            votes=r.votes, rating=r.rating, ci_low=r.ci_low, ci_high=r.ci_high
        )
        for r in ratings
    }
    positions = {
        r.image_model_id: Position(rank=r.rank, of=ranked, rating=r.rating, votes=r.votes)
        for r in ratings
    }
    return standings, positions, True


@dataclass(frozen=True)
class PoolCell:
    """One model's images for one challenge: how many the arena can still show."""

    model: str
    challenge: str
    mode: str
    live: int
    retired: int
    showcase: int
    impressions_left: int
    needed: int


def pool_cells() -> list[PoolCell]:
    """Every active model x active challenge it can take part in, with its image counts.

    Live: arena images under ARENA_MAX_IMPRESSIONS; needed: live images short of
    ARENA_LIVE_IMAGES_TARGET (scheduled bench runs bring new ones).
    """
    cap, target = settings.ARENA_MAX_IMPRESSIONS, settings.ARENA_LIVE_IMAGES_TARGET
    is_live = Q(pool=ARENA, impressions__lt=cap)
    counts = {
        (row["offering__image_model_id"], row["challenge_id"]): row
        for row in Generation.objects.values("offering__image_model_id", "challenge_id")
        .annotate(
            live=Count("id", filter=is_live),
            retired=Count("id", filter=Q(pool=RETIRED) | Q(pool=ARENA, impressions__gte=cap)),
            showcase=Count("id", filter=Q(pool=SHOWCASE)),
            shown=Sum("impressions", filter=is_live),
        )
        .order_by()
    }
    cells = []
    challenges = list(Challenge.objects.filter(is_active=True).order_by("mode", "title"))
    for model in ImageModel.objects.filter(is_active=True).order_by("name"):
        for challenge in challenges:
            if challenge.mode not in model.modes:
                continue
            row = counts.get((model.id, challenge.id), {})
            live = row.get("live", 0)
            cells.append(
                PoolCell(
                    model=model.name,
                    challenge=challenge.title,
                    mode=challenge.get_mode_display(),
                    live=live,
                    retired=row.get("retired", 0),
                    showcase=row.get("showcase", 0),
                    impressions_left=live * cap - (row.get("shown") or 0),
                    needed=max(0, target - live),
                )
            )
    return cells
