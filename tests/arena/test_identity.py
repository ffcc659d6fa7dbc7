"""Voter identities: issued and signed by the server, paid for with a proof of work."""

import base64
import json

import altcha
import pytest
from django.test import Client

from leaderboard.arena.voters import VOTER_COOKIE, read_identity, salted_hash
from leaderboard.models import Matchup, Vote, VoterIdentity
from tests.arena.pages import open_arena, prove, solve

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def challenge_for(client) -> dict:
    return client.get("/arena/challenge", **JSON).json()["challenge"]


def post_proof(client, payload: str, **extra):
    return client.post("/arena/identity", {"altcha": payload}, **JSON, **extra)


def payload_of(challenge: dict, **changes) -> str:
    data = json.loads(base64.b64decode(solve(challenge)))
    data.update(changes)
    return base64.b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(
    "invented",
    [
        "A" * 43,  # a plain token, as the old cookie was: the client could pick it
        "A" * 43 + ".ok",
        "A" * 43 + ".ok:forgedsignature",
    ],
)
def test_a_voter_cookie_the_client_invented_is_replaced_by_one_the_server_signs(world, invented):
    browser = Client()
    browser.cookies[VOTER_COOKIE] = invented
    response = browser.get("/arena/")
    issued = response.cookies[VOTER_COOKIE].value
    token, is_proven = read_identity(issued)
    assert issued != invented and token != "A" * 43 and not is_proven
    matchup = Matchup.objects.get()
    assert matchup.voter == salted_hash("voter", token)
    assert matchup.voter != salted_hash("voter", "A" * 43)


def test_an_unproven_cookie_cannot_be_turned_into_a_proven_one_by_editing_it(world):
    browser = Client()
    pending = browser.get("/arena/").cookies[VOTER_COOKIE].value
    value, signature = pending.rsplit(":", 1)
    browser.cookies[VOTER_COOKIE] = value.replace(".new", ".ok") + ":" + signature
    page = open_arena(browser)
    response = browser.post(page.vote_url, {"outcome": "a"}, **JSON)
    assert response.status_code == 403 and response.json()["error"] == "proof_required"
    assert not Vote.objects.exists()


def test_a_new_identity_cannot_vote_before_its_proof_of_work(world):
    browser = Client()
    page = open_arena(browser)
    assert 'data-needs-proof="1"' in page.html
    refused = browser.post(page.vote_url, {"outcome": "a"}, **JSON)
    assert refused.status_code == 403
    assert refused.json()["error"] == "proof_required" and "JavaScript" in refused.json()["message"]
    form = browser.post(page.vote_url, {"outcome": "a"})
    assert form.status_code == 403 and "One quick check first" in form.content.decode()
    assert not Vote.objects.exists()

    assert prove(browser).status_code == 200
    assert browser.post(page.vote_url, {"outcome": "a"}, **JSON).status_code == 200
    assert Vote.objects.count() == 1
    assert 'data-needs-proof="1"' not in open_arena(browser).html
    assert challenge_for(browser) is None  # proven: nothing more to solve


def test_the_proof_is_per_identity_not_per_vote(world, voter):
    for _ in range(3):
        page = open_arena(voter)
        assert voter.post(page.vote_url, {"outcome": "b"}, **JSON).status_code == 200
    assert Vote.objects.count() == 3 and VoterIdentity.objects.count() == 1


def test_a_wrong_answer_is_refused(world):
    browser = Client()
    challenge = challenge_for(browser)
    right = json.loads(base64.b64decode(solve(challenge)))["number"]
    response = post_proof(browser, payload_of(challenge, number=right + 1))
    assert response.status_code == 403 and response.json()["error"] == "proof_invalid"
    assert not VoterIdentity.objects.exists()


@pytest.mark.parametrize(
    "payload",
    ["", "not base64!", base64.b64encode(b"[1, 2]").decode(), "x" * 5000],
)
def test_a_malformed_answer_is_refused_with_403(world, payload):
    response = post_proof(Client(), payload)
    assert response.status_code == 403 and response.json()["error"] == "proof_invalid"


def test_a_challenge_the_client_made_itself_is_refused(world):
    browser = Client()
    challenge = challenge_for(browser)
    # Easy to solve and naming the right identity, but signed with a guessed key.
    forged = altcha.create_challenge_v1(max_number=5, hmac_key="guessed", salt=challenge["salt"])
    response = post_proof(browser, solve(forged.to_dict()))
    assert response.status_code == 403
    response = post_proof(browser, payload_of(challenge, signature="0" * 64))
    assert response.status_code == 403
    assert not VoterIdentity.objects.exists()


def test_a_solution_cannot_be_replayed(world):
    browser = Client()
    open_arena(browser)
    pending = browser.cookies[VOTER_COOKIE].value
    payload = solve(challenge_for(browser))
    assert post_proof(browser, payload).status_code == 200
    # The same answer again, from the same (unproven) cookie: one solution, one identity.
    browser.cookies[VOTER_COOKIE] = pending
    replay = post_proof(browser, payload)
    assert replay.status_code == 403 and "already used" in replay.json()["message"]
    assert VoterIdentity.objects.count() == 1


def test_a_solution_for_another_identity_is_refused(world):
    alice, mallory = Client(), Client()
    payload = solve(challenge_for(alice))
    challenge_for(mallory)  # mallory has an identity of her own
    assert post_proof(mallory, payload).status_code == 403
    assert post_proof(alice, payload).status_code == 200


def test_an_expired_challenge_is_refused(world, settings):
    settings.ARENA_POW_EXPIRY_S = -5
    browser = Client()
    response = post_proof(browser, solve(challenge_for(browser)))
    assert response.status_code == 403 and response.json()["error"] == "proof_invalid"


def test_new_identities_are_limited_per_ip(world, settings):
    settings.ARENA_NEW_VOTER_LIMIT_PER_NETWORK = 2
    statuses = [prove(Client(), REMOTE_ADDR="198.51.100.7").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert prove(Client(), REMOTE_ADDR="198.51.100.8").status_code == 200
    assert VoterIdentity.objects.count() == 3


def test_new_identities_are_limited_per_configured_network(world, settings):
    settings.ARENA_NEW_VOTER_LIMIT_PER_NETWORK = 2
    settings.ARENA_NETWORK_PREFIX_V4 = 24
    settings.ARENA_NETWORK_PREFIX_V6 = 64
    ips = ["198.51.100.7", "198.51.100.8", "198.51.100.200"]
    assert [prove(Client(), REMOTE_ADDR=ip).status_code for ip in ips] == [200, 200, 429]
    refused = prove(Client(), REMOTE_ADDR="198.51.100.9")
    assert "new voters came from your network" in refused.json()["message"]
    assert int(refused["Retry-After"]) >= 1
    v6 = ["2001:db8:1:2::1", "2001:db8:1:2::99", "2001:db8:1:2:ffff::5"]
    assert [prove(Client(), REMOTE_ADDR=ip).status_code for ip in v6] == [200, 200, 429]
    assert prove(Client(), REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_only_solved_challenges_count_against_the_network(world, settings):
    settings.ARENA_NEW_VOTER_LIMIT_PER_NETWORK = 1
    for _ in range(3):
        post_proof(Client(), "garbage", REMOTE_ADDR="198.51.100.7")
    assert prove(Client(), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_identities_store_only_hashes(world):
    prove(Client(), REMOTE_ADDR="203.0.113.9")
    row = VoterIdentity.objects.values().get()
    assert "203.0.113" not in str(row)
    assert row["network_hash"] == salted_hash("network", "203.0.113.9/32")
