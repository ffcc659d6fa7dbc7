"""Readable builders for the public pages' tests: the catalog, boards with known
ratings, exact vote tallies, offering stats, benchmark samples and real small images.

Ratings are written straight into Leaderboard/Rating rows so every number a test
asserts is one it chose; `crowd_votes` + `manage.py ratings` covers the real path.
"""

from __future__ import annotations

import io
import random
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from leaderboard.models import (
    BenchSample,
    Category,
    Challenge,
    Generation,
    ImageModel,
    Leaderboard,
    Offering,
    OfferingStats,
    Rating,
    Vote,
)
from leaderboard.ratings import rank_ranges, ranks_by_rating


def catalog():
    call_command("loaddata", "catalog", verbosity=0)


def model(slug: str) -> ImageModel:
    return ImageModel.objects.get(slug=slug)


def offering(provider_slug: str, model_slug: str) -> Offering:
    return Offering.objects.get(provider__slug=provider_slug, image_model__slug=model_slug)


def challenge(slug: str) -> Challenge:
    return Challenge.objects.get(slug=slug)


def board(
    ratings: dict[str, tuple[float, float, float]],
    *,
    mode="t2i",
    category: str | None = None,
    window="all",
    votes: dict[str, int] | None = None,
    win_rates: dict[str, float] | None = None,
    provisional=(),
    unrated: dict[str, int] | None = None,
    history: dict[str, list] | None = None,
    computed_at=None,
    bootstrap_rounds=1000,
    seed=0,
    notes=(),
) -> Leaderboard:
    """A current leaderboard with {slug: (rating, ci_low, ci_high)}.

    Ranks follow the engine's rules (`ranks_by_rating`, `rank_ranges`). Votes default
    to 200, win rates to 50%.
    """
    votes = votes or {}
    win_rates = win_rates or {}
    row = Leaderboard.objects.create(
        mode=mode,
        category=Category.objects.get(slug=category) if category else None,
        window=window,
        computed_at=computed_at or timezone.now(),
        vote_count=sum(votes.get(slug, 200) for slug in ratings) // 2,
        bootstrap_rounds=bootstrap_rounds,
        seed=seed,
        notes=list(notes),
    )
    values = np.array([list(v) for v in ratings.values()], dtype=float).reshape(-1, 3)
    by_rating = ranks_by_rating(values[:, 0])
    best, worst = rank_ranges(values[:, 0], values[:, 1], values[:, 2])
    for k, (slug, (rating, low, high)) in enumerate(ratings.items()):
        count = votes.get(slug, 200)
        win_rate = win_rates.get(slug, 0.5)
        Rating.objects.create(
            leaderboard=row,
            image_model=model(slug),
            rating=rating,
            ci_low=low,
            ci_high=high,
            rank=int(by_rating[k]),
            rank_best=int(best[k]),
            rank_worst=int(worst[k]),
            votes=count,
            wins=round(count * win_rate),
            losses=count - round(count * win_rate),
            ties=0,
            win_rate=win_rate,
            is_provisional=slug in provisional,
            elo_history=(history or {}).get(slug, []),
        )
    for slug, count in (unrated or {}).items():
        Rating.objects.create(
            leaderboard=row,
            image_model=model(slug),
            votes=count,
            wins=0,
            losses=0,
            ties=0,
            is_provisional=True,
            status="no votes against a rated model",
        )
    store_tallies()
    return row


def store_tallies() -> None:
    """What a ratings refresh writes for the pages besides the boards: the head-to-head
    counts of the votes up to the current boards' time (boards here are built by hand)."""
    from django.db.models import Max

    from leaderboard import vote_counts
    from leaderboard.models import ArenaMode, Leaderboard, PairTally, VoteCountState

    at = Leaderboard.objects.filter(is_current=True).aggregate(at=Max("computed_at"))["at"]
    if at is None:
        return
    PairTally.objects.all().delete()
    VoteCountState.objects.all().delete()  # count every day again, up to the boards' time
    vote_counts.update_day_counts(at)
    vote_counts.write_pair_tallies(ArenaMode.values, computed_at=at)


def stats(
    provider_slug: str,
    model_slug: str,
    *,
    p50: float,
    p95: float,
    p99: float | None = None,
    ttfb: float | None = None,
    samples: int = 100,
    successes: int | None = None,
    failures: dict[str, int] | None = None,
    gateway: int = 0,
    cost: str | None = None,
    computed_at=None,
    window_days: int = 30,
) -> OfferingStats:
    successes = samples if successes is None else successes
    return OfferingStats.objects.create(
        offering=offering(provider_slug, model_slug),
        computed_at=computed_at or timezone.now(),
        window_days=window_days,
        sample_count=samples,
        success_count=successes,
        success_rate=successes / samples,
        success_ci_low=max(0.0, successes / samples - 0.05),
        success_ci_high=min(1.0, successes / samples + 0.02),
        generation_p50_ms=p50,
        generation_p95_ms=p95,
        generation_p99_ms=p99 or p95 * 1.2,
        ttfb_p50_ms=ttfb,
        cost_per_success_usd=Decimal(cost) if cost else None,
        failures=failures or {},
        gateway_sample_count=gateway,
    )


def votes(
    a: str,
    b: str,
    *,
    a_wins=0,
    b_wins=0,
    ties=0,
    both_bad=0,
    mode="t2i",
    challenge_slug: str | None = None,
    is_excluded=False,
    created_at=None,
) -> list[Vote]:
    """Exactly these votes between models a and b (a always in slot A)."""
    when = created_at or timezone.now() - timedelta(hours=1)
    chosen = challenge(challenge_slug) if challenge_slug else None
    outcomes = ["a"] * a_wins + ["b"] * b_wins + ["tie"] * ties + ["both_bad"] * both_bad
    created = Vote.objects.bulk_create(
        Vote(
            model_a=model(a),
            model_b=model(b),
            outcome=outcome,
            mode=mode,
            challenge=chosen,
            category=chosen.category if chosen else None,
            voter=f"voter-{index}",
            created_at=when + timedelta(seconds=index),
            is_excluded=is_excluded,
        )
        for index, outcome in enumerate(outcomes)
    )
    store_tallies()
    return created


def crowd_votes(true_ratings: dict[str, float], n: int, *, seed=1, mode="t2i") -> int:
    """n votes drawn by Bradley-Terry from hidden true ratings (10% ties)."""
    rng = random.Random(seed)
    slugs = list(true_ratings)
    models = {slug: model(slug) for slug in slugs}
    start = timezone.now() - timedelta(days=2)
    rows = []
    for index in range(n):
        a, b = rng.sample(slugs, 2)
        p_a = 1 / (1 + 10 ** ((true_ratings[b] - true_ratings[a]) / 400))
        outcome = "tie" if rng.random() < 0.1 else ("a" if rng.random() < p_a else "b")
        rows.append(
            Vote(
                model_a=models[a],
                model_b=models[b],
                outcome=outcome,
                mode=mode,
                voter=f"crowd-{index % 11}",
                created_at=start + timedelta(seconds=index),
            )
        )
    Vote.objects.bulk_create(rows)
    store_tallies()
    return n


def png_bytes(size=(48, 32), colour=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def generation(provider_slug: str, model_slug: str, challenge_slug: str, *, colour=(200, 80, 40),
               size=(48, 32), pool="showcase", retired_at=None) -> Generation:  # fmt: skip
    """A real PNG in MEDIA_ROOT, recorded as this offering's image for the challenge
    (a showcase image, which the pages may show, unless `pool` says otherwise)."""
    data = png_bytes(size, colour)
    name = default_storage.save(
        f"generations/{model_slug}-{challenge_slug}-{provider_slug}-{pool}.png", ContentFile(data)
    )
    return Generation.objects.create(
        offering=offering(provider_slug, model_slug),
        challenge=challenge(challenge_slug),
        image=name,
        width=size[0],
        height=size[1],
        bytes=len(data),
        sha256="0" * 64,
        pool=pool,
        retired_at=retired_at,
    )


def samples(provider_slug: str, model_slug: str, generation_ms: list[float], *, failed=(),
            days_ago=0) -> list[BenchSample]:  # fmt: skip
    """Benchmark samples: one success per time in generation_ms, one failure per class."""
    target = offering(provider_slug, model_slug)
    when = timezone.now() - timedelta(days=days_ago, minutes=5)
    rows = [
        BenchSample(
            offering=target, started_at=when, status="ok", generation_ms=ms, ttfb_ms=ms - 50
        )
        for ms in generation_ms
    ] + [BenchSample(offering=target, started_at=when, status=status) for status in failed]
    return BenchSample.objects.bulk_create(rows)


# A site with results: enough of everything for every page section ---------------------


def _tight(ratings: dict[str, float], half_width=3.0) -> dict[str, tuple[float, float, float]]:
    return {slug: (r, r - half_width, r + half_width) for slug, r in ratings.items()}


# Intervals of +-3 points, ratings at least 7 apart: every rank is the position.
T2I_RATINGS = _tight(
    {
        "nano-banana-pro": 1340,
        "seedream-4": 1320,
        "imagen-4": 1310,
        "gpt-image-1": 1300,
        "flux.2-max": 1290,
        "ideogram-3": 1280,
        "nano-banana": 1270,
        "qwen-image": 1262,
        "flux.2-pro": 1255,
        "recraft-v3": 1150,
        "grok-imagine-image": 1100,
        "flux.2-flex": 1050,
        "flux.1-kontext-pro": 1000,
    }
)
EDIT_RATINGS = _tight(
    {
        "nano-banana-pro": 1300,
        "seedream-4": 1250,
        "flux.2-max": 1240,
        "gpt-image-1": 1230,
        "qwen-image": 1220,
        "nano-banana": 1215,
        "flux.1-kontext-pro": 1210,
        "flux.2-flex": 1205,
        "flux.2-pro": 1190,
    }
)


def site_with_results():
    """The catalog with both arenas rated, a category board, provider stats, images and votes.

    FLUX.2 [pro] is #9 of 13 in text to image (1255) and #9 of 9 in editing (1190),
    like the reference page; Replicate serves it fastest (17,157 ms, 100% success).
    """
    catalog()
    history = {
        "flux.2-pro": [
            [f"2026-10-{day:02d}T00:00:00+00:00", 1000 + 8 * day] for day in range(1, 29)
        ]
    }
    board(
        T2I_RATINGS,
        votes={"flux.2-pro": 500, "seedream-4": 40},
        provisional={"seedream-4"},
        win_rates={"flux.2-pro": 0.55},
        history=history,
    )
    board(EDIT_RATINGS, mode="edit")
    board(
        {
            "flux.2-pro": (1150, 1120, 1180),
            "imagen-4": (1050, 1020, 1080),
            "qwen-image": (1000, 970, 1030),
        },
        category="product-branding",
        win_rates={"flux.2-pro": 0.7},
    )
    stats("replicate", "flux.2-pro", p50=17157, p95=28771, ttfb=16671, samples=120)
    stats(
        "fal",
        "flux.2-pro",
        p50=20666,
        p95=39388,
        ttfb=19169,
        samples=80,
        successes=76,
        failures={"timeout": 3, "http_5xx": 1},
        gateway=12,
    )
    stats("fal", "nano-banana-pro", p50=9000, p95=15000, ttfb=8000, samples=50)
    samples("replicate", "flux.2-pro", [15000, 16000, 17157, 18000, 21000])
    samples("fal", "flux.2-pro", [19000, 20666, 22000], failed=["timeout"])
    generation("replicate", "flux.2-pro", "neon-noodle-shop")
    generation("fal", "nano-banana-pro", "neon-noodle-shop", colour=(40, 80, 200))
    votes("flux.2-pro", "nano-banana-pro", a_wins=3, b_wins=1, challenge_slug="neon-noodle-shop")


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._stack: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append(dict(attrs).get("id") or f"table-{len(self.tables)}")
            self.tables[self._stack[-1]] = []
        elif tag == "caption" and self._stack and dict(attrs).get("id"):
            # A table is also found by its caption's id.
            self.tables[dict(attrs)["id"]] = self.tables[self._stack[-1]]
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            self.tables[self._stack[-1]].append(self._row)
            self._row = None
        elif tag == "table" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    """The rows of the table with this id (or whose caption has it), as lists of
    whitespace-normalized cell texts."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables[table_id]


def text(html: str) -> str:
    """The page's visible text with whitespace collapsed, for sentence assertions.

    Block elements are separated by a space, inline ones (links, spans, code) are not.
    """
    inline = {"a", "span", "strong", "em", "code", "q", "abbr", "b", "i", "small"}

    class _Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("script", "style", "title")
            if tag not in inline:
                self.parts.append(" ")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style", "title")
            if tag not in inline:
                self.parts.append(" ")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())
