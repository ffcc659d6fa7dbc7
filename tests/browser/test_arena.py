"""The arena in real Chromium: vote by mouse and keyboard, reveal, next, and no JavaScript."""

import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from leaderboard.arena.demo import ensure_demo_generations
from leaderboard.models import Challenge, ImageModel, Vote
from tests.arena.builders import build_arena, use_temporary_media

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
    context = browser.new_context(java_script_enabled=False)
    context.add_cookies(proven_cookies(browser, live_server.url))
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


# The page at the sizes voters use. A desktop must show both images and all four choices
# without scrolling. A phone cannot also fit the site header and the prompt, so there the
# choice bar sticks to the bottom of the screen and the images are sized so that both fit
# above it: at load the choices and the top of the first image are in sight, and one
# scroll to the images shows both whole with the choices still under the thumb.
# 1366x657: what a 1366x768 screen leaves to the page under the browser's own bars.
DESKTOPS = [(1366, 768), (1440, 900), (1366, 657)]
PHONE = (390, 844)
FIXTURE_MEDIA = Path(__file__).resolve().parents[2] / "fixtures" / "media"
CHOICES = ["A is better", "B is better", "Tie", "Both are bad"]


@pytest.fixture
def show_challenge(settings, tmp_path):
    """The real catalog with only `slug` active, and placeholder images of `side` px."""
    use_temporary_media(settings, tmp_path)
    shutil.copytree(FIXTURE_MEDIA, settings.MEDIA_ROOT, dirs_exist_ok=True)
    call_command("loaddata", "catalog", verbosity=0)

    def show(slug: str, side: int = 512) -> Challenge:
        Challenge.objects.exclude(slug=slug).update(is_active=False)
        ensure_demo_generations(side=side)
        return Challenge.objects.get(slug=slug)

    return show


def proven_cookies(browser, base_url):
    """The cookies of a voter whose browser has passed the proof of work."""
    with_script = browser.new_context()
    page = with_script.new_page()
    page.goto(base_url + "/arena/")
    # arena.js solves the proof of work on load and drops the marker once accepted.
    page.wait_for_function("() => !document.querySelector('#arena').dataset.needsProof")
    cookies = with_script.cookies()
    with_script.close()
    return cookies


def open_arena(browser, url, size, *, javascript=True, cookies=()):
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, java_script_enabled=javascript
    )
    context.add_cookies(list(cookies))
    page = context.new_page()
    page.goto(url)
    if javascript:
        ready(page)
    else:
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
    return page


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def is_inside(found: dict, size, bottom: float | None = None) -> bool:
    """Is the box wholly within the viewport (and above `bottom`, when given)?"""
    limit = size[1] if bottom is None else bottom
    return (
        found["x"] >= 0
        and found["y"] >= 0
        and found["x"] + found["width"] <= size[0] + 0.5
        and found["y"] + found["height"] <= limit + 0.5
    )


def choice_buttons(page):
    return [page.get_by_role("button", name=name) for name in CHOICES]


def images(page):
    return [page.locator(f".slot[data-slot={s}] img") for s in "ab"]


@pytest.mark.parametrize("size", DESKTOPS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "slug",
    [
        "modern-clean-menu",  # the longest text-to-image prompt
        "man-and-car-in-california",  # edit, two reference images
        "duchenne-smile-json-edit",  # edit, a 730-character prompt
    ],
)
def test_on_a_desktop_both_images_and_all_four_choices_show_without_scrolling(
    live_server, browser, show_challenge, artifacts_dir, slug, size
):
    challenge = show_challenge(slug)
    path = "/arena/edit/" if challenge.mode == "edit" else "/arena/"
    page = open_arena(browser, live_server.url + path, size)
    page.screenshot(path=str(artifacts_dir / f"arena-{slug}-{size[0]}x{size[1]}.png"))

    for element in images(page) + choice_buttons(page):
        assert is_inside(box(element), size), (element, box(element))
    image_a, image_b = (box(image) for image in images(page))
    # Shown at the same size, and big enough to judge (not squeezed to fit).
    assert (image_a["width"], image_a["height"]) == (image_b["width"], image_b["height"])
    assert image_a["height"] >= 0.3 * size[1], image_a
    if challenge.mode == "edit":
        for reference in page.locator(".references img").all():
            assert is_inside(box(reference), size)
            assert box(reference)["height"] <= 0.12 * size[1]  # small beside the pair
    page.context.close()


def test_on_a_phone_the_choices_stay_in_sight_with_both_images(
    live_server, browser, show_challenge, artifacts_dir
):
    show_challenge("man-and-car-in-california")
    page = open_arena(browser, live_server.url + "/arena/edit/", PHONE)
    page.screenshot(path=str(artifacts_dir / "arena-phone-390x844.png"))
    for button in choice_buttons(page):
        assert is_inside(box(button), PHONE)
    bar_top = box(page.locator("[data-field=choices]"))["y"]
    image_a = box(images(page)[0])
    assert bar_top - image_a["y"] >= image_a["height"] / 3  # a third of A above the bar

    # One scroll to the images: both whole, above the bar, which has not moved.
    page.locator(".pair").evaluate("pair => pair.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(artifacts_dir / "arena-phone-390x844-at-the-images.png"))
    bar_top = box(page.locator("[data-field=choices]"))["y"]
    for image in images(page):
        assert is_inside(box(image), PHONE, bottom=bar_top), box(image)
        assert box(image)["width"] >= 0.8 * PHONE[0]  # as wide as the phone allows
    for button in choice_buttons(page):
        assert is_inside(box(button), PHONE)

    page.keyboard.press("1")
    revealed(page)
    assert is_inside(box(page.get_by_role("link", name="Next matchup")), PHONE)
    page.screenshot(path=str(artifacts_dir / "arena-phone-390x844-revealed.png"))

    page.keyboard.press("n")  # the next matchup, swapped in by the script
    ready(page)
    assert page.locator(".references a img").count() == 2  # the references open larger
    page.context.close()


def test_a_small_image_and_an_off_ratio_one_reach_the_browser_on_one_canvas(
    live_server, browser, settings, tmp_path, artifacts_dir
):
    use_temporary_media(settings, tmp_path)
    settings.ARENA_IMAGE_MAX_SIDE = 1024
    build_arena(models=2, challenges=1, sizes=[(512, 512), (1024, 576)])
    page = open_arena(browser, live_server.url + "/arena/", DESKTOPS[0])
    page.screenshot(path=str(artifacts_dir / "arena-fair-canvas-1366x768.png"))
    natural = [image.evaluate("i => [i.naturalWidth, i.naturalHeight]") for image in images(page)]
    assert natural == [[1024, 1024], [1024, 1024]]
    page.context.close()


def test_without_javascript_no_keyboard_hint_shows_and_the_page_still_fits(
    live_server, browser, arena, artifacts_dir
):
    size = DESKTOPS[0]
    # A voter whose browser passed the proof of work once may vote with the plain form.
    cookies = proven_cookies(browser, live_server.url)
    page = open_arena(browser, live_server.url + "/arena/", size, javascript=False, cookies=cookies)
    page.screenshot(path=str(artifacts_dir / "arena-no-javascript-1366x768.png"))
    assert page.locator(".shortcuts").count() == 1
    assert not page.locator(".shortcuts").is_visible()
    assert [k for k in page.locator("kbd").all() if k.is_visible()] == []
    for element in images(page) + choice_buttons(page):
        assert is_inside(box(element), size)

    page.get_by_role("button", name="A is better").click()
    page.wait_for_url(re.compile(r".*/arena/reveal/.+"))
    page.screenshot(path=str(artifacts_dir / "arena-no-javascript-revealed-1366x768.png"))
    assert [k for k in page.locator("kbd").all() if k.is_visible()] == []
    assert not page.get_by_text("revealed after your vote").is_visible()
    assert is_inside(box(page.get_by_role("link", name="Next matchup")), size)
    page.context.close()


def test_with_javascript_the_keys_are_hinted_and_the_reveal_drops_the_promise(
    live_server, browser, arena, artifacts_dir
):
    size = DESKTOPS[0]
    page = open_arena(browser, live_server.url + "/arena/", size)
    assert page.locator(".shortcuts").is_visible()
    promise = page.get_by_text("The models are revealed after your vote.")
    assert promise.is_visible()

    page.get_by_role("button", name="B is better").click()
    revealed(page)
    page.screenshot(path=str(artifacts_dir / "arena-revealed-1366x768.png"))
    assert not promise.is_visible()
    assert is_inside(box(page.get_by_role("link", name="Next matchup")), size)
    for image in images(page):
        assert is_inside(box(image), size)

    page.keyboard.press("n")
    ready(page)
    assert promise.is_visible()  # blind again, so the promise holds again
    page.context.close()
