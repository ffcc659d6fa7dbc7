"""The generations read model of the public pages: the newest published images of a
model or a challenge, cached per snapshot (see `queries`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.files.storage import default_storage
from django.db.models import Q

from leaderboard.models import Generation
from leaderboard.pages.cache import cached
from leaderboard.publication import public_generations, showcase_generations

GALLERY_SCAN_LIMIT = 500


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


def model_generations(model_slug: str) -> list[GenerationInfo]:
    """The model's newest generations (at most GALLERY_SCAN_LIMIT), newest first."""
    return cached(
        "model-generations",
        lambda: _load_generations(Q(offering__image_model__slug=model_slug)),
        model_slug,
    )


def model_showcase(model_slug: str) -> list[GenerationInfo]:
    """The model's showcase images only (never an arena image, even a retired one)."""
    return cached(
        "model-showcase",
        lambda: _load_generations(
            Q(offering__image_model__slug=model_slug) & showcase_generations()
        ),
        model_slug,
    )


def challenge_generations(challenge_slug: str) -> list[GenerationInfo]:
    return cached(
        "challenge-generations",
        lambda: _load_generations(Q(challenge__slug=challenge_slug)),
        challenge_slug,
    )


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
