"""Each worker's memory of recent voters: the same windows as a full read, topped up
with the matchups other workers served."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leaderboard.arena import services
from leaderboard.arena.history import HistoryCache, _Window
from leaderboard.arena.sampling import GENERATION_MEMORY, PAIR_PROMPT_MEMORY, History
from leaderboard.models import ArenaMode, Matchup

START = datetime(2026, 1, 1, tzinfo=UTC)


def rows(count):
    """Matchup rows, oldest first: images 2n and 2n+1, prompt n, models 1 and 2."""
    return [(n, START + timedelta(seconds=n), 2 * n, 2 * n + 1, n, 1, 2) for n in range(count)]


def test_a_window_holds_exactly_what_a_full_read_of_the_last_500_matchups_gives():
    window = _Window()
    for row in rows(700):
        window.add(row)
    window.add(rows(700)[-1])  # read twice (same instant, same id): counted once
    full = History.from_matchups([row[2:] for row in reversed(rows(700))])
    assert set(window.history().generations) == set(full.generations)
    assert set(window.history().pair_prompts) == set(full.pair_prompts)
    assert len(full.generations) == 2 * GENERATION_MEMORY
    assert len(full.pair_prompts) == PAIR_PROMPT_MEMORY


@pytest.mark.django_db
def test_the_cache_picks_up_matchups_other_workers_served(world):
    voter = "c" * 64
    first = services.serve_matchup(voter=voter, mode=ArenaMode.TEXT_TO_IMAGE)
    # Another worker serves this voter a matchup this worker has not seen.
    elsewhere = Matchup.objects.create(
        code="x" * 43,
        challenge_id=first.challenge_id,
        generation_a_id=world.generations[-1].pk,
        generation_b_id=world.generations[-2].pk,
        voter=voter,
        served_at=timezone.now() + timedelta(seconds=1),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    cache = services.voter_histories
    with connection.cursor() as cursor:
        history = cache.history(cursor, voter, to_db=services._db_time, from_db=services._aware)
    assert {first.generation_a_id, first.generation_b_id} <= set(history.generations)
    assert {elsewhere.generation_a_id, elsewhere.generation_b_id} <= set(history.generations)
    # A worker that never served this voter reads the same from scratch.
    with connection.cursor() as cursor:
        fresh = HistoryCache().history(
            cursor, voter, to_db=services._db_time, from_db=services._aware
        )
    assert set(fresh.generations) == set(history.generations)
