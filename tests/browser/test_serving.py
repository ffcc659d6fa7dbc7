"""The serving arena, the personal leaderboard and the playground in real Chromium."""

import pytest
from django.core.management import call_command

from bench.simulator import SimulatorThread
from leaderboard.arena.demo import ensure_demo_generations
from leaderboard.arena.serving_demo import DEMO_PROVIDERS, ensure_serving_demo_generations
from leaderboard.models import Challenge, Provider, ServingVote, Vote
from leaderboard.rating_refresh import refresh_leaderboards
from tests.arena.builders import use_temporary_media
from tests.gateway.builders import PROVIDER_KEY_ENVS, quick_profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PROVIDER_NAMES = ["Simulated (loopback)", *DEMO_PROVIDERS.values()]


@pytest.fixture
def catalog(settings, tmp_path, monkeypatch):
    """The real catalog on three text-to-image challenges, the real keys unset."""
    for name in PROVIDER_KEY_ENVS:
        monkeypatch.delenv(name, raising=False)
    use_temporary_media(settings, tmp_path)
    call_command("loaddata", "catalog", verbosity=0)
    shown = Challenge.objects.filter(mode="t2i").order_by("slug")[:3]
    Challenge.objects.exclude(pk__in=[c.pk for c in shown]).update(is_active=False)


def test_a_serving_vote_reveals_the_two_providers(live_server, page, catalog, artifacts_dir):
    ensure_serving_demo_generations(seeds=2)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/arena/serving/")
    page.wait_for_selector("#arena[data-state=ready]")
    blind = page.locator("#arena").inner_text()
    assert [name for name in PROVIDER_NAMES if name in blind] == []
    assert page.locator("text=same prompt, seed, size and format").is_visible()
    page.screenshot(path=str(artifacts_dir / "serving-arena-vote.png"), full_page=True)

    page.get_by_role("button", name="B is better").click()
    page.wait_for_selector("#arena[data-state=revealed]")
    vote = ServingVote.objects.select_related("offering_a__provider", "offering_b__provider").get()
    slot_a, slot_b = page.locator(".slot[data-slot=a]"), page.locator(".slot[data-slot=b]")
    assert vote.offering_a.provider.name in slot_a.inner_text()
    assert vote.offering_b.provider.name in slot_b.inner_text()
    assert vote.offering_a.provider_id != vote.offering_b.provider_id
    assert slot_b.locator("text=Winner").is_visible()
    assert page.locator("text=You preferred B").is_visible()
    page.screenshot(path=str(artifacts_dir / "serving-arena-reveal.png"), full_page=True)
    assert vote.outcome == "b" and errors == []


def test_the_personal_leaderboard_appears_after_30_votes(live_server, page, catalog, artifacts_dir):
    ensure_demo_generations(side=256, arena_images=3)
    page.goto(live_server.url + "/arena/")
    for n in range(30):
        page.wait_for_selector("#arena[data-state=ready]")
        page.keyboard.press("1" if n % 3 else "2")
        page.wait_for_selector("#arena[data-state=revealed]")
        if n == 28:
            page.goto(live_server.url + "/arena/me/")
            assert page.locator("text=Cast 1 more vote in this arena").is_visible()
            page.goto(live_server.url + "/arena/")
        else:
            page.keyboard.press("n")
    assert Vote.objects.count() == 30
    refresh_leaderboards()
    page.goto(live_server.url + "/arena/me/")
    table = page.locator("[data-field=personal-t2i]")
    assert table.is_visible()
    rows = table.locator("tbody tr")
    assert rows.count() >= 5
    assert " to " in rows.first.inner_text()  # the voter's 95% interval, and the public one
    page.screenshot(path=str(artifacts_dir / "personal-leaderboard.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_text("Download your votes (CSV)").click()
    lines = open(download.value.path()).read().splitlines()
    assert lines[0].startswith("model_a,model_b,winner") and len(lines) == 31


def test_a_playground_run_with_four_models_shows_times_and_costs(
    live_server, page, catalog, artifacts_dir, settings
):
    settings.ARENA_POW_MAX_NUMBER = 2000
    with SimulatorThread(profile=quick_profile()) as simulator:
        Provider.objects.filter(slug="simulated").update(base_url=simulator.base_url)
        page.goto(live_server.url + "/playground/")
        page.fill("#prompt", "A lighthouse at dawn, photographed on film")
        for slug in ("flux.2-pro", "nano-banana", "seedream-4", "qwen-image"):
            page.check(f"input[data-kind=model][value='{slug}']")
        page.get_by_role("button", name="Generate").click()
        page.wait_for_function(
            "() => document.querySelectorAll('.result[data-state=done]').length === 4",
            timeout=30000,
        )
        captions = page.locator(".result figcaption").all_inner_texts()
        assert len(captions) == 4
        for caption in captions:
            assert "TTFB" in caption and "generation" in caption and "$" in caption
            assert " ms" in caption and "Simulated (loopback)" in caption
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.result img'))"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        page.screenshot(path=str(artifacts_dir / "playground-four-models.png"), full_page=True)
