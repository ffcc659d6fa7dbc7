"""The refresh fits from counts kept in the database: same boards and Elo curves as a
fit over every vote (the way it was done before), first time, after new votes, after
exclusions; and the pages' head-to-head tallies agree with counting the votes."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leaderboard import elo_history, ratings, vote_counts
from leaderboard.arena.demo import ensure_demo_generations, simulate_crowd
from leaderboard.arena.services import exclude_voter, include_voter
from leaderboard.models import (
    ArenaMode,
    Category,
    Leaderboard,
    PairTally,
    RefreshState,
    Vote,
    VoteDayCount,
)
from leaderboard.pages.board_queries import Tally, _load_vote_tallies
from leaderboard.rating_refresh import refresh_leaderboards

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_votes(catalog):
    ensure_demo_generations(side=32)
    assert simulate_crowd(votes=900, seed=3, days=60) > 600


@pytest.fixture
def catalog():
    from django.core.management import call_command

    call_command("loaddata", "catalog", verbosity=0)


def reference_votes(mode, now):
    """Every counted vote of one mode up to `now`, oldest first (as the old refresh read them)."""
    rows = list(
        Vote.objects.filter(mode=mode, is_excluded=False, created_at__lte=now)
        .order_by("created_at", "pk")
        .values_list("model_a__slug", "model_b__slug", "outcome", "category_id", "created_at")
    )
    a, b, o, c, t = (np.array(col, dtype=object) for col in zip(*rows, strict=True))
    return a, b, o, np.array([x or 0 for x in c]), np.array([x.timestamp() for x in t])


def reference_history(a, b, o, t):
    """The old refresh's chart: online Elo over all votes, 200 snapshots."""
    encoded = ratings.encode_votes(a, b, o, timestamp_s=t)
    h = ratings.online_elo(encoded, snapshots=200)
    moments = [
        datetime.fromtimestamp(x, tz=UTC).isoformat(timespec="seconds") for x in h.timestamp_s
    ]
    return {
        model: [
            [moment, round(float(h.rating[s, m]), 2)]
            for s, moment in enumerate(moments)
            if h.first_vote[m] and h.vote_count[s] >= h.first_vote[m]
        ]
        for m, model in enumerate(h.models)
    }


def assert_boards_match_votes(now, *, bootstrap=30):
    boards = 0
    for mode in ArenaMode.values:
        if not Vote.objects.filter(mode=mode).exists():
            continue
        a, b, o, c, t = reference_votes(mode, now)
        for window, days in (("all", None), ("30d", 30)):
            in_window = (
                np.ones(len(o), bool)
                if days is None
                else t >= (now - timedelta(days=days)).timestamp()
            )
            for category in [None, *Category.objects.values_list("pk", flat=True)]:
                keep = in_window & ((c == category) if category else True)
                if category and not keep.any():
                    continue
                expected = ratings.rate(a[keep], b[keep], o[keep], bootstrap=bootstrap, seed=0)
                board = Leaderboard.objects.get(
                    is_current=True, mode=mode, window=window, category_id=category
                )
                assert board.vote_count == int(keep.sum())
                stored = {r.image_model.slug: r for r in board.ratings.all()}
                for row in expected.rows:
                    got = stored[row.model]
                    assert (got.rating, got.ci_low, got.ci_high, got.rank) == (
                        row.rating,
                        row.ci_low,
                        row.ci_high,
                        row.rank,
                    )
                    assert (got.votes, got.wins, got.losses, got.ties, got.both_bad) == (
                        row.votes,
                        row.wins,
                        row.losses,
                        row.ties,
                        row.both_bad,
                    )
                boards += 1
                if category is None and days is None:
                    history = reference_history(a, b, o, t)
                    for slug, rating in stored.items():
                        assert rating.elo_history == history.get(slug, []), slug
    assert boards > 4


def test_boards_and_elo_curves_equal_a_fit_over_every_vote_on_the_demo(demo_votes):
    now = timezone.now()
    refresh_leaderboards(bootstrap=30, now=now)
    assert VoteDayCount.objects.exists()
    assert_boards_match_votes(now)


def test_new_votes_are_counted_and_the_elo_history_goes_on(demo_votes):
    # Ten minutes past a midnight, with the last vote seen a second before it: the vote
    # committed late below is stamped on the day before the one the counts stopped on.
    midnight = datetime.combine(timezone.now().date() + timedelta(days=1), datetime.min.time())
    midnight = midnight.replace(tzinfo=UTC)
    first = midnight + timedelta(minutes=10)
    template = Vote.objects.filter(mode="t2i").order_by("-created_at").first()

    def copy_at(moment, outcome=None):
        template.pk = None
        template.matchup = None
        template.outcome = outcome or template.outcome
        template.created_at = moment
        return Vote(**{f.attname: getattr(template, f.attname) for f in Vote._meta.fields})

    Vote.objects.bulk_create([copy_at(midnight - timedelta(seconds=1))])
    refresh_leaderboards(bootstrap=30, now=first)
    seen = RefreshState.objects.get(mode="t2i").elo["seen"]
    # Votes cast after the first refresh, and one committed late with an earlier time
    # than the last vote seen.
    late = [
        copy_at(first + timedelta(seconds=k + 1), ("a", "b", "tie", "both_bad")[k % 4])
        for k in range(40)
    ]
    late.append(copy_at(midnight - timedelta(seconds=2)))
    Vote.objects.bulk_create(late)
    second = first + timedelta(minutes=5)
    refresh_leaderboards(bootstrap=30, now=second)
    state = RefreshState.objects.get(mode="t2i").elo
    assert state["seen"] == seen + 41
    # The ratings and counts are those of every vote; the online Elo after the last
    # vote is exactly that of one pass over all of them.
    a, b, o, _, t = reference_votes("t2i", second)
    one_pass = ratings.online_elo(ratings.encode_votes(a, b, o, timestamp_s=t), snapshots=200)
    final = dict(zip(state["models"], state["final"], strict=True))
    for m, model in enumerate(one_pass.models):
        assert final[model] == pytest.approx(one_pass.final[m], abs=1e-9)
    counts_only = {
        r.image_model.slug: (r.rating, r.votes)
        for r in Leaderboard.objects.get(
            is_current=True, mode="t2i", window="all", category=None
        ).ratings.all()
    }
    expected = ratings.rate(a, b, o, bootstrap=30, seed=0)
    assert counts_only == {row.model: (row.rating, row.votes) for row in expected.rows}


def test_the_elo_states_are_the_same_read_together_alone_and_in_small_chunks(
    demo_votes, monkeypatch
):
    now = timezone.now()
    modes = ["t2i", "edit"]
    vote_counts.update_day_counts(now)
    together = elo_history.update_elo_states(modes, until=now, states={}, rebuild=set())
    for mode in modes:
        last = Vote.objects.filter(mode=mode, is_excluded=False).order_by("created_at", "pk").last()
        state = together[mode]
        assert state["seen"] == Vote.objects.filter(mode=mode, is_excluded=False).count() > 50
        assert datetime.fromisoformat(state["last_vote_at"]) == last.created_at
        assert state["last_vote_id"] == last.pk
        assert state["points"][-1][1] == last.created_at.isoformat(timespec="seconds")
        alone = elo_history.update_elo_states([mode], until=now, states={}, rebuild=set())
        assert alone[mode] == state
    # Chunks that end mid-way through chart spacing, through Django's debug cursor too
    # (as with DEBUG on, the default of a dev site).
    monkeypatch.setattr(elo_history, "CHUNK_VOTES", 7)
    with CaptureQueriesContext(connection):
        chunked = elo_history.update_elo_states(modes, until=now, states={}, rebuild=set())
    assert chunked == together


def test_an_exclusion_and_its_lifting_recount_the_voters_days(demo_votes):
    now = timezone.now()
    refresh_leaderboards(bootstrap=30, now=now)
    voter = Vote.objects.values_list("voter", flat=True).first()
    exclude_voter(voter, "test", now=now)
    later = now + timedelta(minutes=1)
    refresh_leaderboards(bootstrap=30, now=later)
    assert_boards_match_votes(later)
    include_voter(voter, "back", now=later)
    latest = later + timedelta(minutes=1)
    refresh_leaderboards(bootstrap=30, now=latest)
    assert_boards_match_votes(latest)


def tallies_from_votes(until):
    """The pages' tallies as they were counted before: a scan of the votes."""
    counts = {}
    rows = Vote.objects.filter(is_excluded=False, created_at__lte=until).values_list(
        "mode", "challenge__slug", "model_a__slug", "model_b__slug", "outcome"
    )
    for mode, challenge, a, b, outcome in rows:
        x, y = sorted((a, b))
        tally = counts.setdefault((mode, challenge, x, y), [0, 0, 0, 0])
        if outcome in ("tie", "both_bad"):
            tally[2 if outcome == "tie" else 3] += 1
        else:
            tally[0 if (a if outcome == "a" else b) == x else 1] += 1
    return [
        Tally(*key, *values)
        for key, values in sorted(counts.items(), key=lambda i: tuple(str(p) for p in i[0]))
    ]


def test_stored_pair_tallies_equal_counting_the_votes(demo_votes):
    now = timezone.now()
    exclude_voter(Vote.objects.values_list("voter", flat=True).first(), "test", now=now)
    refresh_leaderboards(bootstrap=10, now=now)
    assert PairTally.objects.filter(computed_at=now).exists()
    tallies = _load_vote_tallies()
    assert len(tallies) > 20
    assert tallies == tallies_from_votes(now)
