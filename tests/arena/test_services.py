"""Serving, the matchup access rule and recording votes, at the service level."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leaderboard.arena import pool, services
from leaderboard.arena.errors import (
    AlreadyVoted,
    InvalidVote,
    MatchupExpired,
    MatchupNotFound,
    MatchupNotVoted,
)
from leaderboard.models import ArenaMode, Leaderboard, Matchup, Vote
from tests.arena.builders import build_arena

ALICE = "a" * 64
BOB = "b" * 64

pytestmark = pytest.mark.django_db


def serve(voter=ALICE, mode=ArenaMode.TEXT_TO_IMAGE, **kwargs):
    return services.serve_matchup(voter=voter, mode=mode, **kwargs)


def test_serving_stores_a_matchup_of_two_models_with_an_unguessable_code(world):
    before = timezone.now()
    matchup = serve()
    assert len(matchup.code) == 43
    assert matchup.voter == ALICE
    assert (
        matchup.generation_a.challenge_id
        == matchup.generation_b.challenge_id
        == matchup.challenge_id
    )
    assert (
        matchup.generation_a.offering.image_model_id != matchup.generation_b.offering.image_model_id
    )
    assert before <= matchup.served_at <= timezone.now()
    assert matchup.expires_at - matchup.served_at == timedelta(minutes=30)
    assert matchup.voted_at is None
    assert serve().code != matchup.code


def test_matchup_expiry_is_configurable(world, settings):
    settings.ARENA_MATCHUP_EXPIRY_S = 90
    matchup = serve()
    assert matchup.expires_at - matchup.served_at == timedelta(seconds=90)


def test_an_arena_without_images_serves_nothing(db):
    assert serve() is None


def test_deprecated_models_and_inactive_challenges_are_never_served(db):
    world = build_arena(models=3, challenges=2)
    deprecated = world.models[0]
    deprecated.is_active = False
    deprecated.save()
    retired = world.challenges[1]
    retired.is_active = False
    retired.save()
    for n in range(30):
        matchup = serve(voter=f"{n:064d}")
        models = {
            matchup.generation_a.offering.image_model_id,
            matchup.generation_b.offering.image_model_id,
        }
        assert deprecated.pk not in models
        assert matchup.challenge_id != retired.pk


def test_a_voter_is_never_served_an_image_again_and_then_gets_nothing_rather_than_a_repeat(
    world,
):
    # 3 pairs x 2 prompts: six fresh matchups (12 different images) for one voter.
    served = [serve() for _ in range(6)]
    shown = [g for m in served for g in (m.generation_a_id, m.generation_b_id)]
    assert len(set(shown)) == 12
    pair_prompts = {(m.challenge_id, frozenset((m.model_a_id, m.model_b_id))) for m in served}
    assert len(pair_prompts) == 6
    assert serve() is None
    assert serve(voter="f" * 64) is not None  # another voter still gets one


def test_a_category_arena_serves_only_that_categorys_challenges(db):
    build_arena(models=2, challenges=2, category="portraiture")
    food = build_arena(models=2, challenges=1, category="food")
    for n in range(10):
        assert serve(category="food", voter=f"{n:064d}").challenge_id == food.challenges[0].pk
    assert serve(category="no-such-category") is None


def test_the_open_matchup_is_returned_to_the_voter_it_was_served_to(world):
    matchup = serve()
    assert services.get_open_matchup(matchup.code, ALICE) == matchup


@pytest.mark.parametrize(
    "code",
    [
        "",
        "short",
        "x" * 44,
        "../../etc/passwd-aaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "a" * 42 + "/",
        None,
        12,
    ],
)
def test_malformed_codes_are_not_found(world, code):
    with pytest.raises(MatchupNotFound):
        services.get_open_matchup(code, ALICE)


def test_a_well_formed_but_forged_code_is_not_found(world):
    serve()
    with pytest.raises(MatchupNotFound):
        services.get_open_matchup("A" * 43, ALICE)


def test_someone_elses_matchup_is_not_found_rather_than_forbidden(world):
    matchup = serve(voter=ALICE)
    with pytest.raises(MatchupNotFound):
        services.get_open_matchup(matchup.code, BOB)
    with pytest.raises(MatchupNotFound):
        services.get_voted_matchup(matchup.code, BOB)


def test_a_voted_matchup_is_closed_but_its_images_stay_visible_to_its_voter(world):
    matchup = serve()
    services.record_vote(matchup, "a", voter=ALICE)
    with pytest.raises(AlreadyVoted):
        services.get_open_matchup(matchup.code, ALICE)
    assert services.get_open_matchup(matchup.code, ALICE, allow_voted=True) == matchup
    with pytest.raises(MatchupNotFound):
        services.get_open_matchup(matchup.code, BOB, allow_voted=True)


def test_a_matchup_closes_at_its_expiry(world):
    matchup = serve()
    with pytest.raises(MatchupExpired):
        services.get_open_matchup(matchup.code, ALICE, now=matchup.expires_at)
    just_before = matchup.expires_at - timedelta(microseconds=1)
    assert services.get_open_matchup(matchup.code, ALICE, now=just_before) == matchup


def test_an_unvoted_matchup_is_never_revealed(world):
    matchup = serve()
    with pytest.raises(MatchupNotVoted):
        services.get_voted_matchup(matchup.code, ALICE)
    services.record_vote(matchup, "tie", voter=ALICE)
    assert services.get_voted_matchup(matchup.code, ALICE).vote.outcome == "tie"


def test_a_vote_names_the_models_on_each_side_and_the_challenge(world):
    matchup = serve()
    vote = services.record_vote(matchup, "b", voter=ALICE)
    vote.refresh_from_db()
    assert vote.model_a_id == matchup.generation_a.offering.image_model_id
    assert vote.model_b_id == matchup.generation_b.offering.image_model_id
    assert (vote.outcome, vote.mode, vote.voter) == ("b", "t2i", ALICE)
    assert vote.challenge_id == matchup.challenge_id
    assert vote.category_id == matchup.challenge.category_id
    assert not vote.is_excluded and not vote.is_demo
    assert Matchup.objects.get(pk=matchup.pk).voted_at == vote.created_at


def test_a_second_vote_on_the_same_matchup_is_rejected_and_records_nothing(world):
    matchup = serve()
    stale_copy = Matchup.objects.get(pk=matchup.pk)
    services.record_vote(matchup, "a", voter=ALICE)
    with pytest.raises(AlreadyVoted):
        services.record_vote(stale_copy, "b", voter=ALICE)
    assert Vote.objects.get().outcome == "a"


def test_an_expired_matchup_takes_no_vote(world):
    matchup = serve()
    with pytest.raises(MatchupExpired):
        services.record_vote(
            matchup, "a", voter=ALICE, now=matchup.expires_at + timedelta(seconds=1)
        )
    assert not Vote.objects.exists()
    assert Matchup.objects.get(pk=matchup.pk).voted_at is None


def test_a_vote_for_someone_elses_matchup_records_nothing(world):
    matchup = serve(voter=ALICE)
    with pytest.raises(MatchupNotFound):
        services.record_vote(matchup, "a", voter=BOB)
    assert not Vote.objects.exists()


@pytest.mark.parametrize("outcome", ["", "A", "c", "draw", None])
def test_only_the_four_outcomes_are_votes(world, outcome):
    with pytest.raises(InvalidVote):
        services.record_vote(serve(), outcome, voter=ALICE)
    assert not Vote.objects.exists()


def test_a_vote_faster_than_the_minimum_is_recorded_but_flagged(world, settings):
    settings.ARENA_MIN_VOTE_MS = 2000
    quick = serve()
    vote = services.record_vote(
        quick, "a", voter=ALICE, now=quick.served_at + timedelta(milliseconds=400)
    )
    assert (vote.is_flagged, vote.decision_ms, vote.is_excluded) == (True, 400, False)
    slow = serve()
    vote = services.record_vote(slow, "a", voter=ALICE, now=slow.served_at + timedelta(seconds=5))
    assert (vote.is_flagged, vote.decision_ms) == (False, 5000)


def test_the_sampler_weighs_pairs_by_the_current_leaderboard_or_else_by_vote_counts(world):
    for n in range(9):
        matchup = serve(voter=f"{n:064d}")
        services.record_vote(matchup, "a", voter=matchup.voter)
    before = pool.arena_catalog(ArenaMode.TEXT_TO_IMAGE)
    assert not before.has_leaderboard
    assert all(not s.is_rated for s in before.standings.values())
    assert sum(s.votes for s in before.standings.values()) == 2 * 9

    call_command("ratings", bootstrap=20, stdout=io.StringIO())
    after = pool.arena_catalog(ArenaMode.TEXT_TO_IMAGE)
    board = Leaderboard.objects.get(mode="t2i", category=None, window="all", is_current=True)
    for rating in board.ratings.all():
        standing = after.standings[rating.image_model_id]
        assert (standing.ci_low, standing.ci_high, standing.votes) == (
            rating.ci_low,
            rating.ci_high,
            rating.votes,
        )


def _columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_matchup_and_vote_the_services_return_are_their_stored_rows(world):
    # The hot path writes with plain SQL; what it hands back must be the row as the ORM
    # would load it: every column equal, nothing deferred, and saving updates that row.
    served = serve()
    fetched = services.get_open_matchup(served.code, ALICE)
    vote = services.record_vote(fetched, "a", voter=ALICE)

    for instance in (served, fetched, vote):
        stored = type(instance).objects.get(pk=instance.pk)
        expected = _columns(stored)
        if instance is not vote:
            expected["voted_at"] = instance.voted_at  # the vote came after it was read
        assert _columns(instance) == expected
        assert instance.get_deferred_fields() == set()
    vote.exclusion_reason = "checked"
    vote.save(update_fields=["exclusion_reason"])
    assert Vote.objects.get().exclusion_reason == "checked"
    assert Vote.objects.count() == 1
