"""The home page: both arenas' leaders, the money chart, the fastest offerings, the catalog."""

import pytest

from tests.pages import builders
from tests.pages.builders import table, text

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_the_top_of_both_arenas_and_the_catalog(client):
    builders.site_with_results()
    html = client.get("/").content.decode()
    t2i = table(html, "home-t2i")[1:]
    assert len(t2i) == 10
    # Rank, model, rating with its interval, price (the compact table has no vendor).
    assert t2i[0][:4] == ["1", "Nano Banana Pro", "1340 95% interval 1337–1343", "$0.15"]
    edit = table(html, "home-edit")[1:]
    assert edit[-1][:3] == ["9", "FLUX.2 [pro]", "1190 95% interval 1187–1193"]
    assert "/landscape/cost.svg?mode=t2i" in html and "/landscape/speed.svg?mode=t2i" in html
    page_text = text(html)
    assert "Fastest offerings right now" in page_text
    assert "Nano Banana Pro fal.ai 9,000 ms 100.0% 50" in page_text


def test_the_catalog_table_shows_each_models_cheapest_computed_price(client):
    builders.catalog()
    html = client.get("/").content.decode()
    row = next(r for r in table(html, "catalog-caption") if r[0].startswith("FLUX.2 [pro]"))
    # Cheapest 1024x1024 offering of FLUX.2 [pro]: Replicate's $0.015 per megapixel.
    assert row[-1] == "$0.015"
    assert "No text-to-image votes yet." in text(html)


def test_every_index_page_lists_the_catalog(client):
    builders.catalog()
    assert "15 models" in text(client.get("/models/").content.decode())
    # The simulated provider is not listed beside the named ones.
    providers = text(client.get("/providers/").content.decode())
    assert "4 providers" in providers and "Simulated" not in providers
    challenges = text(client.get("/challenges/").content.decode())
    assert "Image editing (8)" in challenges and "Text to image (18)" in challenges
    assert "/api/leaderboard" in client.get("/data/").content.decode()


def test_security_headers_are_set(client):
    response = client.get("/healthz")
    assert response.json() == {"ok": True}
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
