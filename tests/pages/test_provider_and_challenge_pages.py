"""Provider pages (offerings, failures, success over time) and challenge pages."""

import re

import pytest

from leaderboard.rating_refresh import refresh_leaderboards
from tests.pages import builders
from tests.pages.builders import stats, table, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def fal():
    builders.catalog()
    stats(
        "fal",
        "flux.2-pro",
        p50=20666,
        p95=39388,
        ttfb=19169,
        samples=100,
        successes=96,
        failures={"timeout": 3, "http_5xx": 1},
        gateway=10,
        cost="0.03",
    )
    stats("fal", "nano-banana", p50=8000, p95=12000, samples=50)
    # Two days of samples: 3 of 4 succeed the day before yesterday, 2 of 2 today.
    builders.samples("fal", "flux.2-pro", [20000, 21000, 22000], failed=["timeout"], days_ago=2)
    builders.samples("fal", "nano-banana", [8000, 8100])


def test_a_provider_page_lists_every_offering_with_its_stats(client, fal):
    html = client.get("/providers/fal/").content.decode()
    rows = table(html, "offerings")[1:]
    assert rows[0][:7] == [
        "1",
        "Nano Banana fal-ai/nano-banana",
        "8,000 ms",
        "12,000 ms",
        "100.0% 95% interval 95%–100%",
        "—",
        "50",
    ]
    assert rows[1][:7] == [
        "2",
        "FLUX.2 [pro] fal-ai/flux-2-pro",
        "20,666 ms",
        "39,388 ms",
        "96.0% 95% interval 91%–98%",
        "19,169 ms",
        "100 10 via API",
    ]
    assert rows[1][8] == "$0.03"  # cost per successful image
    # Every fal offering is listed, benchmarked or not.
    assert len(rows) == 12
    page_text = text(html)
    assert "Requests (30 days) 150 10 through our gateway" in page_text
    assert "Success rate 97.3%" in page_text  # 146 of 150


def test_failures_are_broken_down_by_class_with_their_share(client, fal):
    html = client.get("/providers/fal/").content.decode()
    rows = table(html, "failures-caption")
    header, flux = rows[0], rows[1]
    assert header[:4] == ["Model", "Requests", "timeout", "rate_limited"]
    assert flux[0] == "FLUX.2 [pro]"
    assert flux[header.index("timeout")] == "3 3.0%"
    assert flux[header.index("http_5xx")] == "1 1.0%"
    assert flux[header.index("moderated")] == "—"
    assert "timeout: 3 http_5xx: 1" in text(html)


def test_success_over_time_has_a_chart_and_a_daily_table(client, fal):
    html = client.get("/providers/fal/").content.decode()
    assert re.search(r'src="/charts/[0-9a-f]{12}/providers/fal/success.svg"', html)
    rows = table(html, "daily-caption")
    assert [row[1:] for row in rows[1:]] == [["4", "3", "75.0%"], ["2", "2", "100.0%"]]


def test_an_unknown_provider_is_a_404(client):
    builders.catalog()
    response = client.get("/providers/nobody/")
    assert response.status_code == 404
    assert "There is no provider 'nobody'." in text(response.content.decode())


@pytest.fixture
def noodles(client):
    builders.catalog()
    builders.generation("replicate", "flux.2-pro", "man-and-car-in-california")
    builders.generation("fal", "nano-banana-pro", "man-and-car-in-california", colour=(9, 9, 200))
    builders.votes(
        "flux.2-pro",
        "nano-banana-pro",
        a_wins=2,
        b_wins=5,
        ties=1,
        mode="edit",
        challenge_slug="man-and-car-in-california",
    )
    builders.votes(
        "flux.2-pro",
        "seedream-4",
        a_wins=3,
        both_bad=1,
        mode="edit",
        challenge_slug="man-and-car-in-california",
    )
    # Head-to-head counts are written by the ratings refresh, as cron runs it.
    refresh_leaderboards(bootstrap=0)
    return client.get("/challenges/man-and-car-in-california/").content.decode()


def test_a_challenge_page_shows_the_prompt_references_and_every_models_image(noodles):
    page_text = text(noodles)
    assert "Make a photo of the man driving the car down the California coastline" in page_text
    assert 'alt="man portrait"' in noodles and 'alt="red car"' in noodles
    assert "Every model's image (2)" in page_text
    assert "FLUX.2 [pro]'s image for “Man and Car in California”" in noodles
    assert "Nano Banana Pro's image for “Man and Car in California”" in noodles


def test_a_challenge_page_has_that_challenges_head_to_head_results(noodles):
    standings = table(noodles, "standings-caption")
    # FLUX: 2 W 5 L 1 T vs Nano Banana Pro and 3 W 1 both-bad vs Seedream = 5 W, 5 L, 2 ties of 12.
    assert standings[1:] == [
        ["Nano Banana Pro", "8", "5", "2", "1", "69%"],
        ["FLUX.2 [pro]", "12", "5", "5", "2", "50%"],
        ["Seedream 4.0", "4", "0", "3", "1", "12%"],
    ]
    assert "12 blind votes on this challenge." in text(noodles)
