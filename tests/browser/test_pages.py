"""The public pages in a real Chromium: sorting, charts under the strict CSP, phone width.

Screenshots land in test-artifacts/: leaderboard.png, model-page.png and their
-phone.png twins at 390 px.
"""

import re

import pytest

from leaderboard.pages.cache import forget_snapshot
from tests.pages import builders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects Content-Security-Policy violations in every document, SVG ones included.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
LOAD_ALL_IMAGES = """() => {
  const images = Array.from(document.images);
  images.forEach(i => { i.loading = 'eager'; });
  return Promise.all(images.map(i => i.decode().catch(() => null)));
}"""
BROKEN_IMAGES = "() => Array.from(document.images).filter(i => !i.naturalWidth).map(i => i.src)"


@pytest.fixture
def site(settings, tmp_path, page):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PAGES_EXPORT_DIR = tmp_path / "exports"
    settings.PAGES_SNAPSHOT_CHECK_S = 0
    forget_snapshot()
    builders.site_with_results()
    # The test server does not serve MEDIA_ROOT (DEBUG is off): answer for it here.
    media = tmp_path / "media"
    page.route(
        re.compile(r".*/media/.*"),
        lambda route: route.fulfill(path=str(media / route.request.url.split("/media/", 1)[1])),
    )
    page.add_init_script(WATCH_CSP)
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    yield errors
    forget_snapshot()


def model_column(page, table="#board"):
    return page.locator(f"{table} tbody tr th").all_inner_texts()


def check_clean(page, errors):
    page.evaluate(LOAD_ALL_IMAGES)
    assert page.evaluate(BROKEN_IMAGES) == []
    assert page.evaluate("window.__csp") == []
    assert [e for e in errors if "Content Security Policy" in e] == []


def check_phone(page, artifacts_dir, name):
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate(LOAD_ALL_IMAGES)
    page.screenshot(path=str(artifacts_dir / name), full_page=True)
    # The page as a whole never scrolls sideways; wide tables scroll in their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_leaderboard_sorts_by_any_column_with_mouse_or_keyboard(live_server, page, site,
                                                                    artifacts_dir):  # fmt: skip
    page.goto(live_server.url + "/leaderboard/?mode=t2i")
    assert page.title().startswith("Text to image leaderboard")
    assert model_column(page)[:2] == ["Nano Banana Pro", "Seedream 4.0 provisional"]

    votes = page.get_by_role("button", name="Votes")
    votes.click()
    heading = page.locator("#board thead th", has=votes)
    assert heading.get_attribute("aria-sort") == "descending"
    assert model_column(page)[0] == "FLUX.2 [pro]"  # 500 votes, the others 200 or fewer
    votes.click()
    assert heading.get_attribute("aria-sort") == "ascending"
    assert model_column(page)[0] == "Seedream 4.0 provisional"  # 40 votes

    page.get_by_role("button", name="Price / image").first.focus()
    page.keyboard.press("Enter")
    assert model_column(page)[0] == "FLUX.2 [pro]"  # $0.015, the cheapest
    page.get_by_role("button", name="Model").first.focus()
    page.keyboard.press("Space")
    assert model_column(page)[:2] == ["FLUX.1 Kontext [pro]", "FLUX.2 [flex]"]
    assert page.locator("p[aria-live=polite]").inner_text() == "Sorted by Model, ascending."

    check_clean(page, site)
    assert page.locator("figure.chart img").count() == 2
    page.screenshot(path=str(artifacts_dir / "leaderboard.png"), full_page=True)
    check_phone(page, artifacts_dir, "leaderboard-phone.png")


def test_the_model_page_shows_every_section_with_its_charts_and_images(live_server, page, site,
                                                                      artifacts_dir):  # fmt: skip
    page.goto(live_server.url + "/models/flux.2-pro/")
    headings = page.locator("h2").all_inner_texts()
    assert len(headings) == 12 and "Same model, different providers" in headings
    assert page.locator("#performance .headline").inner_text() == (
        "Fastest generation through replicate at 17,157ms median latency with 100.0% success rate."
    )
    check_clean(page, site)
    assert page.locator("figure.chart img").count() == 6
    assert page.locator("#gallery img").count() == 1

    # The provider ranking sorts too: by success rate, best first.
    page.locator("#provider-ranking").get_by_role("button", name="Success rate").click()
    assert page.locator("#provider-ranking tbody tr th a").first.inner_text() == "Replicate"

    # Chart data tables open from the keyboard.
    summary = page.locator("details.chart-data summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("details.chart-data").first.get_attribute("open") is not None

    page.screenshot(path=str(artifacts_dir / "model-page.png"), full_page=True)
    check_phone(page, artifacts_dir, "model-page-phone.png")


def test_charts_opened_on_their_own_break_no_content_security_rule(live_server, page, site):
    page.goto(live_server.url + "/models/flux.2-pro/")
    urls = page.locator("figure.chart img").evaluate_all("images => images.map(i => i.src)")
    for url in urls:
        page.goto(url)
        assert page.evaluate("window.__csp") == [], url
    assert [e for e in site if "Content Security Policy" in e] == []


@pytest.mark.parametrize("path", ["/", "/providers/fal/", "/challenges/neon-noodle-shop/"])
def test_other_pages_fit_a_phone_and_keep_the_policy(live_server, page, site, artifacts_dir, path):
    page.goto(live_server.url + path)
    check_clean(page, site)
    assert page.locator("h1").count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_policy_check_would_catch_matplotlibs_own_svg(live_server, page, site, monkeypatch):
    # Guards the test above: without clean_svg, the chart's style attributes are refused.
    from leaderboard.pages import charts

    monkeypatch.setattr(charts, "clean_svg", lambda svg, title="": svg)
    page.goto(live_server.url + "/models/flux.2-pro/")
    url = page.locator("figure.chart img").first.get_attribute("src")
    page.goto(live_server.url + url)
    assert "style-src-attr inline" in page.evaluate("window.__csp")
