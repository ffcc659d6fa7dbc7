"""Which generations the public pages may show: showcase images and long-retired arena
images, never arena candidates, freshly retired ones or duplicates (leaderboard/publication)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard.models import Generation
from leaderboard.publication import may_show_publicly, public_generations
from tests.pages import builders

pytestmark = pytest.mark.django_db
CHALLENGE = "man-and-car-in-california"


@pytest.fixture
def pools(settings):
    settings.ARENA_MATCHUP_EXPIRY_S = 1800
    builders.catalog()
    long_ago = timezone.now() - timedelta(hours=1)
    just_now = timezone.now() - timedelta(minutes=5)
    return {
        "showcase": builders.generation("replicate", "flux.2-pro", CHALLENGE),
        "arena": builders.generation("fal", "flux.2-pro", CHALLENGE, pool="arena"),
        "retired-long-ago": builders.generation(
            "replicate", "nano-banana-pro", CHALLENGE, pool="retired", retired_at=long_ago
        ),
        "retired-just-now": builders.generation(
            "fal", "nano-banana-pro", CHALLENGE, pool="retired", retired_at=just_now
        ),
        "duplicate": builders.generation("bfl", "flux.2-pro", CHALLENGE, pool="duplicate"),
    }


def test_the_rule_admits_showcase_and_long_retired_images_only(pools):
    public = {name for name, g in pools.items() if may_show_publicly(g)}
    assert public == {"showcase", "retired-long-ago"}
    assert set(Generation.objects.filter(public_generations())) == {
        pools["showcase"],
        pools["retired-long-ago"],
    }


def test_challenge_and_model_pages_show_no_arena_image(client, pools):
    pages = client.get(f"/challenges/{CHALLENGE}/").content.decode()
    pages += client.get("/models/flux.2-pro/").content.decode()
    pages += client.get("/models/nano-banana-pro/").content.decode()
    for name, generation in pools.items():
        shown = generation.image.url in pages
        assert shown == (name in ("showcase", "retired-long-ago")), name
