"""Demo data: placeholder images for the simulated provider and a simulated crowd."""

import io
import random
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from PIL import Image
from scipy.stats import spearmanr

from leaderboard.arena.demo import (
    crowd_choice,
    ensure_demo_generations,
    hidden_ratings,
    simulate_crowd,
)
from leaderboard.models import (
    ArenaMode,
    Challenge,
    Generation,
    Leaderboard,
    Matchup,
    Offering,
    Vote,
)

pytestmark = pytest.mark.django_db


def test_demo_generations_give_every_simulated_offering_and_challenge_distinct_pictures(db):
    call_command("loaddata", "catalog", verbosity=0)
    created = ensure_demo_generations(side=64, arena_images=2)
    # Retired models (gpt-image-1) keep their offerings but get no new generations.
    offerings = Offering.objects.filter(
        provider__slug="simulated", is_active=True, image_model__is_active=True
    ).select_related("image_model")
    expected = sum(
        1
        for challenge in Challenge.objects.filter(is_active=True)
        for offering in offerings
        if (
            offering.image_model.does_edit
            if challenge.mode == ArenaMode.EDIT
            else offering.image_model.does_text_to_image
        )
    )
    # One showcase image and two arena candidates each, every one a different picture.
    assert created == 3 * expected == Generation.objects.count()
    assert Generation.objects.filter(pool="showcase").count() == expected
    assert Generation.objects.filter(pool="arena").count() == 2 * expected
    pixels = list(Generation.objects.values_list("pixel_sha256", flat=True))
    assert all(pixels) and len(set(pixels)) == len(pixels)
    assert ensure_demo_generations(side=64) == 0  # idempotent
    generation = Generation.objects.first()
    with Image.open(Path(settings.MEDIA_ROOT) / generation.image.name) as image:
        assert image.size == (64, 64) == (generation.width, generation.height)


def test_the_simulated_crowd_votes_through_the_real_services(world):
    assert simulate_crowd(votes=120, seed=3) == 120
    votes = Vote.objects.all()
    assert votes.count() == Matchup.objects.filter(voted_at__isnull=False).count() == 120
    assert all(v.is_demo and not v.is_flagged and not v.is_excluded for v in votes)
    assert votes.values("voter").distinct().count() > 1
    assert set(votes.values_list("outcome", flat=True)) <= {"a", "b", "tie", "both_bad"}


def test_the_crowd_chooses_by_bradley_terry_on_hidden_ratings():
    rng = random.Random(1)
    outcomes = Counter(crowd_choice(rng, 1200, 1000) for _ in range(20_000))
    decided = outcomes["a"] + outcomes["b"]
    # 200 Elo points: P(stronger wins) = 1 / (1 + 10^(-0.5)) = 0.76
    assert outcomes["a"] / decided == pytest.approx(0.76, abs=0.015)
    assert outcomes["tie"] > 0 and outcomes["both_bad"] > 0
    weak = Counter(crowd_choice(rng, 800, 800) for _ in range(5000))
    assert weak["both_bad"] > outcomes["both_bad"] / 4  # weak pairs are often both bad


def test_the_ratings_recover_the_crowds_hidden_order(db):
    from tests.arena.builders import build_arena

    world = build_arena(models=4, challenges=2, images=3)
    simulate_crowd(votes=400, seed=5)
    call_command("ratings", bootstrap=10, stdout=io.StringIO())
    board = Leaderboard.objects.get(mode="t2i", category=None, window="all", is_current=True)
    fitted = dict(board.ratings.values_list("image_model__slug", "rating"))
    truth = hidden_ratings([m.slug for m in world.models], seed=5)
    slugs = sorted(truth)
    # At most one adjacent swap (rho = 0.8, computed as 0.7999...): two of the hidden
    # ratings are only 4 Elo apart, which 400 votes cannot order reliably.
    rho = spearmanr([truth[s] for s in slugs], [fitted[s] for s in slugs]).statistic
    assert rho >= 0.8 - 1e-9
