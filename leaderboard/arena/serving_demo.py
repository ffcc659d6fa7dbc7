"""Demo data for the serving arena: simulated providers serving one model alike or not,
and a simulated crowd that votes with a hidden truth.

Two extra simulated providers join the demo catalog. For FLUX.2 [pro], "Simulated
East" serves exactly what the simulated provider serves (a different encode of the same
picture) while "Simulated West" serves a worse copy: shrunk to three quarters, softened
and sent as JPEG, and the crowd's hidden truth rates it SERVING_PENALTY Elo points
lower. For Nano Banana, East and the simulated provider are identical in truth. The
serving boards must find the first and call the second "no detectable difference".
"""

from __future__ import annotations

import io
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageFilter

from bench.pools import ARENA
from leaderboard.arena import serving
from leaderboard.arena.demo import (
    DEMO_IMAGE_SIDE,
    VOTES_PER_VOTER,
    crowd_choice,
    draw_placeholder,
    store_picture,
)
from leaderboard.arena.pool import SIMULATED_PROVIDER
from leaderboard.arena.voters import salted_hash
from leaderboard.models import ArenaMode, Challenge, Generation, ImageModel, Offering, Provider

# Hidden truth: how much worse the degraded provider's images are (it wins 39% of the
# time against an intact copy), "slightly worse" yet findable with a few hundred votes.
SERVING_PENALTY = 80.0
DEMO_PROVIDERS = {
    "simulated-east": "Simulated East",
    "simulated-west": "Simulated West",
}
# model slug -> {provider slug: how it serves the model}
DEMO_SERVING = {
    "flux.2-pro": {
        SIMULATED_PROVIDER: "intact",
        "simulated-east": "intact",
        "simulated-west": "degraded",
    },
    "nano-banana": {SIMULATED_PROVIDER: "intact", "simulated-east": "intact"},
}
SEEDS_PER_CHALLENGE = 3


def ensure_serving_demo_offerings() -> list[Offering]:
    """The demo's extra simulated providers and their offerings (idempotent)."""
    simulated = Provider.objects.get(slug=SIMULATED_PROVIDER)
    for slug, name in DEMO_PROVIDERS.items():
        Provider.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "base_url": simulated.base_url, "api_key_env": ""},
        )
    offerings = []
    for model_slug, serving_by in DEMO_SERVING.items():
        model = ImageModel.objects.filter(slug=model_slug, is_active=True).first()
        if model is None:
            continue
        template = Offering.objects.filter(image_model=model, provider=simulated).first()
        if template is None:
            continue
        for provider_slug in serving_by:
            offering, _ = Offering.objects.get_or_create(
                image_model=model,
                provider=Provider.objects.get(slug=provider_slug),
                defaults={
                    "provider_model_id": template.provider_model_id,
                    "edit_model_id": template.edit_model_id,
                    "endpoint_kind": template.endpoint_kind,
                    "pricing": template.pricing,
                    "sizes": template.sizes,
                    "capabilities": template.capabilities,
                    "max_reference_images": template.max_reference_images,
                },
            )
            offerings.append(offering)
    return offerings


def served_copy(picture: bytes, offering_key: str, how: str) -> tuple[bytes, str, int, int]:
    """What a demo provider delivers for `picture`: the same picture (a few pixels
    nudged by one level, so each copy is its own file) or a degraded one."""
    with Image.open(io.BytesIO(picture)) as image:
        image = image.convert("RGB")
    rng = random.Random(offering_key)
    if how == "degraded":
        small = (image.width * 3 // 4, image.height * 3 // 4)
        image = image.resize(small, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(1))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=70)
        return out.getvalue(), "image/jpeg", image.width, image.height
    pixels = image.load()
    for _ in range(16):
        x, y = rng.randrange(image.width), rng.randrange(image.height)
        r, g, b = pixels[x, y]
        pixels[x, y] = (r ^ 1, g, b)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), "image/png", image.width, image.height


def ensure_serving_demo_generations(*, seeds: int = SEEDS_PER_CHALLENGE) -> int:
    """Arena images of each demo-served model, per active text-to-image challenge and
    seed, one per offering. Returns the number of generations created."""
    offerings = ensure_serving_demo_offerings()
    existing = set(
        Generation.objects.filter(offering__in=offerings, seed__isnull=False).values_list(
            "offering_id", "challenge_id", "seed"
        )
    )
    created = 0
    challenges = Challenge.objects.filter(is_active=True, mode=ArenaMode.TEXT_TO_IMAGE)
    for challenge in challenges.prefetch_related("references"):
        for seed in range(1, seeds + 1):
            for offering in offerings:
                if (offering.id, challenge.id, seed) in existing:
                    continue
                model_slug = offering.image_model.slug
                how = DEMO_SERVING[model_slug][offering.provider.slug]
                picture = draw_placeholder(
                    challenge, f"serving|{model_slug}", DEMO_IMAGE_SIDE, seed
                )
                data, content_type, width, height = served_copy(picture, offering.key, how)
                store_picture(
                    offering, challenge, data, content_type, (width, height), pool=ARENA, seed=seed
                )
                created += 1
    serving.clear_cache()
    return created


def hidden_serving_quality(offering: Offering) -> float:
    """The crowd's truth for one demo offering: 1000, less the penalty if degraded."""
    how = DEMO_SERVING.get(offering.image_model.slug, {}).get(offering.provider.slug, "intact")
    return 1000.0 - (SERVING_PENALTY if how == "degraded" else 0.0)


def simulate_serving_crowd(votes: int = 1200, seed: int = 11, *, days: int = 30) -> int:
    """Cast `votes` demo votes in the serving arena through its real services."""
    rng = random.Random(seed)
    sampler = serving.ServingSampler(random.Random(seed + 1))
    catalog = serving.serving_catalog(refresh=True)
    if not catalog.groups:
        return 0
    quality = {
        o.id: hidden_serving_quality(o)
        for o in Offering.objects.filter(id__in=catalog.offerings).select_related(
            "image_model", "provider"
        )
    }
    image_offering = {i.generation_id: i.offering_id for g in catalog.groups for i in g.images}
    crowd = [
        salted_hash("demo-serving-voter", f"{seed}:{n}")
        for n in range(max(1, votes // VOTES_PER_VOTER))
    ]
    start = timezone.now() - timedelta(days=days)
    step_s = days * 86400 / max(1, votes)
    cast = 0
    with transaction.atomic():
        for n in range(votes):
            seat = rng.randrange(len(crowd))
            served_at = start + timedelta(seconds=n * step_s)
            served = serving.serve_serving_matchup(
                voter=crowd[seat], now=served_at, sampler=sampler
            )
            if served is None:
                crowd[seat] = salted_hash("demo-serving-voter", f"{seed}:{votes + n}")
                served = serving.serve_serving_matchup(
                    voter=crowd[seat], now=served_at, sampler=sampler
                )
            if served is None:
                break
            outcome = crowd_choice(
                rng,
                quality[image_offering[served.generation_a_id]],
                quality[image_offering[served.generation_b_id]],
            )
            voted_at = served_at + timedelta(seconds=rng.uniform(3, 20))
            serving.record_serving_vote(
                served, outcome, voter=crowd[seat], now=voted_at, is_demo=True
            )
            cast += 1
    return cast
