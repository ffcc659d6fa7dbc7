"""Catalog text set in the admin is data, never markup: not in charts, not in CSV files.

Issue 12: a "$...$" pair in a model name made matplotlib parse mathtext and 46 of 73
chart URLs answered 500; "=HYPERLINK(...)" as a name or "@SUM(1+1)" as a vendor came
out verbatim in /api/leaderboard.csv, a live formula in a spreadsheet.
"""

import csv
import html
import io
import re
import subprocess
import sys

import pytest

from leaderboard.models import ImageModel, Provider
from leaderboard.rating_refresh import write_votes_csv
from leaderboard.ratings import read_votes_csv
from tests.pages import builders
from tests.support import REPO_ROOT

MATH_NAME = r"Seedream $\notacommand{x}$"
FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'
FORMULA_VENDOR = "@SUM(1+1)"


@pytest.fixture
def hostile_site(db):
    builders.site_with_results()
    ImageModel.objects.filter(slug="seedream-4").update(name=MATH_NAME)
    ImageModel.objects.filter(slug="flux.2-pro").update(
        name=r"FLUX $\frac{1}{0}$ $^$", vendor=FORMULA_VENDOR
    )
    ImageModel.objects.filter(slug="imagen-4").update(name=FORMULA_NAME, vendor="-2+3")
    Provider.objects.filter(slug="fal").update(name=r"fal $\undefined$")


def chart_urls(page: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in re.findall(r'src="(/charts/[^"]+)"', page)]


def test_every_chart_answers_with_catalog_names_printed_as_typed(client, hostile_site):
    pages = [
        "/",
        "/leaderboard/?mode=t2i",
        "/leaderboard/?mode=edit",
        "/providers/fal/",
        "/providers/replicate/",
        "/models/flux.2-pro/",
        "/models/seedream-4/",
        "/models/imagen-4/",
    ]
    urls = sorted({url for page in pages for url in chart_urls(client.get(page).content.decode())})
    assert len(urls) >= 10
    drawn = ""
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        drawn += response.content.decode()

    for text in (MATH_NAME, r"FLUX $\frac{1}{0}$ $^$", r"fal $\undefined$"):
        assert html.escape(text, quote=False) in drawn, text


def leaderboard_csv_rows(client) -> list[dict]:
    response = client.get("/api/leaderboard.csv?mode=t2i")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_formula_like_text_in_the_leaderboard_csv_is_quoted(client, hostile_site):
    rows = {row["model"]: row for row in leaderboard_csv_rows(client)}

    assert rows["imagen-4"]["name"] == "'" + FORMULA_NAME
    assert rows["imagen-4"]["vendor"] == "'-2+3"
    assert rows["flux.2-pro"]["vendor"] == "'" + FORMULA_VENDOR
    assert rows["nano-banana"]["name"] == "Nano Banana"  # ordinary text untouched


def test_negative_numbers_in_a_csv_stay_numbers(client, db):
    builders.catalog()
    builders.board({"flux.2-pro": (-12.5, -30.25, 5.0), "seedream-4": (12.5, -5.0, 30.0)})

    rows = {row["model"]: row for row in leaderboard_csv_rows(client)}

    assert (rows["flux.2-pro"]["rating"], rows["flux.2-pro"]["ci_low"]) == ("-12.5", "-30.25")
    assert rows["seedream-4"]["ci_low"] == "-5.0"


def test_no_cell_of_any_csv_the_site_writes_starts_a_formula(client, hostile_site):
    builders.votes("flux.2-pro", "seedream-4", a_wins=2, b_wins=1)
    urls = [
        "/api/leaderboard.csv",
        "/api/leaderboard.csv?mode=edit",
        "/api/models/flux.2-pro.csv",
        "/api/models/imagen-4.csv",
        "/api/providers/stats.csv",
        "/exports/votes-t2i.csv",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for row in csv.reader(io.StringIO(body.decode())):
            for cell in row:
                number = re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", cell)
                assert number or not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (url, cell)


def test_the_vote_export_of_a_slug_starting_with_a_dash_still_reproduces_the_board(db, tmp_path):
    builders.catalog()
    ImageModel.objects.filter(slug="seedream-4").update(slug="-seedream-4")
    builders.votes("flux.2-pro", "-seedream-4", a_wins=3, b_wins=2, ties=1)
    path = tmp_path / "votes.csv"
    with open(path, "w", newline="", encoding="utf-8") as stream:
        assert write_votes_csv(stream, mode="t2i") == 6

    assert "'-seedream-4" in path.read_text()
    assert read_votes_csv(path).models == ("-seedream-4", "flux.2-pro")
    cli = subprocess.run(
        [sys.executable, "-m", "leaderboard.ratings", str(path), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert '"-seedream-4"' in cli.stdout and "'-seedream-4" not in cli.stdout
