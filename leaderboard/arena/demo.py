"""Demo data for the arena: placeholder images and a simulated crowd of voters.

`manage.py demo` calls `ensure_demo_generations()` when the benchmark runner has made
no images yet, then `simulate_crowd()`. The crowd votes through the real services
(serve_matchup, then record_vote with is_demo=True), choosing by Bradley-Terry on
hidden true ratings, so the leaderboard it produces can be checked against them.
The arena pages say "demo data" whenever such votes or simulated images exist.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import textwrap
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from bench.pools import ARENA, SHOWCASE, pixel_sha256
from leaderboard.arena import services
from leaderboard.arena.pool import SIMULATED_PROVIDER, arena_catalog
from leaderboard.arena.sampling import Sampler
from leaderboard.arena.voters import salted_hash
from leaderboard.models import ArenaMode, Challenge, Generation, ImageModel, Offering

DEMO_IMAGE_SIDE = 512
# Crowd behaviour: ties are likelier between close models; an image is "bad" with a
# probability that falls with its model's true rating (50% at 900, 9% at 1100).
TIE_RATE = 0.12
BAD_MIDPOINT = 900.0
BAD_SCALE = 200.0
VOTES_PER_VOTER = 15


def hidden_ratings(slugs: list[str], seed: int) -> dict[str, float]:
    """The crowd's true Elo ratings: mean 1000, spread 120, fixed by `seed`."""
    rng = random.Random(f"ratings:{seed}")
    return {slug: 1000.0 + 120.0 * rng.gauss(0.0, 1.0) for slug in sorted(slugs)}


def crowd_choice(rng: random.Random, rating_a: float, rating_b: float) -> str:
    """One simulated voter's outcome for A (rating_a) against B (rating_b)."""
    p_a = 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))

    def is_bad(rating):
        return rng.random() < 1.0 / (1.0 + 10.0 ** ((rating - BAD_MIDPOINT) / BAD_SCALE))

    bad_a, bad_b = is_bad(rating_a), is_bad(rating_b)
    if bad_a and bad_b:
        return "both_bad"
    if rng.random() < TIE_RATE * (1.0 - abs(p_a - 0.5) * 2.0):
        return "tie"
    return "a" if rng.random() < p_a else "b"


def simulate_crowd(votes: int = 2000, seed: int = 7, *, days: int = 60) -> int:
    """Cast `votes` demo votes from a simulated crowd over the last `days` days.

    Each vote goes through serve_matchup and record_vote like a real one (is_demo=True),
    about VOTES_PER_VOTER votes per simulated voter, 3-20 s after serving. Returns the
    number of votes cast (fewer when the arena has nothing to show).
    """
    rng = random.Random(seed)
    sampler = Sampler(random.Random(seed + 1))
    slugs = dict(ImageModel.objects.values_list("id", "slug"))
    truth = hidden_ratings(list(slugs.values()), seed)
    modes = [m for m in ArenaMode.values if arena_catalog(m, refresh=True).table().pairs]
    if not modes:
        return 0
    crowd = [
        salted_hash("demo-voter", f"{seed}:{n}") for n in range(max(1, votes // VOTES_PER_VOTER))
    ]
    start = timezone.now() - timedelta(days=days)
    step_s = days * 86400 / max(1, votes)
    cast = 0
    with transaction.atomic():
        for n in range(votes):
            seat = rng.randrange(len(crowd))
            voter = crowd[seat]
            # Seven in ten demo votes go to text-to-image, as on the real site.
            mode = modes[0] if len(modes) == 1 or rng.random() < 0.7 else modes[1]
            served_at = start + timedelta(seconds=n * step_s)
            voted_at = served_at + timedelta(seconds=rng.uniform(3, 20))
            served = services.serve_matchup(voter=voter, mode=mode, now=served_at, sampler=sampler)
            if served is None:
                # This voter has seen all the pool holds for them: a newcomer takes the seat.
                voter = crowd[seat] = salted_hash("demo-voter", f"{seed}:{votes + n}")
                served = services.serve_matchup(
                    voter=voter, mode=mode, now=served_at, sampler=sampler
                )
            if served is None:
                break  # every image of this arena is retired
            matchup = services.get_open_matchup(served.code, voter, now=voted_at)
            outcome = crowd_choice(
                rng,
                truth[slugs[matchup.generation_a.offering.image_model_id]],
                truth[slugs[matchup.generation_b.offering.image_model_id]],
            )
            services.record_vote(matchup, outcome, voter=voter, now=voted_at, is_demo=True)
            cast += 1
    return cast


def ensure_demo_generations(*, side: int = DEMO_IMAGE_SIDE, arena_images: int = 2) -> int:
    """Draw placeholder images for every (simulated offering, challenge) that has none.

    Each pair gets one showcase image (for the public pages) and `arena_images`
    arena candidates, every one a different picture: the colours and shapes come from
    the offering, the challenge and the image's number, never from the model alone
    (which would unblind the demo arena). Returns the number of generations created.
    """
    offerings = list(
        Offering.objects.filter(
            provider__slug=SIMULATED_PROVIDER, is_active=True, image_model__is_active=True
        ).select_related("image_model", "provider")
    )
    existing = set(
        Generation.objects.filter(offering__in=offerings).values_list("offering_id", "challenge_id")
    )
    created = 0
    for challenge in Challenge.objects.filter(is_active=True).prefetch_related("references"):
        for offering in offerings:
            model = offering.image_model
            supported = (
                model.does_edit if challenge.mode == ArenaMode.EDIT else model.does_text_to_image
            )
            if not supported or (offering.id, challenge.id) in existing:
                continue
            for number in range(1 + arena_images):
                data = draw_placeholder(challenge, offering.key, side, number)
                store_picture(
                    offering, challenge, data, "image/png", (side, side),
                    pool=SHOWCASE if number == 0 else ARENA,
                )  # fmt: skip
                created += 1
    return created


def store_picture(
    offering: Offering,
    challenge: Challenge,
    data: bytes,
    content_type: str,
    size: tuple[int, int],
    *,
    pool: str,
    seed: int | None = None,
) -> Generation:
    """Save a demo picture content-addressed under generations/ and record its Generation."""
    digest = hashlib.sha256(data).hexdigest()
    extension = "jpg" if content_type == "image/jpeg" else "png"
    name = default_storage.save(f"generations/{digest}.{extension}", ContentFile(data))
    return Generation.objects.create(
        offering=offering,
        challenge=challenge,
        image=name,
        width=size[0],
        height=size[1],
        bytes=len(data),
        sha256=digest,
        content_type=content_type,
        pixel_sha256=pixel_sha256(data),
        seed=seed,
        pool=pool,
    )


def draw_placeholder(challenge: Challenge, offering_key: str, side: int, number: int = 0) -> bytes:
    seed = int.from_bytes(
        hashlib.sha256(f"{offering_key}|{challenge.slug}|{number}".encode()).digest()[:8]
    )
    rng = random.Random(seed)
    hue = rng.random()
    background = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.35, 0.95))
    image = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(4, 9)):
        shade = tuple(
            int(255 * c)
            for c in colorsys.hsv_to_rgb(
                (hue + rng.uniform(-0.2, 0.2)) % 1, 0.6, rng.uniform(0.4, 0.9)
            )
        )
        x, y = rng.randrange(side), rng.randrange(side)
        r = rng.randint(side // 12, side // 4)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(
            (x - r, y - r, x + r, y + r), fill=shade
        )
    reference = next(iter(challenge.references.all()), None)
    if reference is not None:
        try:
            with Image.open(reference.image.path) as ref:
                ref = ref.convert("RGB")
                ref.thumbnail((side // 2, side // 2))
                image.paste(ref, (side - ref.width - side // 16, side // 16))
        except OSError:
            pass
    font = ImageFont.load_default(size=max(12, side // 22))
    text = "\n".join(textwrap.wrap(challenge.prompt, width=34)[:8])
    box = draw.multiline_textbbox((side // 16, side // 2), text, font=font)
    draw.rectangle((box[0] - 8, box[1] - 8, box[2] + 8, box[3] + 8), fill=(255, 255, 255))
    draw.multiline_text((side // 16, side // 2), text, font=font, fill=(20, 20, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
