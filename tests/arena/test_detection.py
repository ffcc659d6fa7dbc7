"""Detection against the ratings: stuffers excluded with evidence, honest voters kept."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from leaderboard.arena import services
from leaderboard.arena.demo import simulate_crowd
from leaderboard.arena.detection import detect_voters
from leaderboard.models import ArenaMode, Rating, Vote, VoterExclusion, VoterIdentity
from tests.arena.builders import build_arena

pytestmark = pytest.mark.django_db
STUFFER = "5" * 64


@pytest.fixture
def arena(db):
    """Five models over six challenges (four images each, so a stuffer finds enough fresh
    matchups under the arena's no-repeat rules), and an honest (simulated) crowd of 900 votes."""
    world = build_arena(models=5, challenges=6, images=4)
    simulate_crowd(votes=900, seed=3)
    return world


def last_placed(world):
    call_command("ratings", bootstrap=10, no_detect=True, stdout=io.StringIO())
    return Rating.objects.filter(
        leaderboard__is_current=True, leaderboard__category=None, leaderboard__window="all"
    ).order_by("rating")[0]


def stuff(voter: str, model_id: int, votes: int) -> int:
    """Serve `voter` matchups and vote for `model_id` whenever it is in one."""
    cast = 0
    for _ in range(votes * 20):
        matchup = services.serve_matchup(voter=voter, mode=ArenaMode.TEXT_TO_IMAGE)
        if matchup is None:  # nothing fresh left for this voter
            break
        if model_id not in (matchup.model_a_id, matchup.model_b_id):
            continue
        outcome = "a" if matchup.model_a_id == model_id else "b"
        services.record_vote(matchup, outcome, voter=voter)
        cast += 1
        if cast == votes:
            break
    return cast


def issue_identity(voter: str, network: str) -> None:
    VoterIdentity.objects.create(
        voter=voter, network_hash=network, challenge_nonce=voter[:20], created_at=timezone.now()
    )


def test_a_voter_who_always_votes_for_the_last_placed_model_is_excluded_with_evidence(arena):
    target = last_placed(arena)
    assert stuff(STUFFER, target.image_model_id, 15) == 15
    summary = detect_voters()
    assert list(summary.flagged) == [STUFFER]
    exclusion = VoterExclusion.objects.get(voter=STUFFER)
    evidence = exclusion.evidence
    assert exclusion.is_automatic and exclusion.excluded_votes == 15
    assert evidence["rule"] == "favouritism" and evidence["direction"] == "for"
    assert evidence["model"] == target.image_model.slug
    assert evidence["votes"] == evidence["wins"] == 15
    assert evidence["expected"] < 10 and evidence["p_value"] < 1e-4
    assert target.image_model.slug in exclusion.reason and "p = " in exclusion.reason
    assert set(Vote.objects.filter(voter=STUFFER).values_list("is_excluded", flat=True)) == {True}


def test_the_honest_crowd_is_not_excluded(arena):
    summary = detect_voters()
    assert summary.voters_tested >= 50
    assert len(summary.flagged) / summary.voters_tested < 0.01


def test_nine_votes_for_one_model_are_not_enough_to_be_tested(arena):
    target = last_placed(arena)
    stuff(STUFFER, target.image_model_id, 9)
    assert STUFFER not in detect_voters(dry_run=True).flagged


def test_a_bot_spread_over_fresh_identities_from_one_network_is_excluded(arena):
    target = last_placed(arena)
    bots = [f"{n:02d}" + "b" * 62 for n in range(6)]
    for bot in bots:
        issue_identity(bot, network="n" * 64)
        stuff(bot, target.image_model_id, 4)  # each far below the per-voter minimum
    # A neighbour on the same network who voted against the target is kept. (Many honest
    # neighbours dilute the network's votes: rule 3 sees a bot that dominates its network.)
    neighbour = "a" * 64
    issue_identity(neighbour, network="n" * 64)
    for _ in range(10):
        matchup = services.serve_matchup(voter=neighbour, mode=ArenaMode.TEXT_TO_IMAGE)
        if target.image_model_id in (matchup.model_a_id, matchup.model_b_id):
            against = "b" if matchup.model_a_id == target.image_model_id else "a"
            services.record_vote(matchup, against, voter=neighbour)
    summary = detect_voters()
    assert set(summary.flagged) == set(bots)
    evidence = VoterExclusion.objects.get(voter=bots[0]).evidence
    assert evidence["rule"] == "network" and evidence["votes"] >= 24
    assert evidence["network_voters_excluded"] == 6
    assert evidence["velocity"]["identities"] == 7
    assert not VoterExclusion.objects.filter(voter=neighbour).exists()


def test_excluded_voters_can_be_re_included_and_detection_leaves_them_alone(arena):
    target = last_placed(arena)
    stuff(STUFFER, target.image_model_id, 12)
    detect_voters()
    restored = services.include_voter(STUFFER, "Checked: a real fan of this model", by="admin")
    assert restored == 12
    assert not detect_voters().flagged
    assert not Vote.objects.filter(voter=STUFFER, is_excluded=True).exists()
    assert VoterExclusion.objects.get(voter=STUFFER).lift_reason.startswith("Checked")


def test_the_ratings_command_excludes_the_stuffer_before_the_fit(arena):
    target = last_placed(arena)
    before = target.rating
    stuff(STUFFER, target.image_model_id, 25)
    out = io.StringIO()
    call_command("ratings", bootstrap=10, stdout=out)
    assert "1 flagged (1 favouritism)" in out.getvalue()
    after = Rating.objects.get(
        leaderboard__is_current=True,
        leaderboard__category=None,
        leaderboard__window="all",
        image_model=target.image_model,
    )
    assert after.rating == pytest.approx(before)


def test_detect_voters_dry_run_lists_and_changes_nothing(arena):
    target = last_placed(arena)
    stuff(STUFFER, target.image_model_id, 12)
    out = io.StringIO()
    call_command("detect_voters", dry_run=True, stdout=out)
    assert STUFFER[:12] in out.getvalue() and "dry run, nothing changed" in out.getvalue()
    assert not VoterExclusion.objects.exists()


def test_the_admin_lists_exclusions_with_their_evidence(arena, admin_client):
    target = last_placed(arena)
    stuff(STUFFER, target.image_model_id, 12)
    detect_voters()
    listing = admin_client.get("/admin/leaderboard/voterexclusion/").content.decode()
    assert "favouritism" in listing
    exclusion = VoterExclusion.objects.get()
    page = admin_client.get(f"/admin/leaderboard/voterexclusion/{exclusion.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and "p_value" in html and target.image_model.slug in html
