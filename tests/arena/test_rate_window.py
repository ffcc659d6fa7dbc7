"""The arena's limits count over a sliding window: no double burst at a window edge.

Issue 12: with fixed windows, a full burst just before the edge and another just after
it both passed (twice the limit within a second).
"""

import pytest

from leaderboard.arena.errors import RateLimited
from leaderboard.arena.ratelimit import check_rate


def passed(times, *, voter="v1", ip_hash="ip1") -> int:
    count = 0
    for now_s in times:
        try:
            check_rate("vote", voter=voter, ip_hash=ip_hash, now_s=now_s)
            count += 1
        except RateLimited:
            pass
    return count


@pytest.fixture
def limits(db, settings):
    settings.ARENA_RATE_WINDOW_S = 60
    settings.ARENA_VOTE_LIMIT_PER_VOTER = 20
    settings.ARENA_VOTE_LIMIT_PER_IP = 0


def test_no_second_burst_just_after_a_window_edge(limits):
    edge = 1_800_000_000.0  # a multiple of 60
    assert passed([edge - 0.5 + i * 0.01 for i in range(20)]) == 20

    assert passed([edge + 0.5 + i * 0.01 for i in range(20)]) == 0


def test_hits_stop_counting_one_window_after_they_were_made(limits):
    edge = 1_800_000_000.0
    assert passed([edge - 0.5 + i * 0.01 for i in range(20)]) == 20

    assert passed([edge + 30 + i * 0.01 for i in range(20)]) == 0
    assert passed([edge + 59.6 + i * 0.01 for i in range(20)]) == 20


def test_a_steady_voter_gets_about_the_limit_per_window(limits):
    times = [1_800_000_000.0 + 7.3 + i * 0.5 for i in range(2 * 600)]  # 2 a second, 10 min

    assert 20 * 10 * 0.9 <= passed(times) <= 20 * 10 + 20  # the weighting is conservative


def test_a_refused_vote_says_when_to_come_back(limits):
    edge = 1_800_000_000.0
    passed([edge - 0.5 + i * 0.01 for i in range(20)])

    with pytest.raises(RateLimited) as caught:
        check_rate("vote", voter="v1", ip_hash="ip1", now_s=edge + 1)

    # The burst's slice leaves the window at edge + 50 s: never later than a window.
    assert caught.value.retry_after_s == 49
