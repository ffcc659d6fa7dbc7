import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_home_page_renders_the_catalog_in_chromium(live_server, page, artifacts_dir):
    call_command("loaddata", "catalog", verbosity=0)
    page.goto(live_server.url + "/")
    assert page.title().startswith("Image models")
    rows = page.locator("table.catalog tbody tr")
    assert rows.count() >= 12
    assert page.locator("text=FLUX.2 [pro]").first.is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts_dir / "home-phone.png"), full_page=True)
    # A phone-width page must not scroll sideways as a whole (tables scroll in their wrapper).
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
