"""Vote counts kept in the database, so a refresh never reads votes one by one.

`VoteDayCount` holds the non-excluded votes per day, arena mode, category, challenge
and unordered model pair, with the four outcomes as columns. `update_day_counts`
re-counts only the days that can have changed (from the day it last stopped on, and
the days of voters whose exclusion was set or lifted since) with one GROUP BY in SQL,
so calling it again is cheap; every board, and detection's picture of the crowd, is
then a SUM over that table. Outcome order follows the rating engine: the pair is
(model with the lower id, the other), so counts never depend on the side shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min

from leaderboard import ratings
from leaderboard.models import PairTally, Vote, VoteCountState, VoteDayCount, VoterExclusion

COUNT_COLUMNS = "low_wins, high_wins, ties, both_bad"
# A vote is stamped when its row is written and committed within that short
# transaction; a recount reaches back this far so one stamped just before the last
# count but committed after it is still counted, even across midnight.
LATE_COMMIT_MARGIN = timedelta(hours=1)


def _sql_parts() -> dict[str, str]:
    """The few expressions SQLite and PostgreSQL spell differently."""
    if connection.vendor == "postgresql":
        return {
            "day": "(created_at AT TIME ZONE 'UTC')::date",
            "least": "LEAST",
            "most": "GREATEST",
        }
    # Django stores SQLite date-times as UTC text, so date() is the UTC day.
    return {"day": "date(created_at)", "least": "MIN", "most": "MAX"}


def _counts_select(keys: list[str], where: str) -> str:
    """SELECT of the non-excluded votes' counts per `keys` and unordered pair."""
    p = _sql_parts()
    low, high = f"{p['least']}(model_a_id, model_b_id)", f"{p['most']}(model_a_id, model_b_id)"
    # "a" is a win for the lower id when A is the lower id; "b" when B is.
    low_won = (
        "(outcome = 'a' AND model_a_id < model_b_id) OR (outcome = 'b' AND model_b_id < model_a_id)"
    )
    high_won = (
        "(outcome = 'a' AND model_a_id > model_b_id) OR (outcome = 'b' AND model_b_id > model_a_id)"
    )
    group = ", ".join([*keys, low, high])
    return (
        f"SELECT {group}, "
        f"SUM(CASE WHEN {low_won} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {high_won} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN outcome = 'tie' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN outcome = 'both_bad' THEN 1 ELSE 0 END) "
        f"FROM {Vote._meta.db_table} WHERE NOT is_excluded AND {where} GROUP BY {group}"
    )


def tune_job_session() -> None:
    """PostgreSQL: give this job's session RATINGS_WORK_MEM_MB per sort or hash, and
    commits that do not wait for the disk. Everything the ratings job writes (counts,
    boards, exclusions) is derived from the votes, each transaction whole or not at
    all: a crash can lose at most its last commits, which its next run makes again.

    SQLite: let its sorter use a second thread (counting every day of two million
    votes: 3.9 s alone, 2.8 s with it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            megabytes = f"{settings.RATINGS_WORK_MEM_MB}MB"
            cursor.execute("SELECT set_config('work_mem', %s, false)", [megabytes])
            cursor.execute("SELECT set_config('synchronous_commit', 'off', false)")
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA threads = 2")


def _moment(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def update_day_counts(now: datetime) -> None:
    """Bring VoteDayCount up to `now`: every day the first time; then the days from the
    one it last stopped on, less LATE_COMMIT_MARGIN (votes cast since, and any committed
    late), and the days of voters excluded or re-included since."""
    with transaction.atomic():
        _update_day_counts(now)


def _update_day_counts(now: datetime) -> None:
    state = VoteCountState.objects.first()
    exclusions = active_exclusions()
    if state is None:
        first = Vote.objects.aggregate(first=Min("created_at"))["first"]
        VoteDayCount.objects.all().delete()
        days = set(_days(first.astimezone(UTC).date(), now)) if first else set()
    else:
        resume = state.counted_until - LATE_COMMIT_MARGIN
        days = set(_days(resume.astimezone(UTC).date(), now))
        days |= vote_days(voters=set(state.exclusions) ^ set(exclusions))
    recount_days(days, until=now)
    VoteCountState.objects.update_or_create(
        pk=state.pk if state else None,
        defaults={"counted_until": now, "exclusions": exclusions},
    )


def _days(first: date, now: datetime) -> list[date]:
    last = now.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def recount_days(days: Iterable[date], *, until: datetime) -> int:
    """Replace the counts of `days` with fresh ones from the votes cast up to `until`.

    Consecutive days are re-counted with one range query each. Returns the days done.
    """
    days = sorted(set(days))
    table = VoteDayCount._meta.db_table
    insert = (
        f"INSERT INTO {table} (day, mode, category_id, challenge_id, model_low_id, "
        f"model_high_id, {COUNT_COLUMNS}) "
    )
    with connection.cursor() as cursor:
        for first, last in _runs(days):
            start, end = day_start(first), day_start(last + timedelta(days=1))
            cursor.execute(f"DELETE FROM {table} WHERE day >= %s AND day <= %s", [first, last])
            cursor.execute(
                insert
                + _counts_select(
                    [_sql_parts()["day"], "mode", "category_id", "challenge_id"],
                    "created_at >= %s AND created_at < %s AND created_at <= %s",
                ),
                [_moment(start), _moment(end), _moment(until)],
            )
    return len(days)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def vote_days(*, voters: Iterable[str] = (), since: datetime | None = None) -> set[date]:
    """UTC days with votes from `voters` (any time) or cast at or after `since`."""
    days: set[date] = set()
    day = _sql_parts()["day"]
    table = Vote._meta.db_table
    voters = sorted(set(voters))
    with connection.cursor() as cursor:
        for chunk in range(0, len(voters), 500):
            part = voters[chunk : chunk + 500]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(f"SELECT DISTINCT {day} FROM {table} WHERE voter IN ({marks})", part)
            days.update(_as_date(row[0]) for row in cursor.fetchall())
        if since is not None:
            cursor.execute(
                f"SELECT DISTINCT {day} FROM {table} WHERE created_at >= %s", [_moment(since)]
            )
            days.update(_as_date(row[0]) for row in cursor.fetchall())
    return days


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def active_exclusions() -> list[str]:
    """Voters whose votes are excluded now (sorted)."""
    return sorted(
        set(VoterExclusion.objects.filter(lifted_at__isnull=True).values_list("voter", flat=True))
    )


@dataclass(frozen=True)
class CountRows:
    """Summed counts as arrays: a key column per grouping and low/high model ids."""

    key: np.ndarray  # category id or challenge id; 0 for none
    low: np.ndarray
    high: np.ndarray
    counts: np.ndarray  # (rows, 4): low wins, high wins, ties, both bad

    def select(self, mask: np.ndarray) -> CountRows:
        return CountRows(self.key[mask], self.low[mask], self.high[mask], self.counts[mask])


def summed_counts(mode: str, key: str | None, *, after_day: date | None = None) -> CountRows:
    """Counts of one mode per `key` ("category_id", "challenge_id", or None for pairs
    alone: key 0) and pair, summed over the stored days (after `after_day` when given)."""
    where, params = "mode = %s", [mode]
    if after_day is not None:
        where, params = where + " AND day > %s", [mode, after_day]
    group = "model_low_id, model_high_id" if key is None else f"{key}, model_low_id, model_high_id"
    return _fetch_rows(
        f"SELECT {key or 0}, model_low_id, model_high_id, SUM(low_wins), SUM(high_wins), "
        f"SUM(ties), SUM(both_bad) FROM {VoteDayCount._meta.db_table} WHERE {where} "
        f"GROUP BY {group}",
        params,
    )


def counts_between(mode: str, start: datetime, end: datetime) -> CountRows:
    """Counts per category and pair of the non-excluded votes with start <= time < end,
    straight from the votes (for the part of a day a time window cuts)."""
    return _fetch_rows(
        _counts_select(["category_id"], "mode = %s AND created_at >= %s AND created_at < %s"),
        [mode, _moment(start), _moment(end)],
    )


def _fetch_rows(sql: str, params: list) -> CountRows:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return CountRows(empty, empty, empty, np.zeros((0, 4), dtype=np.int64))
    table = np.array([[value or 0 for value in row] for row in rows], dtype=np.int64)
    return CountRows(table[:, 0], table[:, 1], table[:, 2], table[:, 3:7])


def pair_counts(rows: CountRows, slug_of: dict[int, str]) -> ratings.PairCounts:
    """The engine's PairCounts from count rows (summed over their keys).

    Models are the sorted slugs of the models with votes and pairs are in (i, j) order,
    as `ratings.count_votes` gives them, so the fit and bootstrap match it exactly.
    """
    ids = sorted({*rows.low.tolist(), *rows.high.tolist()}, key=lambda pk: slug_of[pk])
    models = tuple(slug_of[pk] for pk in ids)
    index = {pk: k for k, pk in enumerate(ids)}
    n = len(models)
    low = np.array([index[pk] for pk in rows.low.tolist()], dtype=np.int64)
    high = np.array([index[pk] for pk in rows.high.tolist()], dtype=np.int64)
    swapped = low > high  # slug order differs from id order: the sides swap
    i, j = np.where(swapped, high, low), np.where(swapped, low, high)
    counts = np.where(swapped[:, None], rows.counts[:, [1, 0, 2, 3]], rows.counts)
    flat = np.zeros((n * n, 4), dtype=np.int64)
    np.add.at(flat, i * n + j, counts)
    pair_key = np.flatnonzero(flat.any(axis=1))
    return ratings.PairCounts(
        models=models,
        pair_i=(pair_key // n).astype(np.int64),
        pair_j=(pair_key % n).astype(np.int64),
        counts=flat[pair_key],
    )


def write_pair_tallies(modes: Iterable[str], *, computed_at: datetime) -> int:
    """Store the head-to-head counts per mode, challenge and pair for the pages."""
    tallies = []
    for mode in modes:
        rows = summed_counts(mode, "challenge_id")
        for k in range(rows.key.size):
            tallies.append(
                PairTally(
                    computed_at=computed_at,
                    mode=mode,
                    challenge_id=int(rows.key[k]) or None,
                    model_low_id=int(rows.low[k]),
                    model_high_id=int(rows.high[k]),
                    low_wins=int(rows.counts[k, 0]),
                    high_wins=int(rows.counts[k, 1]),
                    ties=int(rows.counts[k, 2]),
                    both_bad=int(rows.counts[k, 3]),
                )
            )
    PairTally.objects.bulk_create(tallies, batch_size=2000)
    return len(tallies)
