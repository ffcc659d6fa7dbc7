"""Routine and full detection passes: a routine pass reads only the voters with new votes
and everyone else as day counts, and sees exactly what a pass over every vote sees."""

import io
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from leaderboard import vote_counts
from leaderboard.arena import services, suspect_votes
from leaderboard.arena.detection import detect_voters, find_suspects
from leaderboard.models import ArenaMode, DetectionState, ImageModel, Vote, VoterExclusion
from tests.arena.test_detection import STUFFER, arena, last_placed, stuff  # noqa: F401

pytestmark = pytest.mark.django_db
T2I = ArenaMode.TEXT_TO_IMAGE


def test_a_routine_pass_tests_only_the_voters_with_new_votes(arena):  # noqa: F811
    first = detect_voters()
    assert first.since is None and "full pass" in str(first)
    target = last_placed(arena)
    assert stuff(STUFFER, target.image_model_id, 15) == 15

    routine = detect_voters()

    assert routine.since is not None and "votes since" in str(routine)
    assert list(routine.flagged) == [STUFFER]
    assert routine.voters_tested == 1 < first.voters_tested
    assert VoterExclusion.objects.get(voter=STUFFER).evidence["rule"] == "favouritism"


def test_a_voter_quiet_since_the_last_pass_waits_for_the_daily_full_pass(arena):  # noqa: F811
    target = last_placed(arena)
    stuff(STUFFER, target.image_model_id, 15)
    now = timezone.now()
    # A pass that cannot test the stuffer (it needs 20 decisive votes on one model).
    detect_voters(now=now, min_votes=100)
    assert DetectionState.objects.get(mode=T2I).full_at == now

    # The next pass reads the votes cast within the hour before the last pass again ...
    assert STUFFER in detect_voters(now=now + timedelta(minutes=30), dry_run=True).flagged
    # ... but once a pass has run more than an hour after them, only a full pass does,
    # due a day after the last one.
    detect_voters(now=now + timedelta(minutes=90), min_votes=100)
    assert not detect_voters(now=now + timedelta(hours=3)).flagged
    full = detect_voters(now=now + timedelta(hours=25))
    assert full.since is None and list(full.flagged) == [STUFFER]


def test_the_ratings_command_can_ask_for_a_full_pass(arena):  # noqa: F811
    call_command("ratings", bootstrap=5, stdout=io.StringIO())
    out = io.StringIO()
    call_command("ratings", bootstrap=5, stdout=out)
    assert "votes since" in out.getvalue()
    out = io.StringIO()
    call_command("ratings", bootstrap=5, full_detect=True, stdout=out)
    assert "full pass" in out.getvalue()


def counted_cells(votes) -> Counter:
    """Counted votes per (lower id, higher id, outcome for the lower id), from the rows."""
    cells = Counter()
    for a, b, outcome in votes.values_list("model_a_id", "model_b_id", "outcome"):
        swapped = {"a": "b", "b": "a"}.get(outcome, outcome)
        cells[(a, b, outcome) if a < b else (b, a, swapped)] += 1
    return cells


def as_cells(columns, slug_to_id) -> Counter:
    if columns is None:
        return Counter()
    cells = Counter()
    for low, high, outcome, n in zip(*columns, strict=True):
        if not isinstance(outcome, str):  # the crowd's columns say whether A won
            outcome = "a" if outcome else "b"
        cells[(slug_to_id[low], slug_to_id[high], outcome)] += int(n)
    return cells


def test_everyone_else_as_day_counts_equals_counting_their_votes(arena):  # noqa: F811
    target = last_placed(arena)
    stuff(STUFFER, target.image_model_id, 15)
    readmitted = "7" * 64
    stuff(readmitted, target.image_model_id, 12)
    services.exclude_voter(readmitted, "checked by hand", by="admin")
    services.include_voter(readmitted, "a real fan", by="admin")
    excluded = "8" * 64
    stuff(excluded, target.image_model_id, 12)
    services.exclude_voter(excluded, "spam", by="admin")
    now = timezone.now()
    vote_counts.update_day_counts(now)
    testable = suspect_votes.testable_voters(now, min_votes=10)[T2I]
    assert STUFFER in testable and not {readmitted, excluded} & testable

    votes = suspect_votes.mode_votes(T2I, now, testable)

    ids = dict(ImageModel.objects.values_list("slug", "pk"))
    counted = Vote.objects.filter(mode=T2I, created_at__lte=now, is_excluded=False)
    others = counted.exclude(voter__in=testable)
    assert as_cells(votes["base"], ids) == counted_cells(others)
    crowd = others.exclude(voter=readmitted).filter(outcome__in=("a", "b"))
    assert as_cells(votes["crowd"], ids) == counted_cells(crowd)
    assert sorted(set(votes["voter"])) == sorted(testable)
    assert int((~votes["is_excluded"]).sum()) == counted.filter(voter__in=testable).count()


def test_suspects_are_the_same_as_when_every_voter_is_read(arena):  # noqa: F811
    target = last_placed(arena)
    stuff(STUFFER, target.image_model_id, 15)
    now = timezone.now()
    vote_counts.update_day_counts(now)
    testable = suspect_votes.testable_voters(now, min_votes=10)[T2I]
    everyone = set(Vote.objects.filter(mode=T2I).values_list("voter", flat=True))
    assert len(testable) < len(everyone)

    found, tested, _ = find_suspects(T2I, now, min_votes=10, testable=testable)
    read_all, _, _ = find_suspects(T2I, now, min_votes=10, testable=everyone)

    assert list(found) == list(read_all) == [STUFFER]
    mine, theirs = found[STUFFER], read_all[STUFFER]
    assert mine["ratings_votes"] == theirs["ratings_votes"] == Vote.objects.filter(mode=T2I).count()
    assert mine["p_value"] == pytest.approx(theirs["p_value"], rel=1e-9)
    assert mine["expected"] == pytest.approx(theirs["expected"], abs=1e-9)
    assert np.isin(list(tested), list(testable)).all()


def test_detect_voters_waits_for_no_ratings_job(arena, tmp_path):  # noqa: F811
    from django.core.management.base import CommandError
    from django.db import connection

    from leaderboard.management.locks import job_lock

    assert connection.vendor in ("sqlite", "postgresql")
    with job_lock("ratings"):
        with pytest.raises(CommandError, match="another `manage.py ratings` is in progress"):
            call_command("detect_voters", stdout=io.StringIO())
