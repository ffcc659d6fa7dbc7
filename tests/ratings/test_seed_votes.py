"""`manage.py seed_votes N`: N demo votes the arena could have recorded, fast."""

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from leaderboard.models import Challenge, Leaderboard, Vote
from leaderboard.rating_refresh import refresh_leaderboards

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    call_command("loaddata", "catalog", verbosity=0)


def test_seed_votes_writes_n_demo_votes_the_arena_could_have_recorded(catalog):
    out = io.StringIO()
    call_command("seed_votes", "5000", "--days", "30", stdout=out, stderr=io.StringIO())
    assert "5,000 demo votes written" in out.getvalue()
    votes = Vote.objects.all()
    assert votes.count() == 5000
    assert not votes.filter(is_demo=False).exists()
    assert not votes.filter(model_a=F("model_b")).exists()
    challenge_mode = dict(Challenge.objects.values_list("pk", "mode"))
    challenge_category = dict(Challenge.objects.values_list("pk", "category_id"))
    for mode, challenge, category in votes.values_list("mode", "challenge_id", "category_id"):
        assert challenge_mode[challenge] == mode
        assert challenge_category[challenge] == category
    assert set(votes.values_list("outcome", flat=True)) == {"a", "b", "tie", "both_bad"}
    # Many voters, a few of them busy (Zipf-like activity).
    per_voter = Counter(votes.values_list("voter", flat=True))
    assert len(per_voter) > 100
    assert max(per_voter.values()) > 3 * (5000 / len(per_voter))
    # The ratings fit on them.
    refresh_leaderboards(bootstrap=5)
    assert Leaderboard.objects.filter(is_current=True, category=None, window="all").count() == 2


def test_seed_votes_refuses_nonsense_with_a_message(catalog):
    with pytest.raises(CommandError, match="positive"):
        call_command("seed_votes", "0")
    with pytest.raises(CommandError, match="days"):
        call_command("seed_votes", "10", "--days", "0")


def test_seed_votes_without_a_catalog_says_what_to_load():
    with pytest.raises(CommandError, match="catalog"):
        call_command("seed_votes", "10", stderr=io.StringIO())
