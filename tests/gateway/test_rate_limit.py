"""The per-key rate limit is a token bucket: no double burst across a minute boundary.

Issue 12: with fixed one-minute windows and a limit of 20, 40 requests passed in about
one second (20 just before the boundary, 20 just after).
"""

import pytest

from leaderboard.gateway.auth import check_rate_limit, create_key
from leaderboard.gateway.errors import RateLimited


def allowed(key, times) -> int:
    count = 0
    for now_s in times:
        try:
            check_rate_limit(key, now_s=now_s)
            count += 1
        except RateLimited:
            pass
    return count


@pytest.fixture
def key(db):
    return create_key("burst", rate_limit_per_minute=20)[0]


def test_no_second_burst_just_after_a_minute_boundary(key):
    boundary = 1_800_000_000.0  # a multiple of 60
    before = [boundary - 0.5 + i * 0.01 for i in range(20)]
    after = [boundary + 0.5 + i * 0.01 for i in range(20)]

    assert allowed(key, before) == 20
    assert allowed(key, after) <= 1


@pytest.mark.parametrize("start", [1_800_000_000.0, 1_800_000_031.7])
def test_a_steady_client_gets_the_limit_per_minute_and_no_more(key, start):
    times = [start + i * 0.25 for i in range(4 * 600)]  # 4 requests a second for 10 min

    passed = allowed(key, times)

    assert 20 * 10 <= passed <= 20 * 10 + 20  # the rate, plus one initial burst


def test_no_sixty_second_span_holds_more_than_twice_the_limit_and_no_second_more_than_it(key):
    times = [1_800_000_000.0 + i * 0.05 for i in range(20 * 180)]  # 20 a second, 3 min
    passed = []
    for now_s in times:
        try:
            check_rate_limit(key, now_s=now_s)
            passed.append(now_s)
        except RateLimited:
            pass

    for i, first in enumerate(passed):
        assert sum(1 for t in passed[i:] if t < first + 1.0) <= 21
        assert sum(1 for t in passed[i:] if t < first + 60.0) <= 40


def test_a_refused_request_says_when_to_come_back(key):
    for i in range(20):
        check_rate_limit(key, now_s=1_800_000_000.0 + i * 0.001)

    with pytest.raises(RateLimited) as caught:
        check_rate_limit(key, now_s=1_800_000_000.1)

    assert caught.value.headers["Retry-After"] == "3"  # one request refills in 3 s
    assert caught.value.headers["x-ratelimit-remaining-requests"] == "0"
