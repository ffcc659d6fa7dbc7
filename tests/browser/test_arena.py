"""The arena in real Chromium: vote by mouse and keyboard, reveal, next, and no JavaScript."""

import re

import pytest
from django.core.management import call_command

from leaderboard.arena.demo import ensure_demo_generations
from leaderboard.models import Challenge, ImageModel, Vote
from tests.arena.builders import use_temporary_media

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOWN_CHALLENGES = ["fjord-storm", "chibi-mascot", "neon-noodle-bar"]


@pytest.fixture
def arena(settings, tmp_path):
    """The real catalog with placeholder images for three text-to-image challenges."""
    use_temporary_media(settings, tmp_path)
    call_command("loaddata", "catalog", verbosity=0)
    shown = Challenge.objects.filter(mode="t2i").order_by("slug")[:3]
    Challenge.objects.exclude(pk__in=[c.pk for c in shown]).update(is_active=False)
    ensure_demo_generations(side=384)
    return list(ImageModel.objects.values_list("name", flat=True))


@pytest.fixture
def console_errors(page):
    errors = []

    def record(message):
        # The site has no favicon yet; that 404 is not the arena's.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def names_in(text: str, names: list[str]) -> list[str]:
    return [name for name in names if name in text]


def ready(page):
    page.wait_for_selector("#arena[data-state=ready]")


def revealed(page):
    page.wait_for_selector("#arena[data-state=revealed]")


def test_a_voter_votes_with_the_mouse_and_the_reveal_names_the_models(
    live_server, page, arena, artifacts_dir, console_errors
):
    page.goto(live_server.url + "/arena/")
    ready(page)
    assert names_in(page.content(), arena) == []
    assert page.locator("text=Demo data").is_visible()
    page.screenshot(path=str(artifacts_dir / "arena-vote.png"), full_page=True)

    page.get_by_role("button", name="A is better").click()
    revealed(page)
    vote = Vote.objects.get()
    model_a, model_b = vote.model_a.name, vote.model_b.name
    slot_a, slot_b = page.locator(".slot[data-slot=a]"), page.locator(".slot[data-slot=b]")
    assert model_a in slot_a.inner_text() and model_b in slot_b.inner_text()
    assert (
        slot_a.locator("text=Winner").is_visible()
        and not slot_b.locator("text=Winner").is_visible()
    )
    assert "Not ranked yet" in slot_a.inner_text()
    assert page.locator("text=You preferred A").is_visible()
    page.screenshot(path=str(artifacts_dir / "arena-reveal.png"), full_page=True)
    assert vote.outcome == "a"
    assert console_errors == []


def test_a_voter_votes_with_the_keyboard_and_moves_on_without_a_reload(
    live_server, page, arena, console_errors
):
    page.goto(live_server.url + "/arena/")
    page.evaluate("window.sameDocument = true")
    ready(page)
    first_action = page.get_attribute("#vote-form", "action")
    page.keyboard.press("2")
    revealed(page)
    assert Vote.objects.get().outcome == "b"

    page.keyboard.press("n")
    ready(page)
    assert page.get_attribute("#vote-form", "action") != first_action
    assert names_in(page.locator("#arena").inner_text(), arena) == []  # blind again
    page.keyboard.press("ArrowLeft")
    revealed(page)
    assert page.evaluate("window.sameDocument") is True
    assert list(Vote.objects.order_by("created_at").values_list("outcome", flat=True)) == ["b", "a"]
    assert console_errors == []


def test_next_shows_a_new_matchup_whose_images_were_fetched_during_the_reveal(
    live_server, page, arena
):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/arena/")
    ready(page)
    old_images = [page.get_attribute(f".slot[data-slot={s}] img", "src") for s in "ab"]
    page.get_by_role("button", name="Tie").click()
    revealed(page)
    page.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/arena/image/')).length >= 4"
    )
    prefetched = [
        u for u in requested if "/arena/image/" in u and not u.endswith(tuple(old_images))
    ]
    assert len(prefetched) == 2

    page.get_by_role("link", name="Next matchup").click()
    ready(page)
    new_images = [page.get_attribute(f".slot[data-slot={s}] img", "src") for s in "ab"]
    assert set(new_images).isdisjoint(old_images)
    assert {live_server.url + u for u in new_images} == set(prefetched)
    assert page.locator("[data-field=reveal]").is_hidden()


def test_the_vote_buttons_wait_until_both_images_have_loaded(live_server, page, arena):
    held = []
    page.route(re.compile(r".*/arena/image/[^/]+/b$"), lambda route: held.append(route))
    page.goto(live_server.url + "/arena/", wait_until="domcontentloaded")
    page.wait_for_function("() => document.querySelector('#arena').dataset.state === 'loading'")
    page.wait_for_timeout(300)
    assert held, "image B should be pending"
    assert page.get_by_role("button", name="A is better").is_disabled()
    page.keyboard.press("1")  # shortcuts wait too
    assert Vote.objects.count() == 0

    held[0].continue_()
    ready(page)
    assert page.get_by_role("button", name="A is better").is_enabled()


def test_without_javascript_a_new_voter_sees_the_arena_and_is_told_voting_needs_it(
    live_server, browser, arena
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/arena/")
    # Playwright's text= engine skips <noscript>, so the paragraph is found by tag.
    hint = page.locator("noscript p")
    assert hint.is_visible() and "Voting needs JavaScript" in hint.inner_text()
    assert names_in(page.content(), arena) == []

    page.get_by_role("button", name="B is better").click()
    assert page.locator("text=One quick check first").is_visible()
    assert not Vote.objects.exists()
    context.close()


def test_a_voter_whose_browser_passed_the_check_can_vote_with_the_plain_form(
    live_server, browser, arena
):
    with_script = browser.new_context()
    first = with_script.new_page()
    first.goto(live_server.url + "/arena/")
    # arena.js solves the proof of work on load and drops the marker once accepted.
    first.wait_for_function("() => !document.querySelector('#arena').dataset.needsProof")
    cookies = with_script.cookies()
    with_script.close()

    context = browser.new_context(java_script_enabled=False)
    context.add_cookies(cookies)
    page = context.new_page()
    page.goto(live_server.url + "/arena/")
    first_action = page.get_attribute("#vote-form", "action")
    assert names_in(page.content(), arena) == []
    assert page.locator("noscript p").count() == 0

    page.get_by_role("button", name="B is better").click()
    page.wait_for_url(re.compile(r".*/arena/reveal/.+"))
    vote = Vote.objects.get()
    assert vote.outcome == "b"
    assert vote.model_b.name in page.locator(".slot[data-slot=b]").inner_text()
    assert page.locator("text=You preferred B").is_visible()

    page.get_by_role("link", name="Next matchup").click()
    page.wait_for_url(live_server.url + "/arena/")
    assert page.get_attribute("#vote-form", "action") != first_action
    assert names_in(page.content(), arena) == []
    context.close()
