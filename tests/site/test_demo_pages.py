"""The demo tells the truth: every provider's protocol is timed, every page says the data
are simulated and none calls them real, and ranks read as places."""

import io
import re
from decimal import Decimal
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from leaderboard.arena import pool
from leaderboard.models import BenchRun, BenchSample, Leaderboard, Rating

pytestmark = [pytest.mark.slow]
HREF = re.compile(r'href="([^"#]+)"')
NOT_CRAWLED = ("/admin/", "/arena/", "/openai/", "/static/", "/media/", "/charts/", "/api/")
NOTICE = 'id="demo-notice"'
REAL = re.compile(r"\breal\b", re.IGNORECASE)
MAX_PAGES = 400


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def crawl_html(client: Client, start=("/", "/methodology/", "/data/")) -> dict[str, str]:
    """Every HTML page reachable from `start` (arena and exports aside), by URL."""
    queue, pages, seen = list(start), {}, set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop()
        path = urlsplit(url).path
        if url in seen or path.startswith(NOT_CRAWLED) or path.startswith("/exports/"):
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or "html" not in response["Content-Type"]:
            continue
        html = response.content.decode()
        pages[url] = html
        for link in HREF.findall(html):
            link = unescape(link)
            if link.startswith("/") or not urlsplit(link).scheme:
                queue.append(urljoin(url, link))
    return pages


@pytest.fixture
def demo(settings, tmp_path, database_url):
    settings.DATABASE_URL = database_url  # the runner (no Django) writes the test database
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARENA_IMAGE_DIR = tmp_path / "arena-images"
    settings.PAGES_SNAPSHOT_CHECK_S = 0
    settings.PAGES_EXPORT_DIR = tmp_path / "exports"
    pool.clear_cache()
    call_command("demo", votes=1500, stdout=io.StringIO())
    pool.clear_cache()


def test_the_demo_times_every_provider_says_its_data_are_simulated_and_ranks_by_rating(demo):
    # Every benchmark run of the demo was answered by the simulator and is marked so.
    assert BenchRun.objects.exists()
    assert not BenchRun.objects.filter(is_simulated=False).exists()
    timed = set(
        BenchSample.objects.filter(status="ok", offering__image_model__slug="flux.2-pro")
        .values_list("offering__provider__slug", flat=True)
        .distinct()
    )
    assert {"replicate", "fal", "bfl"} <= timed

    client = Client()
    model_page = visible_text(client.get("/models/flux.2-pro/").content.decode())
    table = model_page.split("Provider rankings by median generation time")[1].split(
        "generation time distribution"
    )[0]
    for name in ("Replicate", "fal.ai", "Black Forest Labs"):
        row = table.split(name)[1][:200]
        assert "simulated" in row and re.search(r"\d[\d,]* ms", row), (name, row)
    assert "Simulated (loopback)" not in table  # hidden beside the named providers

    pages = crawl_html(client)
    assert len(pages) > 40 and "/methodology/" in pages
    assert any(url.startswith("/providers/") and url != "/providers/" for url in pages)
    without_notice = [url for url, html in pages.items() if html.count(NOTICE) != 1]
    assert without_notice == []
    calls_real = {
        url: [text[max(0, m.start() - 60) : m.end() + 30] for m in REAL.finditer(text)]
        for url, text in ((url, visible_text(html)) for url, html in pages.items())
        if REAL.search(text)
    }
    assert calls_real == {}
    assert "benchmarks the 3 providers" in visible_text(pages["/"])  # OpenAI serves none live
    price = {
        mode: next(
            Decimal(row["price_per_image_usd"])
            for row in client.get(f"/api/leaderboard?mode={mode}").json()["models"]
            if row["model"] == "flux.2-pro"
        )
        for mode in ("t2i", "edit")
    }
    assert price["edit"] > price["t2i"]
    assert_no_leaderboard_puts_more_than_half_of_its_models_at_rank_one()


def assert_no_leaderboard_puts_more_than_half_of_its_models_at_rank_one():
    checked = 0
    for board in Leaderboard.objects.filter(is_current=True):
        ranks = list(
            Rating.objects.filter(leaderboard=board, rating__isnull=False).values_list(
                "rank", flat=True
            )
        )
        if len(ranks) >= 5:
            checked += 1
            assert sum(rank == 1 for rank in ranks) <= len(ranks) / 2, (board, ranks)
    assert checked >= 10
