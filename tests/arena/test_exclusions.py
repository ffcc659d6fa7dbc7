"""Flagged voters: their votes are kept, left out of the ratings, and can be put back."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from leaderboard.arena import services
from leaderboard.models import ArenaMode, Leaderboard, Rating, Vote, VoterExclusion
from tests.arena.builders import build_arena

pytestmark = pytest.mark.django_db

BOT = "f" * 64
HUMAN = "e" * 64


@pytest.fixture
def world(db):
    """Room for a dozen fresh matchups per voter: 3 pairs x 6 prompts, 3 images each."""
    return build_arena(models=3, challenges=6, images=3)


def cast(voter, outcome="a", *, after_ms=5000):
    matchup = services.serve_matchup(voter=voter, mode=ArenaMode.TEXT_TO_IMAGE)
    return services.record_vote(
        matchup, outcome, voter=voter, now=matchup.served_at + timedelta(milliseconds=after_ms)
    )


@pytest.fixture
def rules(settings):
    settings.ARENA_MIN_VOTE_MS = 1000
    settings.ARENA_FLAGGED_SHARE_PERCENT = 30
    settings.ARENA_FLAG_MIN_VOTES = 5
    return settings


def test_a_voter_whose_flagged_share_passes_the_threshold_has_all_votes_excluded(world, rules):
    for _ in range(3):
        cast(BOT, after_ms=5000)
    cast(BOT, after_ms=100)
    assert not Vote.objects.filter(is_excluded=True).exists()  # 1 of 4: too few votes yet
    cast(BOT, after_ms=100)  # 2 of 5 = 40% > 30%

    votes = Vote.objects.filter(voter=BOT)
    assert votes.count() == 5  # kept
    assert all(v.is_excluded for v in votes)
    exclusion = VoterExclusion.objects.get(voter=BOT)
    assert exclusion.is_automatic and exclusion.is_active and exclusion.excluded_votes == 5
    assert "2 of 5 votes" in exclusion.reason
    assert {v.exclusion_reason for v in votes} == {exclusion.reason}


def test_a_voter_at_the_threshold_is_not_excluded(world, rules):
    for _ in range(7):
        cast(HUMAN)
    for _ in range(3):
        cast(HUMAN, after_ms=10)  # 3 of 10 = 30%, not more
    assert not Vote.objects.filter(is_excluded=True).exists()


def test_votes_of_an_excluded_voter_stay_excluded_as_they_arrive(world, rules):
    services.exclude_voter(BOT, "Scripted voting seen in the logs", by="admin")
    vote = cast(BOT)
    assert vote.is_excluded and vote.exclusion_reason == "Scripted voting seen in the logs"
    assert not cast(HUMAN).is_excluded


def test_every_exclusion_has_a_reason(world):
    with pytest.raises(ValueError):
        services.exclude_voter(BOT, "   ")
    with pytest.raises(ValueError):
        services.include_voter(BOT, "")


def test_a_voter_cannot_be_excluded_twice_at_once(world):
    services.exclude_voter(BOT, "first")
    with pytest.raises(ValueError):
        services.exclude_voter(BOT, "second")
    assert VoterExclusion.objects.filter(voter=BOT).count() == 1


def test_re_including_a_voter_restores_their_votes_and_keeps_the_history(world, rules):
    cast(BOT)
    cast(BOT)
    services.exclude_voter(BOT, "suspicious", by="admin")
    assert services.include_voter(BOT, "checked: a fast but honest voter", by="admin") == 2
    assert not Vote.objects.filter(voter=BOT, is_excluded=True).exists()
    assert set(Vote.objects.values_list("exclusion_reason", flat=True)) == {""}
    exclusion = VoterExclusion.objects.get(voter=BOT)
    assert not exclusion.is_active
    assert (exclusion.reason, exclusion.lift_reason) == (
        "suspicious",
        "checked: a fast but honest voter",
    )


def test_a_voter_an_admin_re_included_is_not_excluded_again_automatically(world, rules):
    for _ in range(5):
        cast(BOT, after_ms=10)
    assert VoterExclusion.objects.get(voter=BOT).is_active
    services.include_voter(BOT, "known power user", by="admin")
    cast(BOT, after_ms=10)
    assert not Vote.objects.filter(voter=BOT, is_excluded=True).exists()


def leaderboard_snapshot() -> dict:
    board = Leaderboard.objects.get(
        mode=ArenaMode.TEXT_TO_IMAGE, category=None, window="all", is_current=True
    )
    return {
        "votes": board.vote_count,
        "rows": sorted(
            Rating.objects.filter(leaderboard=board).values_list(
                "image_model__slug", "rating", "ci_low", "ci_high", "rank", "votes", "wins"
            )
        ),
    }


def backing(model, matchup) -> str:
    """The outcome that favours `model` in `matchup` (a tie when it is not in it)."""
    sides = {
        matchup.generation_a.offering.image_model_id: "a",
        matchup.generation_b.offering.image_model_id: "b",
    }
    return sides.get(model.pk, "tie")


def refresh_ratings():
    # Detection off: these tests are about manual exclusions (test_detection.py has its own).
    call_command("ratings", bootstrap=40, seed=3, no_detect=True, stdout=io.StringIO())


def test_excluding_and_re_including_a_voter_reproduces_the_leaderboard_exactly(world):
    painter_1, painter_2, painter_3 = world.models
    for n in range(40):
        matchup = services.serve_matchup(voter=f"{n % 8:064d}", mode=ArenaMode.TEXT_TO_IMAGE)
        # The crowd mostly backs the better painter (1 > 2 > 3), with upsets and ties.
        a = matchup.generation_a.offering.image_model_id
        b = matchup.generation_b.offering.image_model_id
        outcome = "tie" if n % 7 == 0 else ("a" if (a < b) != (n % 5 == 0) else "b")
        services.record_vote(matchup, outcome, voter=matchup.voter)
    for _ in range(12):
        matchup = services.serve_matchup(voter=BOT, mode=ArenaMode.TEXT_TO_IMAGE)
        services.record_vote(matchup, backing(painter_3, matchup), voter=BOT)

    refresh_ratings()
    with_bot = leaderboard_snapshot()
    services.exclude_voter(BOT, "always backs one model", by="admin")
    refresh_ratings()
    without_bot = leaderboard_snapshot()
    services.include_voter(BOT, "appeal upheld", by="admin")
    refresh_ratings()

    assert without_bot["votes"] == with_bot["votes"] - 12
    assert without_bot != with_bot
    assert leaderboard_snapshot() == with_bot
