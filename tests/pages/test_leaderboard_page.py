"""The leaderboard page: the right numbers in the right order, filters, the method note."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.pages import builders
from tests.pages.builders import board, stats, table, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_models():
    builders.catalog()
    board(
        {
            "flux.2-pro": (1150.4, 1120.2, 1180.9),
            "nano-banana-pro": (1100, 1070, 1130),
            "seedream-4": (1000, 975, 1025),
        },
        votes={"flux.2-pro": 300, "nano-banana-pro": 250, "seedream-4": 40},
        win_rates={"flux.2-pro": 0.62, "nano-banana-pro": 0.55, "seedream-4": 0.3},
        provisional={"seedream-4"},
        unrated={"imagen-4": 3},
    )
    stats("replicate", "flux.2-pro", p50=17157, p95=28771)
    stats("fal", "flux.2-pro", p50=20666, p95=39388)


def test_the_leaderboard_lists_models_by_rating_with_interval_votes_price_and_speed(
    client, three_models
):
    response = client.get("/leaderboard/?mode=t2i")
    assert response.status_code == 200
    rows = table(response.content.decode(), "board")[1:]
    assert [row[1].split(" provisional")[0] for row in rows] == [
        "FLUX.2 [pro]",
        "Nano Banana Pro",
        "Seedream 4.0",
    ]
    # Rank, model, vendor, rating, interval, votes, win rate, price (via), p50 (via).
    assert rows[0] == [
        "1 could rank anywhere from 1–2",
        "FLUX.2 [pro]",
        "Black Forest Labs",
        "1150",
        "1120–1181",
        "300",
        "62.0%",
        "$0.015 Replicate",
        "17.2 s Replicate",
    ]
    # Seedream: provisional, no timing; three offerings at $0.03, ties go by provider name.
    assert rows[2][1] == "Seedream 4.0 provisional"
    assert rows[2][7] == "$0.03 fal.ai"
    assert rows[2][8] == "—"


def test_rank_is_shown_with_the_range_its_interval_allows(client, three_models):
    rows = table(client.get("/leaderboard/").content.decode(), "board")[1:]
    # FLUX overlaps Nano Banana Pro (1120 < 1130): the rank is the place by rating, and
    # the range says both could be first or second.
    assert rows[0][0] == "1 could rank anywhere from 1–2"
    assert rows[1][0] == "2 could rank anywhere from 1–2"
    # Seedream's whole interval is below both: third, and certainly third.
    assert rows[2][0] == "3"


def test_unrated_models_are_listed_apart_with_their_votes(client, three_models):
    page = text(client.get("/leaderboard/").content.decode())
    assert "Not rated yet Imagen 4: 3 votes (no votes against a rated model)" in page


def test_sort_buttons_sit_in_column_headings_and_cells_carry_raw_values(client, three_models):
    html = client.get("/leaderboard/").content.decode()
    assert html.count('<button type="button" class="sort">') >= 9
    assert 'aria-sort="ascending"' in html
    assert 'data-sort="1150.4"' in html  # the raw rating, not the rounded "1150"
    assert 'data-sort="0.015"' in html
    assert "js/tables.js" in html


def test_a_category_and_window_select_their_own_board(client, three_models):
    board(
        {"flux.2-pro": (1210, 1190, 1230), "imagen-4": (990, 960, 1020)},
        category="anime",
        window="30d",
        win_rates={"flux.2-pro": 0.81},
    )
    response = client.get("/leaderboard/?mode=t2i&category=anime&window=30d")
    html = response.content.decode()
    rows = table(html, "board")[1:]
    assert [row[3] for row in rows] == ["1210", "990"]
    assert rows[0][6] == "81.0%"
    assert "<h1>Text to image leaderboard: Anime &amp; illustration styles</h1>" in html
    assert "Text to image leaderboard: Anime &amp; illustration styles, last 30 days" in html


@pytest.mark.parametrize(
    "query, message",
    [
        ("mode=xyz", 'mode: "xyz" is not a valid mode; use one of: t2i, edit.'),
        ("window=7y", 'window: "7y" is not a valid window; use one of: all, 30d.'),
        ("category=nope", 'category: There is no category "nope"'),
    ],
)
def test_bad_query_parameters_are_a_400_with_a_clear_message(client, three_models, query, message):
    response = client.get(f"/leaderboard/?{query}")
    assert response.status_code == 400
    assert message in text(response.content.decode())


def test_the_method_note_links_the_vote_export_and_shows_the_recompute_commands(
    client, three_models
):
    page = client.get("/leaderboard/?mode=t2i").content.decode()
    assert 'href="/exports/votes-t2i.csv"' in page
    assert "python manage.py export_votes --mode t2i -o votes-t2i.csv" in page
    assert "python -m leaderboard.ratings votes-t2i.csv --bootstrap 1000 --seed 0" in page
    assert "1,000 bootstrap resamples" in text(page)


def test_an_arena_without_votes_invites_visitors_to_vote(client):
    builders.catalog()
    response = client.get("/leaderboard/?mode=edit")
    assert response.status_code == 200
    assert "No votes yet for this leaderboard." in text(response.content.decode())
    assert 'href="/arena/edit/"' in response.content.decode()


def test_ratings_computed_from_votes_order_the_page_like_the_hidden_truth(client):
    builders.catalog()
    truth = {"nano-banana-pro": 1200, "flux.2-pro": 1100, "seedream-4": 1000, "imagen-4": 900}
    builders.crowd_votes(truth, 800, seed=4)
    call_command("ratings", bootstrap=50, seed=1, stdout=io.StringIO())
    rows = table(client.get("/leaderboard/").content.decode(), "board")[1:]
    assert [row[1] for row in rows] == [
        "Nano Banana Pro",
        "FLUX.2 [pro]",
        "Seedream 4.0",
        "Imagen 4",
    ]
    assert sum(int(row[5].replace(",", "")) for row in rows) == 2 * 800


def test_edit_boards_price_edits_with_the_reference_image_billed(client):
    builders.catalog()
    for mode in ("t2i", "edit"):
        board(
            {"flux.2-pro": (1150, 1120, 1180), "seedream-4": (1000, 975, 1025)},
            mode=mode,
        )
    prices = {}
    for mode in ("t2i", "edit"):
        data = client.get(f"/api/leaderboard?mode={mode}").json()
        prices[mode] = {row["model"]: row for row in data["models"]}
    flux_t2i, flux_edit = prices["t2i"]["flux.2-pro"], prices["edit"]["flux.2-pro"]
    # Replicate, $0.015 per MP: 1 MP out; an edit adds one 1 MP reference at $0.015.
    assert Decimal(flux_t2i["price_per_image_usd"]) == Decimal("0.015")
    assert Decimal(flux_edit["price_per_image_usd"]) == Decimal("0.03")
    assert flux_t2i["cheapest_provider"] == flux_edit["cheapest_provider"] == "replicate"
    # Per-image rules bill no references: the same price in both arenas.
    assert Decimal(prices["edit"]["seedream-4"]["price_per_image_usd"]) == Decimal("0.03")
    html = client.get("/leaderboard/?mode=edit").content.decode()
    assert "a 1024×1024 output with 1 reference image of 1 MP billed" in text(html)


def test_the_speed_column_uses_the_boards_own_mode_where_samples_allow(client):
    from django.utils import timezone

    from leaderboard.models import BenchSample, Offering

    builders.catalog()
    for mode in ("t2i", "edit"):
        board({"flux.2-pro": (1150, 1120, 1180), "seedream-4": (1000, 975, 1025)}, mode=mode)
    stats("replicate", "flux.2-pro", p50=17157, p95=28771)
    stats("fal", "flux.2-pro", p50=20666, p95=39388)
    now = timezone.now()
    for provider, edit_ms in (("replicate", 30_000), ("fal", 25_000)):
        offering = Offering.objects.get(provider__slug=provider, image_model__slug="flux.2-pro")
        for n in range(5):
            BenchSample.objects.create(
                offering=offering, mode="edit", status="ok", generation_ms=edit_ms + n,
                started_at=now - timedelta(hours=n + 1),
            )  # fmt: skip
    rows = {}
    for mode in ("t2i", "edit"):
        data = client.get(f"/api/leaderboard?mode={mode}").json()
        rows[mode] = {row["model"]: row for row in data["models"]}
    # Text to image: no t2i samples, so the offerings' overall stats (Replicate fastest).
    assert rows["t2i"]["flux.2-pro"]["p50_generation_ms"] == 17157
    assert rows["t2i"]["flux.2-pro"]["fastest_provider"] == "replicate"
    # Editing: five edits each, and fal's are the faster.
    assert rows["edit"]["flux.2-pro"]["p50_generation_ms"] == 25002
    assert rows["edit"]["flux.2-pro"]["fastest_provider"] == "fal"
