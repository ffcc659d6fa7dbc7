"""The serving-quality arena: one model, two providers, the same prompt and seed.

A serving matchup shows two images of one model for one challenge, made with the
same seed (and the same size and format: one benchmark run asks every offering of a
model the same thing) by two different offerings. It is an ordinary Matchup row of
kind "serving": the same opaque, re-encoded images (`/arena/image/...`), the same
served-once claim, history, impressions, rate limits and proof of work as the model
arena. Its votes go to ServingVote, so model ratings never see them.

Only live arena-pool images take part (never showcase images), so this arena keeps
the pool rule of `leaderboard/publication.py` as the model arena does.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from bench.pools import ARENA
from leaderboard.arena import services
from leaderboard.arena.errors import InvalidVote
from leaderboard.arena.history import voter_histories
from leaderboard.arena.sampling import Pick
from leaderboard.models import (
    Generation,
    Matchup,
    MatchupKind,
    ServingVote,
    VoteOutcome,
    VoterExclusion,
)

# Groups drawn at random before going through all of them for one with fresh images.
MAX_GROUP_ATTEMPTS = 12


@dataclass(frozen=True)
class ServedImage:
    generation_id: int
    offering_id: int


@dataclass(frozen=True)
class SeedGroup:
    """Images of one model for one challenge and one seed, from two or more offerings."""

    challenge_id: int
    mode: str
    model_id: int
    seed: int
    images: tuple[ServedImage, ...]


@dataclass(frozen=True)
class OfferingInfo:
    key: str
    model: str
    model_slug: str
    vendor: str
    provider: str
    provider_slug: str


@dataclass
class ServingCatalog:
    groups: list[SeedGroup]
    offerings: dict[int, OfferingInfo]
    retired: set[int] = field(default_factory=set)

    @property
    def model_slugs(self) -> list[str]:
        return sorted(
            {self.offerings[i.offering_id].model_slug for g in self.groups for i in g.images}
        )


_cache: tuple[float, ServingCatalog] | None = None
_lock = threading.Lock()


def clear_cache() -> None:
    global _cache
    with _lock:
        _cache = None


def serving_catalog(*, refresh: bool = False) -> ServingCatalog:
    """This worker's serving pool, rebuilt when older than ARENA_POOL_CACHE_S."""
    global _cache
    now = time.monotonic()
    cached = _cache
    if cached and not refresh and now - cached[0] < settings.ARENA_POOL_CACHE_S:
        return cached[1]
    catalog = build_serving_catalog()
    with _lock:
        _cache = (now, catalog)
    return catalog


def build_serving_catalog() -> ServingCatalog:
    """Live arena images grouped by (challenge, model, seed), kept where two or more
    active offerings answered the same request."""
    media_root = Path(settings.MEDIA_ROOT)
    rows = (
        Generation.objects.filter(
            pool=ARENA,
            impressions__lt=settings.ARENA_MAX_IMPRESSIONS,
            seed__isnull=False,
            challenge__is_active=True,
            offering__is_active=True,
            offering__image_model__is_active=True,
        )
        .order_by("id")
        .values_list(
            "id", "image", "challenge_id", "challenge__mode", "seed", "offering_id",
            "offering__image_model_id", "samples__requested_width", "samples__requested_height",
        )
    )  # fmt: skip
    by_key: dict[tuple, dict[int, int]] = defaultdict(dict)
    for gid, image, challenge_id, mode, seed, offering_id, model_id, *asked in rows:
        if (media_root / image).is_file():
            # The same request: same challenge, model, seed and (when the runner recorded
            # it) requested size. One image per offering and request: the earliest one.
            key = (challenge_id, mode, model_id, seed, *(size or 0 for size in asked))
            by_key[key].setdefault(offering_id, gid)
    groups = [
        SeedGroup(c, mode, m, seed, tuple(ServedImage(g, o) for o, g in sorted(images.items())))
        for (c, mode, m, seed, _, _), images in sorted(by_key.items())
        if len(images) >= 2
    ]
    return ServingCatalog(groups, offering_infos({i.offering_id for g in groups for i in g.images}))


def offering_infos(offering_ids) -> dict[int, OfferingInfo]:
    from leaderboard.models import Offering

    return {
        o.id: OfferingInfo(
            o.key,
            o.image_model.name,
            o.image_model.slug,
            o.image_model.vendor,
            o.provider.name,
            o.provider.slug,
        )
        for o in Offering.objects.filter(id__in=offering_ids).select_related(
            "image_model", "provider"
        )
    }


class ServingSampler:
    """Draws a seed group uniformly, then two of its offerings; sides from the OS."""

    def __init__(self, rng: random.Random | None = None):
        self.rng = rng or random.Random(secrets.randbits(128))
        self.sides = rng or random.SystemRandom()

    def pick(self, catalog: ServingCatalog, seen, unavailable) -> tuple[SeedGroup, Pick] | None:
        groups = catalog.groups
        if not groups:
            return None
        attempts = [self.rng.randrange(len(groups)) for _ in range(MAX_GROUP_ATTEMPTS)]
        rest = list(range(len(groups)))
        self.rng.shuffle(rest)
        for index in attempts + rest:
            group = groups[index]
            fresh = [i for i in group.images if i.generation_id not in seen]
            fresh = [i for i in fresh if i.generation_id not in unavailable]
            if len(fresh) >= 2:
                first, second = self.rng.sample(fresh, 2)
                if self.sides.random() < 0.5:
                    first, second = second, first
                pick = Pick(
                    group.challenge_id,
                    first.generation_id,
                    second.generation_id,
                    group.model_id,
                    group.model_id,
                )
                return group, pick
        return None


_sampler = ServingSampler()


def serve_serving_matchup(
    *,
    voter: str,
    ip_hash: str = "",
    now: datetime | None = None,
    sampler: ServingSampler | None = None,
) -> Matchup | None:
    """Store and return a new serving matchup for `voter` (None when nothing is fresh).

    Both images get an impression, exactly as in the model arena; a voter never sees
    an image again within their last 500 matchups of either arena.
    """
    with transaction.atomic():
        return _serve(voter, ip_hash, now or timezone.now(), sampler or _sampler)


def _serve(voter, ip_hash, now, sampler) -> Matchup | None:
    catalog = serving_catalog()
    if not catalog.groups:
        return None
    with connection.cursor() as cursor:
        history = voter_histories.history(
            cursor, voter, to_db=services._db_time, from_db=services._aware
        )
        for _ in range(services.MAX_CLAIM_ATTEMPTS):
            picked = sampler.pick(catalog, history.generations, catalog.retired)
            if picked is None:
                return None
            group, pick = picked
            if services._count_impressions(cursor, pick, catalog.retired, now):
                break
        else:
            return None
        matchup = services._insert_matchup(cursor, pick, voter, ip_hash, now, MatchupKind.SERVING)
    matchup.mode = group.mode
    return matchup


def get_open_serving_matchup(code: str, voter: str, *, now: datetime | None = None) -> Matchup:
    """The serving matchup `code` of `voter`, open for its vote (errors as the arena's)."""
    return services.get_open_matchup(code, voter, now=now, kind=MatchupKind.SERVING)


def get_voted_serving_matchup(code: str, voter: str) -> Matchup:
    return services.get_voted_matchup(code, voter, kind=MatchupKind.SERVING)


def record_serving_vote(
    matchup: Matchup,
    outcome: str,
    *,
    voter: str,
    now: datetime | None = None,
    is_demo: bool = False,
) -> ServingVote:
    """Store `voter`'s vote on a serving matchup exactly once (the model arena's claim),
    flagged when cast sooner than ARENA_MIN_VOTE_MS, excluded while the voter is."""
    if outcome not in VoteOutcome.values:
        raise InvalidVote()
    if matchup.kind != MatchupKind.SERVING:
        raise InvalidVote("This matchup belongs to the model arena.")
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                services.CLAIM_MATCHUP,
                [services._db_time(now), matchup.pk, voter, services._db_time(now)],
            )
            if cursor.rowcount != 1:
                raise services._why_unclaimable(matchup.pk, voter)
            cursor.execute(services.ACTIVE_EXCLUSION, [voter])
            exclusion = cursor.fetchone()
        offerings = dict(
            Generation.objects.filter(
                id__in=(matchup.generation_a_id, matchup.generation_b_id)
            ).values_list("id", "offering_id")
        )
        decision_ms = max(0, int((now - matchup.served_at).total_seconds() * 1000))
        vote = ServingVote.objects.create(
            matchup_id=matchup.pk,
            image_model_id=matchup.model_a_id,
            offering_a_id=offerings[matchup.generation_a_id],
            offering_b_id=offerings[matchup.generation_b_id],
            challenge_id=matchup.challenge_id,
            outcome=outcome,
            voter=voter,
            created_at=now,
            decision_ms=decision_ms,
            is_flagged=decision_ms < settings.ARENA_MIN_VOTE_MS,
            is_excluded=exclusion is not None,
            exclusion_reason=exclusion[0] if exclusion else "",
            is_demo=is_demo,
        )
        if vote.is_flagged and exclusion is None:
            _exclude_if_mostly_flagged(voter, now)
    matchup.voted_at = now
    return vote


def _exclude_if_mostly_flagged(voter: str, now: datetime) -> None:
    """The model arena's flagged-share rule, on this voter's serving votes: past the
    threshold the voter is excluded (from both arenas' results), with the reason."""
    if VoterExclusion.objects.filter(voter=voter).exists():
        return  # an admin's decision, or an earlier exclusion, stands
    totals = ServingVote.objects.filter(voter=voter).aggregate(
        total=Count("id"), flagged=Count("id", filter=Q(is_flagged=True))
    )
    total, flagged = totals["total"], totals["flagged"]
    threshold = settings.ARENA_FLAGGED_SHARE_PERCENT
    if total >= settings.ARENA_FLAG_MIN_VOTES and flagged * 100 > threshold * total:
        services.exclude_voter(
            voter,
            f"{flagged} of {total} serving-arena votes ({flagged / total:.0%}) came faster "
            f"than {settings.ARENA_MIN_VOTE_MS} ms after serving; the limit is {threshold}%.",
            by=services.AUTOMATIC,
            now=now,
        )
        ServingVote.objects.filter(voter=voter).update(
            is_excluded=True, exclusion_reason="flagged-share rule"
        )


def has_demo_data() -> bool:
    """True when the serving arena shows simulated images or demo votes (pages say so)."""
    from leaderboard.arena.pool import SIMULATED_PROVIDER

    catalog = serving_catalog()
    if any(
        info.provider_slug.startswith(SIMULATED_PROVIDER) for info in catalog.offerings.values()
    ):
        return True
    return ServingVote.objects.filter(is_demo=True).exists()
