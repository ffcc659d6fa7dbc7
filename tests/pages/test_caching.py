"""Pages come from the cache of the current snapshot; a new ratings or stats run replaces them."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard.models import Leaderboard, OfferingStats
from tests.pages import builders
from tests.pages.builders import board, stats, table

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/leaderboard/?mode=t2i",
    "/models/flux.2-pro/",
    "/providers/fal/",
    "/challenges/neon-noodle-shop/",
    "/api/leaderboard?mode=t2i",
    "/api/models/flux.2-pro",
]


@pytest.fixture
def site():
    builders.site_with_results()


@pytest.mark.parametrize("path", PAGES)
def test_a_cached_page_is_served_without_a_single_query(client, site, settings, path,
                                                        django_assert_num_queries):  # fmt: skip
    settings.PAGES_SNAPSHOT_CHECK_S = 60
    first = client.get(path)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = client.get(path)
    assert again.content == first.content


def test_a_new_ratings_run_replaces_the_cached_page(client, site):
    assert table(client.get("/leaderboard/").content.decode(), "board")[1][3] == "1340"
    Leaderboard.objects.update(is_current=False)
    board(
        {"nano-banana-pro": (1401, 1390, 1412)}, computed_at=timezone.now() + timedelta(seconds=1)
    )
    assert table(client.get("/leaderboard/").content.decode(), "board")[1][3] == "1401"


def test_a_new_stats_run_replaces_the_cached_model_page(client, site):
    assert "17,157ms median latency" in client.get("/models/flux.2-pro/").content.decode()
    OfferingStats.objects.update(is_current=False)
    stats(
        "fal", "flux.2-pro", p50=9999, p95=12000, computed_at=timezone.now() + timedelta(seconds=1)
    )
    assert (
        "Fastest generation through fal at 9,999ms"
        in client.get("/models/flux.2-pro/").content.decode()
    )


def test_chart_urls_carry_the_snapshot_version_and_change_with_it(client, site):
    def versions():
        html = client.get("/models/flux.2-pro/").content.decode()
        return set(re.findall(r"/charts/([0-9a-f]{12})/", html))

    before = versions()
    assert len(before) == 1
    stats(
        "bfl", "flux.2-pro", p50=30000, p95=40000, computed_at=timezone.now() + timedelta(seconds=1)
    )
    after = versions()
    assert len(after) == 1 and after != before


def test_between_snapshot_checks_a_worker_keeps_serving_what_it_has(client, site, settings):
    settings.PAGES_SNAPSHOT_CHECK_S = 3600
    client.get("/leaderboard/")
    Leaderboard.objects.update(is_current=False)
    board(
        {"nano-banana-pro": (1401, 1390, 1412)}, computed_at=timezone.now() + timedelta(seconds=1)
    )
    # Within the check interval the old page stays (no query); it is a documented delay.
    assert table(client.get("/leaderboard/").content.decode(), "board")[1][3] == "1340"
