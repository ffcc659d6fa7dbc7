"""The online Elo history of each arena's overall board, kept from refresh to refresh.

Online Elo is sequential, so it cannot come from counts. Its state after the last vote
seen (ratings, first votes, chart points) is stored in RefreshState.elo; a refresh
reads only the votes cast since and goes on from there. When votes before that point
changed (a voter excluded or re-included) the history is rebuilt from the first vote,
in chunks, with the same result as one pass over all the votes.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg
from django.db import connection
from django.db.models import F, Max, Q, Sum

from leaderboard import ratings
from leaderboard.models import ArenaMode, ImageModel, Vote, VoteDayCount

ELO_HISTORY_POINTS = 200
CHUNK_VOTES = 200_000
OUTCOME_CODE = {name: code for code, name in enumerate(ratings.OUTCOMES)}
MODE_CODE = {name: code for code, name in enumerate(ArenaMode.values)}


def _iso(moment: datetime) -> str:
    # Through the float timestamp, as the charts always had it (whole seconds, UTC).
    return datetime.fromtimestamp(moment.timestamp(), tz=UTC).isoformat(timespec="seconds")


def _votes_after(mode: str, until: datetime, state: dict):
    votes = Vote.objects.filter(mode=mode, is_excluded=False, created_at__lte=until)
    if state.get("last_vote_at"):
        last_at = datetime.fromisoformat(state["last_vote_at"])
        votes = votes.filter(
            Q(created_at__gt=last_at) | Q(created_at=last_at, pk__gt=state["last_vote_id"])
        )
    return votes


# PostgreSQL's binary array (array_send): ndim, null flag, element type, then per
# dimension its size and lower bound; then per element its length and value, an int8
# or a timestamptz (int8 microseconds since 2000-01-01 UTC). See array_send in
# src/backend/utils/adt/arrayfuncs.c and timestamptz_send in timestamp.c.
_ARRAY_HEADER = np.dtype([("ndim", ">i4"), ("has_null", ">i4"), ("type", ">u4")])
_ARRAY_DIMENSION = np.dtype([("size", ">i4"), ("lower", ">i4")])
_ARRAY_INT8 = np.dtype([("length", ">i4"), ("value", ">i8")])
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class VoteChunk:
    """Votes in time order as arrays: model ids, outcome codes, vote ids and arena mode
    codes. (Their times are read for the few votes a chart point or the state names.)"""

    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    vote_id: np.ndarray
    mode: np.ndarray

    def select(self, mask: np.ndarray) -> VoteChunk:
        return VoteChunk(*(getattr(self, f.name)[mask] for f in fields(self)))


def _votes_sql(after: dict[str, tuple | None], until: datetime, page: tuple | None, bits: int):
    """SQL and parameters of the votes of the modes in `after` up to `until`, each
    after its (time, id) when given and all after the (time, id) `page`, in time order:
    c (model ids, outcome and mode packed in one integer, as `_unpacked` reads it) and
    the id k; on PostgreSQL also the time t, for the next page."""
    outcome = " ".join(f"WHEN '{name}' THEN {value}" for name, value in OUTCOME_CODE.items())
    mode = " ".join(f"WHEN '{name}' THEN {value}" for name, value in MODE_CODE.items())
    packed = (
        f"CAST(model_a_id AS bigint) + CAST(model_b_id AS bigint) * {1 << bits} "
        f"+ CAST(CASE outcome {outcome} END AS bigint) * {1 << 2 * bits} "
        f"+ CAST(CASE mode {mode} END AS bigint) * {1 << 2 * bits + 2}"
    )
    params: list = [until]
    clauses = []
    for name, last in after.items():
        if last:
            clauses.append("(mode = %s AND (created_at > %s OR (created_at = %s AND id > %s)))")
            params += [name, last[0], last[0], last[1]]
        else:
            clauses.append("mode = %s")
            params.append(name)
    sql = (
        f"SELECT {packed} AS c, CAST(id AS bigint) AS k"
        f"{', created_at AS t' if connection.vendor == 'postgresql' else ''} "
        f"FROM {Vote._meta.db_table} WHERE NOT is_excluded AND created_at <= %s "
        f"AND ({' OR '.join(clauses)})"
    )
    starts = [last[0] for last in after.values() if last]
    if page or len(starts) == len(after):
        # A lower bound on the time lets the index on it skip the votes seen.
        sql += " AND created_at >= %s"
        params.append(page[0] if page else min(starts))
    if page:
        sql += " AND (created_at > %s OR id > %s)"
        params += [page[0], page[1]]
    if connection.vendor != "postgresql":
        params = [
            connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p
            for p in params
        ]
    return sql + " ORDER BY created_at, id", params


def _unpacked(codes: np.ndarray, ids: np.ndarray, bits: int) -> VoteChunk:
    mask = (1 << bits) - 1
    return VoteChunk(
        model_a=codes & mask,
        model_b=(codes >> bits) & mask,
        outcome=(codes >> 2 * bits) & 3,
        vote_id=ids,
        mode=codes >> 2 * bits + 2,
    )


def _vote_chunks(after: dict[str, tuple | None], until: datetime) -> Iterator[VoteChunk]:
    """The votes of the modes in `after`, each after its last one seen, in one pass in
    time order, CHUNK_VOTES at a time.

    The database reads the next chunk (in a thread) while Python plays this one: each
    takes about half the time. Chunks come as numbers only, read straight into numpy:
    an object per value was most of the time of ten million votes.
    """
    # Votes name models by foreign key: no id above the largest model's.
    bits = max(ImageModel.objects.aggregate(top=Max("pk"))["top"] or 1, 1).bit_length()
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        # The driver's connection, unlike Django's, may be used from another thread.
        chunks = _binary_chunks(connection.connection, after, until, bits)
    else:
        # Django opens SQLite connections for use from any thread; executed here.
        cursor = connection.cursor()
        cursor.execute(*_votes_sql(after, until, None, bits))
        chunks = _fetched_chunks(cursor, bits)
    yield from _read_ahead(chunks)


def _fetched_chunks(cursor, bits: int) -> Iterator[VoteChunk]:
    with cursor:
        while rows := cursor.fetchmany(CHUNK_VOTES):
            table = np.array(rows, dtype=np.int64)
            yield _unpacked(table[:, 0], table[:, 1], bits)


def _binary_chunks(
    driver_connection, after: dict[str, tuple | None], until: datetime, bits: int
) -> Iterator[VoteChunk]:
    """PostgreSQL: each chunk as one row of three binary arrays. Rows one by one (a
    cursor, or COPY, which libpq hands over a row at a time) cost a Python object or
    call per vote."""
    arrays = ", ".join(f"array_send(array_agg({column}))" for column in "ckt")
    page = None
    # A cursor of the driver's own that binds on the server: results in binary, so
    # the arrays arrive as bytes (Django's cursor binds on the client, in text: hex).
    with psycopg.Cursor(driver_connection) as cursor:
        while True:
            sql, params = _votes_sql(after, until, page, bits)
            sql = f"SELECT {arrays} FROM ({sql} LIMIT %s) AS chunk"
            cursor.execute(sql, [*params, CHUNK_VOTES], binary=True)
            row = cursor.fetchone()
            if row[0] is None:
                return
            codes, ids, times = (_int8_array(data) for data in row)
            # array_agg keeps the subquery's order in practice; its documentation does
            # not promise it, so the order is restored here (a no-op when kept).
            order = np.lexsort((ids, times))
            yield _unpacked(codes[order], ids[order], bits)
            last = order[-1]
            moment = _POSTGRES_EPOCH + timedelta(microseconds=int(times[last]))
            page = (moment, int(ids[last]))


def _read_ahead(items: Iterator[VoteChunk]) -> Iterator[VoteChunk]:
    """`items`, each next one made in a thread while the caller works on the last."""
    with ThreadPoolExecutor(max_workers=1) as reader:
        upcoming = reader.submit(next, items, None)
        while (item := upcoming.result()) is not None:
            upcoming = reader.submit(next, items, None)
            yield item


def _int8_array(data: bytes) -> np.ndarray:
    """A one-dimensional, null-free int8 or timestamptz array in PostgreSQL's binary
    format as int64 values."""
    header = np.frombuffer(data, dtype=_ARRAY_HEADER, count=1)[0]
    if header["ndim"] != 1 or header["has_null"]:
        raise RuntimeError("unexpected binary array from PostgreSQL")
    offset = _ARRAY_HEADER.itemsize + _ARRAY_DIMENSION.itemsize
    items = np.frombuffer(data, dtype=_ARRAY_INT8, offset=offset)
    if (items["length"] != 8).any():
        raise RuntimeError("unexpected binary array from PostgreSQL")
    return items["value"].astype(np.int64)


def _nothing_missed(mode: str, state: dict) -> bool:
    """Whether the votes up to the last one seen are exactly those seen: a vote
    committed late with an earlier time would otherwise be skipped for good. Counted
    from the day counts (brought up to date before) and the last day's votes."""
    if not state.get("last_vote_at"):
        return True
    last_at = datetime.fromisoformat(state["last_vote_at"])
    day = last_at.astimezone(UTC).date()
    before = _day_counted(mode, before=day)
    that_day = Vote.objects.filter(
        mode=mode,
        is_excluded=False,
        created_at__gte=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
        created_at__lte=last_at,
    ).count()
    return before + that_day == state.get("seen", 0)


def _day_counted(mode: str, *, before: date | None = None) -> int:
    """The mode's counted votes in the day counts (on days before `before`)."""
    days = VoteDayCount.objects.filter(mode=mode)
    if before is not None:
        days = days.filter(day__lt=before)
    total = days.aggregate(n=Sum(F("low_wins") + F("high_wins") + F("ties") + F("both_bad")))
    return total["n"] or 0


def _start(state: dict, models: list[str]) -> ratings.EloHistory:
    """The stored state as the engine's starting point, over today's model list."""
    final = dict(zip(state.get("models", []), state.get("final", []), strict=True))
    first = dict(zip(state.get("models", []), state.get("first_vote", []), strict=True))
    return ratings.EloHistory(
        models=tuple(models),
        vote_count=np.zeros(0, dtype=np.int64),
        timestamp_s=None,
        rating=np.zeros((0, len(models))),
        final=np.array([final.get(m, 1000.0) for m in models], dtype=np.float64),
        first_vote=np.array([first.get(m, 0) for m in models], dtype=np.int64),
    )


def _stored_points(state: dict, models: list[str]) -> list[list]:
    """Stored points as [position, iso, ratings in `models` order] (new models at 1000)."""
    index = {m: k for k, m in enumerate(state.get("models", []))}
    return [
        [position, moment, [values[index[m]] if m in index else 1000.0 for m in models]]
        for position, moment, values in state.get("points", [])
    ]


class _EloRun:
    """One mode's online Elo, going on from its stored state over the chunks given."""

    def __init__(self, mode: str, state: dict, models: list[str], until: datetime):
        self.state = state
        self.models = models
        self.seen = int(state.get("seen", 0))
        # From the first vote: the day counts have the number without reading the votes.
        self.new = _votes_after(mode, until, state).count() if state else _day_counted(mode)
        self.total = self.seen + self.new
        self.history = _start(state, models)
        self.points = _stored_points(state, models)
        self.stored_points = len(self.points)
        self.last_vote_id: int | None = None

    @property
    def after(self) -> tuple | None:
        if not self.state.get("last_vote_at"):
            return None
        return datetime.fromisoformat(self.state["last_vote_at"]), self.state["last_vote_id"]

    def go_on(self, chunk: VoteChunk, lookup: np.ndarray) -> None:
        encoded = ratings.Votes(
            models=tuple(self.models),
            model_a=lookup[chunk.model_a],
            model_b=lookup[chunk.model_b],
            outcome=chunk.outcome.astype(np.int8),
        )
        self.history = ratings.online_elo(
            encoded,
            snapshots=ELO_HISTORY_POINTS,
            start=self.history,
            start_position=self.seen,
            total_votes=self.total,
        )
        for position, values in zip(self.history.vote_count, self.history.rating, strict=True):
            # The vote's id for now: `result` reads the times of them all at once.
            vote = int(chunk.vote_id[int(position) - self.seen - 1])
            self.points.append([int(position), vote, [float(v) for v in values]])
        self.seen += chunk.vote_id.size
        self.last_vote_id = int(chunk.vote_id[-1])

    def result(self) -> dict:
        if not self.new and self.state:
            return self.state
        fresh = self.points[self.stored_points :]
        last_id = self.last_vote_id
        times = _vote_times([vote for _, vote, _ in fresh] + ([last_id] if last_id else []))
        for point in fresh:
            point[1] = _iso(times[point[1]])
        last_at = times[last_id].isoformat() if last_id else self.state.get("last_vote_at")
        points = self.points
        while len(points) > 2 * ELO_HISTORY_POINTS + 1:
            points = points[:-1:2] + points[-1:]
        return {
            "models": self.models,
            "final": self.history.final.tolist(),
            "first_vote": self.history.first_vote.tolist(),
            "seen": self.seen,
            "points": points,
            "last_vote_at": last_at,
            "last_vote_id": last_id or self.state.get("last_vote_id", 0),
        }


def _vote_times(ids: list[int]) -> dict[int, datetime]:
    return dict(Vote.objects.filter(pk__in=set(ids)).values_list("pk", "created_at"))


def update_elo_states(
    modes: list[str], *, until: datetime, states: dict[str, dict], rebuild: set[str]
) -> dict[str, dict]:
    """Each mode's Elo state after every non-excluded vote of it cast up to `until`;
    the day counts must be up to date to `until` (`vote_counts.update_day_counts`).

    A mode goes on from its state in `states` unless it is in `rebuild` (or has none).
    The new votes of every mode are read in one pass in time order. Chart points are
    spaced as one pass over all the votes would space them (every ceil(votes / 200)-th
    vote and the last); when going on, the earlier points stay and are thinned to
    every other one once there are more than twice as many as wanted.
    """
    models = list(ImageModel.objects.order_by("pk").values_list("slug", flat=True))
    ids = dict(ImageModel.objects.values_list("pk", "slug"))
    lookup = np.zeros(max(ids, default=0) + 1, dtype=np.int64)
    for pk, slug in ids.items():
        lookup[pk] = models.index(slug)
    runs = {}
    for mode in modes:
        state = states.get(mode) or {}
        if mode in rebuild or not state or not _nothing_missed(mode, state):
            state = {}
        runs[mode] = _EloRun(mode, state, models, until)
    going = {mode: run for mode, run in runs.items() if run.new}
    if going:
        for chunk in _vote_chunks({mode: run.after for mode, run in going.items()}, until):
            for mode, run in going.items():
                part = chunk.select(chunk.mode == MODE_CODE[mode])
                if part.vote_id.size:
                    run.go_on(part, lookup)
    return {mode: run.result() for mode, run in runs.items()}


def history_by_model(state: dict) -> dict[str, list[list]]:
    """Online Elo per model as [[ISO date-time, rating], ...] from its first vote on."""
    first = dict(zip(state.get("models", []), state.get("first_vote", []), strict=True))
    return {
        model: [
            [moment, round(values[m], 2)]
            for position, moment, values in state.get("points", [])
            if position >= first[model]
        ]
        for m, model in enumerate(state.get("models", []))
        if first[model]
    }
