"""A voter's own leaderboard after 30 votes, beside the public one, and their votes."""

import csv
import io
import re

import pytest

from leaderboard.models import Vote
from leaderboard.rating_refresh import refresh_leaderboards
from tests.arena.builders import build_arena

pytestmark = pytest.mark.django_db


def cast_votes(client, n: int) -> None:
    for k in range(n):
        html = client.get("/arena/").content.decode()
        code = re.search(r"/arena/vote/([A-Za-z0-9_-]{43})", html).group(1)
        # The voter always prefers the left image, except every third vote.
        outcome = "b" if k % 3 == 2 else "a"
        assert client.post(f"/arena/vote/{code}", {"outcome": outcome}).status_code == 303


def test_the_personal_board_appears_after_30_votes_beside_the_public_one(voter, other_voter):
    # 5 models (10 pairs) x 4 challenges: 40 fresh pair-prompts, 4 images each.
    build_arena(models=5, challenges=4, images=4)
    cast_votes(other_voter, 6)
    refresh_leaderboards()
    cast_votes(voter, 29)
    page = voter.get("/arena/me/").content.decode()
    assert "Cast 1 more vote in this arena" in page
    assert 'data-field="personal-t2i"' not in page
    cast_votes(voter, 1)
    page = voter.get("/arena/me/").content.decode()
    assert 'data-field="personal-t2i"' in page and "30 votes</span>" in page
    table = page[page.index('data-field="personal-t2i"') :]
    rows = re.findall(r"<tr><td>(\d+)</td><th scope=\"row\">([^<]+)</th>", table)
    assert len(rows) == 5 and [int(n) for n, _ in rows] == [1, 2, 3, 4, 5]
    intervals = re.findall(r"<td>(\d+) to (\d+)</td>", table)
    assert len(intervals) >= 5  # the voter's intervals (and the public ones, where rated)
    assert all(int(low) <= int(high) for low, high in intervals)
    # Someone else's page knows nothing of these votes.
    theirs = other_voter.get("/arena/me/").content.decode()
    assert "6 votes</span>" in theirs and "Cast 24 more votes" in theirs

    download = voter.get("/arena/me/votes.csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(rows) == 30
    assert {r["winner"] for r in rows} == {"model_a", "model_b"}
    assert Vote.objects.count() == 36


def test_a_new_visitor_sees_how_to_start(client):
    page = client.get("/arena/me/").content.decode()
    assert "You have not voted yet" in page
