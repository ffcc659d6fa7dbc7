"""`manage.py ratings` and `export_votes`: stored leaderboards agree with the engine and the CLI."""

import io
import json
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leaderboard import ratings
from leaderboard.models import Category, ImageModel, Leaderboard, Rating, Vote
from tests.support import REPO_ROOT

pytestmark = pytest.mark.django_db

TRUE_RATINGS = {"flux.2-pro": 1150, "nano-banana-pro": 1100, "seedream-4": 1000, "imagen-4": 900}


def cast_votes(n, *, seed=1, mode="t2i", category=None, age_days=0, voter="crowd"):
    """Votes drawn from TRUE_RATINGS (Bradley-Terry), with 10% ties and 5% both-bad."""
    rng = np.random.default_rng(seed)
    models = {m.slug: m for m in ImageModel.objects.filter(slug__in=TRUE_RATINGS)}
    slugs = list(TRUE_RATINGS)
    created = timezone.now() - timedelta(days=age_days, seconds=n)
    votes = []
    for k in range(n):
        a, b = rng.choice(len(slugs), size=2, replace=False)
        p_a = 1 / (1 + 10 ** ((TRUE_RATINGS[slugs[b]] - TRUE_RATINGS[slugs[a]]) / 400))
        draw = rng.random()
        outcome = (
            "tie"
            if draw < 0.10
            else "both_bad"
            if draw < 0.15
            else ("a" if rng.random() < p_a else "b")
        )
        votes.append(
            Vote(
                model_a=models[slugs[a]],
                model_b=models[slugs[b]],
                outcome=outcome,
                mode=mode,
                category=category,
                voter=f"{voter}-{k % 7}",
                created_at=created + timedelta(seconds=k),
            )
        )
    Vote.objects.bulk_create(votes)
    return votes


@pytest.fixture
def catalog():
    call_command("loaddata", "catalog", verbosity=0)


def current(mode="t2i", window="all", category=None):
    board = Leaderboard.objects.get(mode=mode, window=window, category=category, is_current=True)
    return {r.image_model.slug: r for r in board.ratings.select_related("image_model")}


def test_stored_ratings_equal_the_engine_on_the_same_votes(catalog):
    votes = cast_votes(600)
    call_command("ratings", bootstrap=200, seed=3, stdout=io.StringIO())
    stored = current()
    expected = ratings.rate(
        [v.model_a.slug for v in votes],
        [v.model_b.slug for v in votes],
        [v.outcome for v in votes],
        bootstrap=200,
        seed=3,
    )
    assert set(stored) == set(TRUE_RATINGS)
    for row in expected.rows:
        assert stored[row.model].rating == pytest.approx(row.rating, abs=1e-9)
        assert stored[row.model].ci_low == pytest.approx(row.ci_low, abs=1e-9)
        assert stored[row.model].rank == row.rank
        assert stored[row.model].rank_best == row.rank_best
        assert stored[row.model].rank_worst == row.rank_worst
        assert stored[row.model].votes == row.votes
    # The order follows the hidden true ratings on 600 votes.
    order = sorted(stored, key=lambda slug: -stored[slug].rating)
    assert order == list(TRUE_RATINGS)


def test_the_vote_export_recomputes_to_the_same_leaderboard_with_the_cli(catalog, tmp_path):
    cast_votes(400)
    call_command("ratings", bootstrap=100, seed=5, stdout=io.StringIO())
    export = tmp_path / "votes.csv"
    call_command("export_votes", mode="t2i", output=str(export), stderr=io.StringIO())
    header = export.read_text().splitlines()[0]
    assert header == "model_a,model_b,winner,category,challenge,timestamp"
    assert "crowd" not in export.read_text()  # no voter ids leave the database
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leaderboard.ratings",
            str(export),
            "--bootstrap",
            "100",
            "--seed",
            "5",
            "--json",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    stored = current()
    for row in json.loads(result.stdout)["ratings"]:
        assert row["rating"] == pytest.approx(stored[row["model"]].rating, abs=0.01)
        assert row["ci_low"] == pytest.approx(stored[row["model"]].ci_low, abs=0.01)
        assert row["ci_high"] == pytest.approx(stored[row["model"]].ci_high, abs=0.01)
        assert row["rank"] == stored[row["model"]].rank


def test_excluded_votes_are_left_out_and_reincluding_them_reproduces_the_board(catalog):
    # Detection off: this is about a manual exclusion (detection has its own tests).
    cast_votes(300, seed=2)
    call_command("ratings", bootstrap=50, no_detect=True, stdout=io.StringIO())
    before = {slug: r.rating for slug, r in current().items()}
    # A troll who always votes for imagen-4.
    imagen, flux = (
        ImageModel.objects.get(slug="imagen-4"),
        ImageModel.objects.get(slug="flux.2-pro"),
    )
    Vote.objects.bulk_create(
        Vote(
            model_a=imagen,
            model_b=flux,
            outcome="a",
            mode="t2i",
            voter="troll",
            created_at=timezone.now(),
        )
        for _ in range(200)
    )
    call_command("ratings", bootstrap=50, no_detect=True, stdout=io.StringIO())
    assert current()["imagen-4"].rating > before["imagen-4"] + 50
    Vote.objects.filter(voter="troll").update(is_excluded=True, exclusion_reason="one-sided bot")
    call_command("ratings", bootstrap=50, no_detect=True, stdout=io.StringIO())
    after = {slug: r.rating for slug, r in current().items()}
    assert after == before
    assert Vote.objects.filter(voter="troll").count() == 200  # kept, not deleted


def test_category_and_thirty_day_boards_use_only_their_votes(catalog):
    portraits = Category.objects.get(slug="portraiture")
    cast_votes(200, seed=4, category=portraits)
    cast_votes(200, seed=5, age_days=60)
    call_command("ratings", bootstrap=20, stdout=io.StringIO())
    assert sum(r.votes for r in current(category=portraits).values()) == 2 * 200
    assert sum(r.votes for r in current(window="30d").values()) == 2 * 200
    assert sum(r.votes for r in current().values()) == 2 * 400
    assert (
        Leaderboard.objects.get(mode="t2i", window="all", category=None, is_current=True).vote_count
        == 400
    )


def test_an_empty_arena_gives_empty_boards_not_errors(catalog):
    out = io.StringIO()
    call_command("ratings", bootstrap=10, stdout=out)
    assert "0 votes" in out.getvalue()
    assert Rating.objects.count() == 0
    assert Leaderboard.objects.filter(is_current=True, category=None).count() == 4


def test_the_overall_board_keeps_an_online_elo_history(catalog):
    cast_votes(300, seed=6)
    call_command("ratings", bootstrap=10, stdout=io.StringIO())
    history = current()["flux.2-pro"].elo_history
    assert len(history) > 10
    assert history[-1][1] > 1000  # the strongest model climbs above the start
    assert history[0][0] <= history[-1][0]


def test_old_computations_are_pruned(catalog):
    cast_votes(50, seed=7)
    for _ in range(5):
        call_command("ratings", bootstrap=5, keep=2, stdout=io.StringIO())
    assert Leaderboard.objects.values("computed_at").distinct().count() == 2


def test_the_export_can_stop_at_the_moment_a_board_was_fitted(catalog):
    from leaderboard.rating_refresh import write_votes_csv

    cast_votes(100, seed=8)
    call_command("ratings", bootstrap=5, stdout=io.StringIO())
    fitted_at = Leaderboard.objects.filter(is_current=True).first().computed_at
    cast_votes(30, seed=9, age_days=-1)  # arrive after the fit
    assert write_votes_csv(io.StringIO(), mode="t2i") == 130
    assert write_votes_csv(io.StringIO(), mode="t2i", until=fitted_at) == 100


def test_the_export_rows_name_each_votes_models_winner_category_challenge_and_time(catalog):
    import csv

    from leaderboard.rating_refresh import EXPORT_WINNER, write_votes_csv

    cast_votes(40, seed=10)
    moments = [
        timezone.now().replace(microsecond=0),  # stored without a fraction on SQLite
        timezone.now().replace(microsecond=7),
    ]
    votes = list(Vote.objects.filter(mode="t2i").order_by("pk")[:2])
    for vote, moment in zip(votes, moments, strict=True):
        Vote.objects.filter(pk=vote.pk).update(created_at=moment - timedelta(days=400))
    stream = io.StringIO()
    with CaptureQueriesContext(connection):  # Django's debug cursor, as with DEBUG on
        assert write_votes_csv(stream, mode="t2i") == 40
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    expected = [
        {
            "model_a": vote.model_a.slug,
            "model_b": vote.model_b.slug,
            "winner": EXPORT_WINNER[vote.outcome],
            "category": vote.category.slug if vote.category else "",
            "challenge": vote.challenge.slug if vote.challenge else "",
            "timestamp": vote.created_at.isoformat(timespec="microseconds"),
        }
        for vote in Vote.objects.filter(mode="t2i").order_by("created_at", "pk")
    ]
    assert rows == expected
    assert rows[0]["timestamp"].endswith(".000000+00:00")
    assert rows[1]["timestamp"].endswith(".000007+00:00")
