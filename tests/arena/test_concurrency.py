"""Double submits arriving at the same instant, against a real threaded server."""

import threading

import httpx
import pytest

from leaderboard.models import Matchup, Vote
from tests.arena.builders import build_arena
from tests.arena.pages import CSRF_INPUT, VOTE_ACTION, prove_over_http

pytestmark = pytest.mark.django_db(transaction=True)
SUBMITS = 8


def start_voter(base_url: str) -> tuple[httpx.Client, str, str]:
    client = httpx.Client(base_url=base_url, timeout=20)
    html = client.get("/arena/").text
    token = CSRF_INPUT.search(html).group(1)
    assert prove_over_http(client, token).status_code == 200
    return client, VOTE_ACTION.search(html).group(1), token


def submit_at_once(base_url, cookies, code, token, outcomes) -> list[int]:
    """POST one vote per outcome, all released by a barrier at the same moment."""
    barrier = threading.Barrier(len(outcomes))
    statuses = [None] * len(outcomes)

    def submit(n, outcome):
        with httpx.Client(base_url=base_url, cookies=cookies, timeout=20) as client:
            barrier.wait()
            statuses[n] = client.post(
                f"/arena/vote/{code}",
                data={"outcome": outcome, "csrfmiddlewaretoken": token},
                headers={"Accept": "application/json", "Referer": base_url + "/arena/"},
            ).status_code

    threads = [threading.Thread(target=submit, args=(n, o)) for n, o in enumerate(outcomes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_simultaneous_submits_of_one_matchup_record_exactly_one_vote(live_server):
    build_arena(models=3, challenges=2)
    for _ in range(3):
        client, code, token = start_voter(live_server.url)
        outcomes = ["a", "b", "tie", "both_bad"] * (SUBMITS // 4)
        statuses = submit_at_once(live_server.url, client.cookies, code, token, outcomes)
        assert sorted(statuses) == [200] + [409] * (SUBMITS - 1), statuses
        assert Vote.objects.filter(matchup__code=code).count() == 1
        client.close()
    assert Vote.objects.count() == 3
    assert Matchup.objects.filter(voted_at__isnull=False).count() == 3


def test_two_tabs_of_one_voter_voting_on_different_matchups_both_count(live_server):
    build_arena(models=3, challenges=2)
    client, first, token = start_voter(live_server.url)
    second = VOTE_ACTION.search(client.get("/arena/").text).group(1)
    for code in (first, second):
        statuses = submit_at_once(live_server.url, client.cookies, code, token, ["a", "a"])
        assert sorted(statuses) == [200, 409]
    assert Vote.objects.count() == 2
