"""The operator's view: excluded votes with their reasons, exclusion and re-inclusion."""

import re

import pytest

from leaderboard.arena import services
from leaderboard.models import ArenaMode, Generation, Vote, VoterExclusion
from tests.arena.builders import add_generation, build_arena

pytestmark = pytest.mark.django_db
VOTER = "c" * 64


@pytest.fixture
def votes(world):
    for outcome in ("a", "b", "tie"):
        matchup = services.serve_matchup(voter=VOTER, mode=ArenaMode.TEXT_TO_IMAGE)
        services.record_vote(matchup, outcome, voter=VOTER)
    return Vote.objects.filter(voter=VOTER)


def test_an_admin_excludes_a_voter_by_giving_a_reason(admin_client, votes):
    response = admin_client.post(
        "/admin/leaderboard/voterexclusion/add/",
        {"voter": VOTER, "reason": "Votes from a script, see ticket 41"},
    )
    assert response.status_code == 302
    exclusion = VoterExclusion.objects.get()
    assert (exclusion.created_by, exclusion.excluded_votes, exclusion.is_automatic) == (
        "admin",
        3,
        False,
    )
    assert set(votes.values_list("is_excluded", "exclusion_reason")) == {
        (True, "Votes from a script, see ticket 41")
    }


def test_an_exclusion_without_a_reason_is_refused(admin_client, votes):
    response = admin_client.post(
        "/admin/leaderboard/voterexclusion/add/", {"voter": VOTER, "reason": ""}
    )
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not votes.filter(is_excluded=True).exists()


def test_an_admin_re_includes_a_voter_by_giving_a_lift_reason(admin_client, votes):
    exclusion = services.exclude_voter(VOTER, "looked automated", by="auto")
    response = admin_client.post(
        f"/admin/leaderboard/voterexclusion/{exclusion.pk}/change/",
        {"lift_reason": "Checked by hand: a fast human"},
    )
    assert response.status_code == 302
    exclusion.refresh_from_db()
    assert not exclusion.is_active and exclusion.lifted_by == "admin"
    assert not votes.filter(is_excluded=True).exists()


def test_the_vote_list_shows_flags_and_exclusion_reasons(admin_client, votes):
    services.exclude_voter(VOTER, "ballot stuffing", by="admin")
    html = admin_client.get("/admin/leaderboard/vote/?is_excluded__exact=1").content.decode()
    assert "ballot stuffing" in html and "(excluded)" in html
    assert admin_client.get("/admin/leaderboard/matchup/").status_code == 200
    assert admin_client.get("/admin/leaderboard/voterexclusion/").status_code == 200


def test_votes_cannot_be_edited_or_deleted_in_the_admin(admin_client, votes):
    vote = votes.first()
    admin_client.post(f"/admin/leaderboard/vote/{vote.pk}/delete/", {"post": "yes"})
    assert Vote.objects.filter(pk=vote.pk).exists()
    assert admin_client.get("/admin/leaderboard/vote/add/").status_code == 403


def test_the_arena_pool_page_counts_live_retired_and_needed_images(admin_client, settings):
    settings.ARENA_MAX_IMPRESSIONS = 10
    settings.ARENA_LIVE_IMAGES_TARGET = 4
    world = build_arena(models=2, challenges=1, images=3)
    painter, other = world.models
    mine = [g for g in world.generations if g.offering.image_model_id == painter.pk]
    Generation.objects.filter(pk=mine[0].pk).update(pool="retired", impressions=10)
    Generation.objects.filter(pk=mine[1].pk).update(impressions=4)
    add_generation(world.offerings[0], world.challenges[0], variant=9, pool="showcase")

    html = admin_client.get("/admin/leaderboard/generation/pool/").content.decode()
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", html.replace("\n", "").replace("    ", ""))
    cells = {row.split("</td><td>")[0]: row.split("</td><td>")[2:] for row in rows}
    # Text to image | live | retired | showcase | impressions left | needed
    assert cells[painter.name] == ["Text to image", "2", "1", "1", "16", "<strong>2</strong>"]
    assert cells[other.name] == ["Text to image", "3", "0", "0", "30", "<strong>1</strong>"]
    assert "<strong>3</strong> images needed in all" in html
    changelist = admin_client.get("/admin/leaderboard/generation/").content.decode()
    assert "/admin/leaderboard/generation/pool/" in changelist
