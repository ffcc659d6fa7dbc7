"""The data API: JSON and CSV of the leaderboard, a model and provider stats; the vote export."""

import csv
import io

import pytest

from leaderboard.rating_refresh import write_votes_csv
from tests.pages import builders
from tests.pages.builders import board, stats

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    builders.catalog()
    board(
        {"flux.2-pro": (1150.456, 1120.2, 1180.9), "seedream-4": (1000, 975, 1025)},
        votes={"flux.2-pro": 300, "seedream-4": 40},
        win_rates={"flux.2-pro": 0.62},
        provisional={"seedream-4"},
        notes=["1 models have fewer than 50 votes: provisional."],
    )
    board({"flux.2-pro": (1210, 1190, 1230)}, category="anime", window="30d")
    stats("replicate", "flux.2-pro", p50=17157.25, p95=28771, ttfb=16671, samples=120)
    stats(
        "fal",
        "flux.2-pro",
        p50=20666,
        p95=39388,
        samples=80,
        successes=76,
        failures={"timeout": 3, "http_5xx": 1},
        gateway=12,
        cost="0.031",
    )


def test_the_leaderboard_json_has_every_column_of_the_page(client, site):
    response = client.get("/api/leaderboard?mode=t2i")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    data = response.json()
    assert (data["mode"], data["category"], data["window"]) == ("t2i", None, "all")
    assert data["bootstrap_rounds"] == 1000
    assert data["notes"] == ["1 models have fewer than 50 votes: provisional."]
    assert data["votes_csv"] == "/exports/votes-t2i.csv"
    flux, seedream = data["models"]
    assert flux == {
        "rank": 1,
        "rank_best": 1,
        "rank_worst": 1,
        "model": "flux.2-pro",
        "name": "FLUX.2 [pro]",
        "vendor": "Black Forest Labs",
        "rating": 1150.46,
        "ci_low": 1120.2,
        "ci_high": 1180.9,
        "votes": 300,
        "wins": 186,
        "losses": 114,
        "ties": 0,
        "both_bad": 0,
        "win_rate": 0.62,
        "provisional": False,
        "status": "",
        "price_per_image_usd": "0.015",
        "cheapest_provider": "replicate",
        "p50_generation_ms": 17157.2,
        "fastest_provider": "replicate",
        "pareto_cost": True,
        "pareto_speed": True,
        "url": "/models/flux.2-pro/",
    }
    assert seedream["provisional"] is True and seedream["rank"] == 2
    assert seedream["pareto_cost"] is False  # dearer ($0.03) and rated lower


def test_the_leaderboard_json_follows_category_and_window(client, site):
    data = client.get("/api/leaderboard?mode=t2i&category=anime&window=30d").json()
    assert (data["category"], data["window"]) == ("anime", "30d")
    assert [(m["model"], m["rating"]) for m in data["models"]] == [("flux.2-pro", 1210)]


def test_a_leaderboard_without_votes_is_empty_not_an_error(client, site):
    data = client.get("/api/leaderboard?mode=edit").json()
    assert data["models"] == [] and data["computed_at"] is None


def test_the_leaderboard_csv_has_the_same_rows(client, site):
    response = client.get("/api/leaderboard.csv?mode=t2i")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="leaderboard-t2i-all.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["rank"], r["model"], r["rating"], r["price_per_image_usd"]) for r in rows] == [
        ("1", "flux.2-pro", "1150.46", "0.015"),
        ("2", "seedream-4", "1000.0", "0.03"),
    ]


@pytest.mark.parametrize(
    "url, param, message",
    [
        (
            "/api/leaderboard?mode=xyz",
            "mode",
            'mode: "xyz" is not a valid mode; use one of: t2i, edit.',
        ),
        (
            "/api/leaderboard?window=7y",
            "window",
            'window: "7y" is not a valid window; use one of: all, 30d.',
        ),
        ("/api/leaderboard.csv?category=nope", "category", 'category: There is no category "nope"'),
    ],
)
def test_bad_parameters_are_a_json_400_naming_the_parameter(client, site, url, param, message):
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "invalid_parameter" and body["param"] == param
    assert body["message"].startswith(message)


@pytest.mark.parametrize(
    "url",
    [
        "/api/models/no-such-model",
        "/api/models/no-such-model.csv",
        "/api/providers/stats?model=no-such-model",
    ],
)
def test_unknown_models_are_a_json_404(client, site, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "no-such-model" in response.json()["message"]


def test_the_model_json_has_ratings_offerings_stats_and_matchups(client, site):
    builders.votes(
        "flux.2-pro", "seedream-4", a_wins=3, b_wins=1, ties=1, challenge_slug="neon-noodle-shop"
    )
    data = client.get("/api/models/flux.2-pro").json()
    assert data["modes"] == ["t2i", "edit"] and data["max_output_mp"] == "4.00"
    assert [
        (b["mode"], b["category"], b["window"], b["rank"], b["of"]) for b in data["leaderboards"]
    ] == [
        ("t2i", None, "all", 1, 2),
        ("t2i", "anime", "30d", 1, 1),
    ]
    replicate = next(o for o in data["offerings"] if o["provider"] == "replicate")
    assert replicate["price_per_image_usd"] == "0.015"
    assert replicate["pricing_notes"][0] == "$0.015 per megapixel"
    fal = next(s for s in data["provider_stats"] if s["provider"] == "fal")
    assert (fal["rank"], fal["sample_count"], fal["failures"]) == (
        2,
        80,
        {"timeout": 3, "http_5xx": 1},
    )
    assert data["matchups"] == [
        {
            "opponent": "seedream-4",
            "votes": 5,
            "wins": 3,
            "losses": 1,
            "ties": 1,
            "both_bad": 0,
            "by_challenge": [
                {
                    "challenge": "neon-noodle-shop",
                    "votes": 5,
                    "wins": 3,
                    "losses": 1,
                    "ties": 1,
                    "both_bad": 0,
                }
            ],
        },
    ]


def test_the_model_csv_has_one_row_per_leaderboard(client, site):
    rows = list(
        csv.DictReader(io.StringIO(client.get("/api/models/flux.2-pro.csv").content.decode()))
    )
    assert [(r["mode"], r["category"], r["window"], r["rank"], r["rating"]) for r in rows] == [
        ("t2i", "", "all", "1", "1150.46"),
        ("t2i", "anime", "30d", "1", "1210.0"),
    ]


def test_provider_stats_json_and_csv_rank_a_models_offerings(client, site):
    data = client.get("/api/providers/stats?model=flux.2-pro").json()
    ranked = [(o["rank"], o["offering"], o["generation_p50_ms"]) for o in data["offerings"]]
    assert ranked[:2] == [(1, "replicate/flux.2-pro", 17157.2), (2, "fal/flux.2-pro", 20666)]
    assert all(o["rank"] is None for o in data["offerings"][2:])
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/api/providers/stats.csv?model=flux.2-pro").content.decode())
        )
    )
    fal = next(r for r in rows if r["offering"] == "fal/flux.2-pro")
    assert (fal["success_rate"], fal["failures_timeout"], fal["failures_http_5xx"]) == (
        "0.95",
        "3",
        "1",
    )
    assert fal["cost_per_success_usd"] == "0.031000"
    everything = client.get("/api/providers/stats").json()["offerings"]
    assert len(everything) == 43  # inactive ones too (gpt-image-1's, GPT Image 2.5's)


def test_the_vote_export_streams_the_export_commands_csv(client, site):
    builders.votes(
        "flux.2-pro", "seedream-4", a_wins=2, b_wins=1, challenge_slug="neon-noodle-shop"
    )
    builders.votes("flux.2-pro", "seedream-4", a_wins=4, is_excluded=True)
    response = client.get("/exports/votes-t2i.csv")
    assert response.status_code == 200 and response.streaming
    assert 'filename="pairwise-votes-t2i.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    expected = io.StringIO()
    assert write_votes_csv(expected, mode="t2i") == 3  # the excluded votes stay out
    assert body == expected.getvalue()
    assert body.splitlines()[0] == "model_a,model_b,winner,category,challenge,timestamp"
    assert client.get("/exports/votes-nope.csv").status_code == 404
