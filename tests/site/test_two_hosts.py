"""Two application servers, one PostgreSQL: the web tier shares nothing else.

Votes spread across both hosts are all recorded, none twice; a voter's rate limit and an
API key's are counted once across both; sessions (the voter's identity and proof of
work) carry from one host to the other; a new snapshot shows on both within
PAGES_SNAPSHOT_CHECK_S.
"""

import concurrent.futures
import os
import subprocess
import sys
import time

import httpx
import pytest
from django.db import connection
from django.utils import timezone

from leaderboard.models import ApiKey, Matchup, Vote
from tests.arena.builders import build_arena, use_temporary_media
from tests.arena.pages import CSRF_INPUT, solve
from tests.gateway.builders import create_key_with_command
from tests.pages.builders import board
from tests.servers import django_database_url, production_server, site_environment
from tests.support import REPO_ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="more than one host means PostgreSQL: SQLite cannot be shared between machines",
    ),
]

VOTE_LIMIT = 5
VOTERS = 3
ATTEMPTS = 8  # per voter: more than VOTE_LIMIT, fewer than twice it
API_LIMIT = 4
SNAPSHOT_CHECK_S = 2


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """collectstatic once for the module: DEBUG=0 pages need WhiteNoise's manifest."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "collect", "ALLOWED_HOSTS": "x"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO_ROOT, env={**env, "STATIC_ROOT": str(root)}, check=True,
    )  # fmt: skip
    return root


@pytest.fixture
def two_hosts(transactional_db, settings, tmp_path, static_root):
    use_temporary_media(settings, tmp_path)
    build_arena(models=3, challenges=4, images=4)  # 12 fresh matchups per voter
    env = site_environment(
        tmp_path,
        django_database_url(connection.settings_dict),
        LOG_LEVEL="WARNING",
        ARENA_POW_MAX_NUMBER="500",
        ARENA_MIN_VOTE_MS="0",
        ARENA_VOTE_LIMIT_PER_VOTER=str(VOTE_LIMIT),
        ARENA_VOTE_LIMIT_PER_IP="0",
        ARENA_SERVE_LIMIT_PER_IP="0",
        ARENA_NEW_VOTER_LIMIT_PER_NETWORK="0",
        PAGES_SNAPSHOT_CHECK_S=str(SNAPSHOT_CHECK_S),
        STATIC_ROOT=str(static_root),
    )
    with production_server(env) as first, production_server(env) as second:
        yield first, second


def new_voter(first: str, second: str) -> tuple[httpx.Client, str]:
    """A browser: the arena page from one host, its proof of work paid on the other."""
    client = httpx.Client(timeout=30)
    token = CSRF_INPUT.search(client.get(first + "/arena/").text).group(1)
    challenge = client.get(second + "/arena/challenge").json()["challenge"]
    proven = client.post(
        second + "/arena/identity",
        data={"altcha": solve(challenge)},
        headers={"Accept": "application/json", "X-CSRFToken": token},
    )
    assert proven.status_code == 200, proven.text
    return client, token


def vote_everywhere(client, token, hosts, vote_url):
    """The same vote sent to every host at once (a double click across a load balancer)."""
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
        sent = [
            pool.submit(client.post, host + vote_url, data={"outcome": "a"}, headers=headers)
            for host in hosts
        ]
        return [future.result() for future in sent]


def cast_votes(first: str, second: str) -> dict[str, int]:
    """Each voter alternates hosts; every other vote goes to both hosts at once."""
    tally = {"acknowledged": 0, "duplicates": 0, "limited": 0, "other": 0}
    hosts = [first, second]
    for number in range(VOTERS):
        client, token = new_voter(hosts[number % 2], hosts[(number + 1) % 2])
        try:
            served = client.get(
                first + "/arena/next?mode=t2i", headers={"Accept": "application/json"}
            )
            matchup = served.json()["matchup"]
            for attempt in range(ATTEMPTS):
                targets = hosts if attempt % 2 else [hosts[attempt % 4 // 2]]
                answers = vote_everywhere(client, token, targets, matchup["vote_url"])
                statuses = sorted(answer.status_code for answer in answers)
                tally["acknowledged"] += statuses.count(200)
                tally["duplicates"] += statuses.count(409)
                tally["limited"] += statuses.count(429)
                tally["other"] += len([s for s in statuses if s not in (200, 409, 429)])
                accepted = [answer for answer in answers if answer.status_code == 200]
                if accepted:
                    matchup = accepted[0].json()["next"]
        finally:
            client.close()
    return tally


def test_votes_spread_over_two_hosts_are_counted_once_and_limited_once(two_hosts):
    first, second = two_hosts

    tally = cast_votes(first, second)

    # Each voter's limit holds across both hosts (a per-process count would let twice as
    # many through): the vote requests it let pass, recorded or refused as a duplicate.
    assert tally["acknowledged"] + tally["duplicates"] == VOTERS * VOTE_LIMIT, tally
    assert tally["limited"] > 0 and tally["duplicates"] > 0, tally
    assert tally["other"] == 0, tally
    # 0 lost, 0 double: every acknowledged vote is one row, on its own matchup.
    assert Vote.objects.count() == tally["acknowledged"]
    assert Vote.objects.values("matchup_id").distinct().count() == tally["acknowledged"]
    assert Matchup.objects.filter(voted_at__isnull=False).count() == tally["acknowledged"]


def test_an_api_key_s_rate_limit_is_counted_once_across_hosts(two_hosts):
    first, second = two_hosts
    key = create_key_with_command("two-hosts")
    ApiKey.objects.update(rate_limit_per_minute=API_LIMIT)
    headers = {"Authorization": f"Bearer {key}"}

    statuses = [
        httpx.get(host + "/openai/v1/models", headers=headers, timeout=30).status_code
        for host in [first, second] * API_LIMIT
    ]

    assert sorted(statuses) == [200] * API_LIMIT + [429] * API_LIMIT


def test_a_new_snapshot_shows_on_both_hosts_within_the_check_interval(two_hosts):
    hosts = list(two_hosts)
    board({"painter-1": (1200, 1190, 1210)}, computed_at=timezone.now())
    before = {host: httpx.get(host + "/api/leaderboard", timeout=30).headers["ETag"]
              for host in hosts}  # fmt: skip

    board({"painter-1": (1300, 1290, 1310)}, computed_at=timezone.now())  # a new ratings run
    published = time.monotonic()
    seen_after: dict[str, float] = {}
    while len(seen_after) < len(hosts) and time.monotonic() - published < SNAPSHOT_CHECK_S + 5:
        for host in hosts:
            etag = httpx.get(host + "/api/leaderboard", timeout=30).headers["ETag"]
            if host not in seen_after and etag != before[host]:
                seen_after[host] = time.monotonic() - published
        time.sleep(0.1)

    assert set(seen_after) == set(hosts)
    assert max(seen_after.values()) <= SNAPSHOT_CHECK_S + 0.5, seen_after
