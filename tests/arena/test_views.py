"""The arena over HTTP: the vote flow, refusals with clear statuses, limits, CSRF."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from leaderboard.arena import services
from leaderboard.arena.errors import RateLimited
from leaderboard.arena.ratelimit import check_rate
from leaderboard.arena.voters import VOTER_COOKIE, client_ip, read_identity, salted_hash
from leaderboard.models import ArenaMode, Matchup, Vote
from tests.arena.builders import build_arena
from tests.arena.pages import open_arena, prove, read_page, solve

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def test_the_arena_page_shows_a_prompt_two_images_and_four_choices(world):
    response = Client().get("/arena/")
    page = read_page(response)
    assert response.status_code == 200
    assert VOTER_COOKIE in response.cookies and response.cookies[VOTER_COOKIE]["httponly"]
    assert page.code and page.csrf_token
    assert world.challenges[0].prompt in page.html or world.challenges[1].prompt in page.html
    assert page.image_urls == [f"/arena/image/{page.code}/a", f"/arena/image/{page.code}/b"]
    for label in ("A is better", "B is better", "Tie", "Both are bad"):
        assert label in page.html
    token, is_proven = read_identity(response.cookies[VOTER_COOKIE].value)
    assert Matchup.objects.get(code=page.code).voter == salted_hash("voter", token)
    assert not is_proven


def test_a_plain_form_vote_redirects_to_the_reveal_which_names_the_models(world, voter):
    page = open_arena(voter)
    response = voter.post(page.vote_url, {"outcome": "a"})
    assert response.status_code == 303
    assert response["Location"] == f"/arena/reveal/{page.code}"

    reveal = voter.get(response["Location"])
    matchup = Matchup.objects.get(code=page.code)
    model_a = matchup.generation_a.offering.image_model
    model_b = matchup.generation_b.offering.image_model
    html = reveal.content.decode()
    assert reveal.status_code == 200
    assert model_a.name in html and model_b.name in html and model_a.vendor in html
    assert "Testprov Cloud" in html
    assert f"You preferred A: {model_a.name}." in html
    assert 'href="/arena/"' in html  # Next matchup
    assert Vote.objects.get().outcome == "a"


def test_a_fetch_vote_gets_the_reveal_as_json(world, voter):
    page = open_arena(voter)
    response = voter.post(page.vote_url, {"outcome": "both_bad"}, **JSON)
    data = response.json()
    matchup = Matchup.objects.get(code=page.code)
    assert response.status_code == 200 and data["recorded"] is True
    assert [s["model"] for s in data["reveal"]["slots"]] == [
        matchup.generation_a.offering.image_model.name,
        matchup.generation_b.offering.image_model.name,
    ]
    assert [s["is_winner"] for s in data["reveal"]["slots"]] == [False, False]
    assert data["reveal"]["slots"][0]["position"] == "Not ranked yet in text to image"


def test_a_fetch_vote_also_brings_the_next_blind_matchup(world, voter):
    page = open_arena(voter)
    data = voter.post(page.vote_url, {"outcome": "a"}, **JSON).json()
    upcoming = data["next"]
    assert upcoming["code"] != page.code
    assert upcoming["vote_url"] == f"/arena/vote/{upcoming['code']}"
    assert [s["image_url"] for s in upcoming["slots"]] == [
        f"/arena/image/{upcoming['code']}/a",
        f"/arena/image/{upcoming['code']}/b",
    ]
    assert Matchup.objects.get(code=upcoming["code"]).voted_at is None
    assert voter.post(upcoming["vote_url"], {"outcome": "b"}, **JSON).status_code == 200


def test_a_vote_over_the_serving_limit_still_counts_but_brings_no_next_matchup(
    world, voter, settings
):
    settings.ARENA_SERVE_LIMIT_PER_VOTER = 1
    page = open_arena(voter)
    data = voter.post(page.vote_url, {"outcome": "a"}, **JSON).json()
    assert data["recorded"] is True and data["next"] is None
    assert Vote.objects.count() == 1 and Matchup.objects.count() == 1


def test_the_reveal_shows_the_current_leaderboard_position(world, voter):
    for n in range(12):
        matchup = services.serve_matchup(voter=f"{n:064d}", mode=ArenaMode.TEXT_TO_IMAGE)
        services.record_vote(matchup, "a", voter=matchup.voter)
    call_command("ratings", bootstrap=20, stdout=io.StringIO())
    page = open_arena(voter)
    data = voter.post(page.vote_url, {"outcome": "a"}, **JSON).json()
    positions = [slot["position"] for slot in data["reveal"]["slots"]]
    assert all(p.startswith("#") and p.endswith("of 3 in text to image") for p in positions), (
        positions
    )


def test_the_category_picker_restricts_the_challenges(db, voter):
    build_arena(models=2, challenges=2, category="portraiture")
    food = build_arena(models=2, challenges=1, category="food")
    page = open_arena(voter, "/arena/?category=food")
    assert Matchup.objects.get(code=page.code).challenge == food.challenges[0]
    assert 'value="food" selected' in page.html
    response = voter.post(page.vote_url, {"outcome": "a", "category": "food"})
    assert response["Location"] == f"/arena/reveal/{page.code}?category=food"
    assert 'href="/arena/?category=food"' in voter.get(response["Location"]).content.decode()


def test_an_unknown_category_says_so_instead_of_serving(world, voter):
    page = open_arena(voter, "/arena/?category=underwater-basket-weaving")
    assert page.code is None and "no category called" in page.html
    assert not Matchup.objects.exists()


def test_the_edit_arena_shows_reference_images_under_matchup_urls(db, voter):
    build_arena(models=2, challenges=1, mode=ArenaMode.EDIT)
    page = open_arena(voter, "/arena/edit/")
    assert f"/arena/image/{page.code}/ref0" in page.image_urls
    image = voter.get(f"/arena/image/{page.code}/ref0")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"


def test_an_empty_arena_explains_itself(db, voter):
    page = open_arena(voter)
    assert page.code is None and "no images to compare yet" in page.html


def test_the_next_matchup_endpoint_serves_json_for_the_script(world, voter):
    data = voter.get("/arena/next?mode=t2i", **JSON).json()["matchup"]
    assert data["vote_url"] == f"/arena/vote/{data['code']}"
    assert [s["label"] for s in data["slots"]] == ["A", "B"]
    assert voter.get("/arena/next?mode=video").status_code == 404


def test_a_replayed_vote_is_refused_with_409_and_records_nothing(world, voter):
    page = open_arena(voter)
    voter.post(page.vote_url, {"outcome": "a"})
    response = voter.post(page.vote_url, {"outcome": "b"})
    assert response.status_code == 409 and "Already voted" in response.content.decode()
    assert voter.post(page.vote_url, {"outcome": "b"}, **JSON).json()["error"] == "already_voted"
    assert list(Vote.objects.values_list("outcome", flat=True)) == ["a"]


def test_an_expired_matchup_is_refused_with_410(world, voter):
    page = open_arena(voter)
    Matchup.objects.filter(code=page.code).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = voter.post(page.vote_url, {"outcome": "a"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not Vote.objects.exists()


def test_a_forged_matchup_id_is_refused_with_404(world, voter):
    open_arena(voter)
    for code in ["A" * 43, "nope", "A" * 44]:
        response = voter.post(f"/arena/vote/{code}", {"outcome": "a"})
        assert response.status_code == 404, code
        assert "No such matchup" in response.content.decode()
    assert not Vote.objects.exists()


def test_someone_elses_matchup_is_refused_with_404_for_vote_reveal_and_images(
    world, voter, other_voter
):
    page = open_arena(voter)
    open_arena(other_voter)
    assert other_voter.post(page.vote_url, {"outcome": "a"}).status_code == 404
    assert other_voter.get(f"/arena/image/{page.code}/a").status_code == 404
    voter.post(page.vote_url, {"outcome": "a"})
    assert other_voter.get(f"/arena/reveal/{page.code}").status_code == 404
    assert Vote.objects.count() == 1


def test_a_voter_without_a_session_cannot_vote(world, voter):
    page = open_arena(voter)
    assert Client().post(page.vote_url, {"outcome": "a"}).status_code == 404
    assert not Vote.objects.exists()


def test_the_reveal_of_an_unvoted_matchup_is_refused(world, voter):
    page = open_arena(voter)
    response = voter.get(f"/arena/reveal/{page.code}")
    assert response.status_code == 403
    matchup = Matchup.objects.get(code=page.code)
    assert matchup.generation_a.offering.image_model.name not in response.content.decode()


@pytest.mark.parametrize("data", [{}, {"outcome": "c"}, {"outcome": "A"}])
def test_an_invalid_outcome_is_refused_with_400(world, voter, data):
    page = open_arena(voter)
    assert voter.post(page.vote_url, data).status_code == 400
    assert not Vote.objects.exists()


def test_a_vote_without_the_csrf_token_is_refused(world):
    browser = Client(enforce_csrf_checks=True)
    page = open_arena(browser)
    challenge = browser.get("/arena/challenge").json()["challenge"]
    without_token = browser.post("/arena/identity", {"altcha": solve(challenge)})
    assert without_token.status_code == 403 and "CSRF" in without_token.content.decode()
    assert prove(browser).status_code == 200
    assert browser.post(page.vote_url, {"outcome": "a"}).status_code == 403
    assert not Vote.objects.exists()
    accepted = browser.post(page.vote_url, {"outcome": "a", "csrfmiddlewaretoken": page.csrf_token})
    assert accepted.status_code == 303
    assert Vote.objects.count() == 1


def test_voting_is_rate_limited_per_voter_with_a_friendly_429(world, voter, settings):
    settings.ARENA_VOTE_LIMIT_PER_VOTER = 2
    pages = [open_arena(voter) for _ in range(3)]
    assert [voter.post(p.vote_url, {"outcome": "a"}).status_code for p in pages[:2]] == [303, 303]
    refused = voter.post(pages[2].vote_url, {"outcome": "a"})
    assert refused.status_code == 429
    assert "Slow down" in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert voter.post(pages[2].vote_url, {"outcome": "a"}, **JSON).json()["error"] == "rate_limited"
    assert Vote.objects.count() == 2


def test_serving_is_rate_limited_per_voter(world, voter, settings):
    settings.ARENA_SERVE_LIMIT_PER_VOTER = 3
    assert [voter.get("/arena/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert voter.get("/arena/next?mode=t2i", **JSON).status_code == 429
    assert Matchup.objects.count() == 3
    assert Client().get("/arena/").status_code == 200  # another voter is unaffected


def test_serving_is_rate_limited_per_ip_across_voter_sessions(world, settings):
    settings.ARENA_SERVE_LIMIT_PER_IP = 3
    statuses = [Client().get("/arena/", REMOTE_ADDR="198.51.100.7").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert Client().get("/arena/", REMOTE_ADDR="198.51.100.8").status_code == 200


def test_limits_reset_with_the_window(world, settings):
    settings.ARENA_VOTE_LIMIT_PER_VOTER = 1
    check_rate("vote", voter="v", ip_hash="i", now_s=1_000_000)
    with pytest.raises(RateLimited):
        check_rate("vote", voter="v", ip_hash="i", now_s=1_000_001)
    check_rate("vote", voter="v", ip_hash="i", now_s=1_000_000 + 60)


def test_a_limit_of_zero_turns_the_limit_off(world, voter, settings):
    settings.ARENA_SERVE_LIMIT_PER_VOTER = 0
    settings.ARENA_SERVE_LIMIT_PER_IP = 0
    assert {voter.get("/arena/").status_code for _ in range(5)} == {200}


def test_x_forwarded_for_is_trusted_only_from_configured_proxies(settings):
    settings.ARENA_TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = {"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(via_proxy) == "203.0.113.9"
    # The client can write anything left of what our proxies appended.
    spoofed = {"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.9, 10.0.0.8"}
    assert client_ip(spoofed) == "203.0.113.9"
    direct = {"REMOTE_ADDR": "198.51.100.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(direct) == "198.51.100.1"
    settings.ARENA_TRUSTED_PROXIES = []
    assert client_ip(via_proxy) == "10.1.2.3"


def test_ips_are_stored_only_as_salted_hashes(world, settings):
    settings.ARENA_TRUSTED_PROXIES = ["10.0.0.1"]
    Client().get("/arena/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    matchup = Matchup.objects.get()
    assert matchup.ip_hash == salted_hash("ip", "203.0.113.9")
    assert "203.0.113" not in str(Matchup.objects.values().get())
    settings.ARENA_IP_HASH_SALT = "another salt"
    assert salted_hash("ip", "203.0.113.9") != matchup.ip_hash


def test_pages_say_demo_data_when_demo_votes_exist(world, voter):
    assert "Demo data" not in open_arena(voter).html
    matchup = services.serve_matchup(voter="d" * 64, mode=ArenaMode.TEXT_TO_IMAGE)
    services.record_vote(matchup, "a", voter="d" * 64, is_demo=True)
    assert "Demo data" in open_arena(voter).html


def test_a_voter_who_has_seen_everything_is_told_so(world, client):
    for _ in range(6):
        assert client.get("/arena/").status_code == 200
    html = client.get("/arena/").content.decode()
    assert "You have seen every image this arena can show you for now" in html
    assert "no images to compare yet" not in html
