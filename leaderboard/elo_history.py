"""The online Elo history of each arena's overall board, kept from refresh to refresh.

Online Elo is sequential, so it cannot come from counts. Its state after the last vote
seen (ratings, first votes, chart points) is stored in RefreshState.elo; a refresh
reads only the votes cast since and goes on from there. When votes before that point
changed (a voter excluded or re-included) the history is rebuilt from the first vote,
in chunks, with the same result as one pass over all the votes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection
from django.db.models import F, Q, Sum

from leaderboard import ratings
from leaderboard.models import ImageModel, Vote, VoteDayCount

ELO_HISTORY_POINTS = 200
CHUNK_VOTES = 200_000
OUTCOME_CODE = {name: code for code, name in enumerate(ratings.OUTCOMES)}


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
_POSTGRES_EPOCH_US = 946_684_800_000_000
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class VoteChunk:
    """Votes in time order as arrays: model ids, outcome codes, vote ids, and times
    (microseconds since 1970 from PostgreSQL, SQLite's stored text otherwise)."""

    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    vote_id: np.ndarray
    times: Sequence

    def moment(self, k: int) -> datetime:
        time = self.times[k]
        if isinstance(time, str):
            moment = datetime.fromisoformat(time)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return _UNIX_EPOCH + timedelta(microseconds=int(time))


def _votes_sql(mode: str, until: datetime, after: tuple | None) -> tuple[str, list]:
    """The votes of `mode` up to `until`, after the (time, id) `after`, in time order:
    model ids, outcome code, time and id."""
    # SQLite's time stays text, parsed only where a chart point needs it.
    time = "created_at" if connection.vendor == "postgresql" else "CAST(created_at AS text)"
    code = " ".join(f"WHEN '{name}' THEN {value}" for name, value in OUTCOME_CODE.items())
    sql = (
        "SELECT CAST(model_a_id AS bigint) AS a, CAST(model_b_id AS bigint) AS b, "
        f"CAST(CASE outcome {code} END AS bigint) AS o, {time} AS t, CAST(id AS bigint) AS k "
        f"FROM {Vote._meta.db_table} WHERE mode = %s AND NOT is_excluded AND created_at <= %s"
    )
    params = [mode, until]
    if after:
        sql += " AND created_at >= %s AND (created_at > %s OR id > %s)"
        params += [after[0], after[0], after[1]]
    return sql + " ORDER BY created_at, id", params


def _vote_chunks(mode: str, until: datetime, state: dict) -> Iterator[VoteChunk]:
    """The votes after the state's last one, oldest first, CHUNK_VOTES at a time."""
    after = None
    if state.get("last_vote_at"):
        after = (datetime.fromisoformat(state["last_vote_at"]), state["last_vote_id"])
    if connection.vendor == "postgresql":
        yield from _aggregated_chunks(mode, until, after)
        return
    sql, params = _votes_sql(mode, until, after)
    params = [
        connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p
        for p in params
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_VOTES):
            a, b, o, t, k = zip(*rows, strict=True)
            yield VoteChunk(*(np.array(x, dtype=np.int64) for x in (a, b, o, k)), times=t)


def _aggregated_chunks(mode: str, until: datetime, after: tuple | None) -> Iterator[VoteChunk]:
    """PostgreSQL: each chunk as one row of five binary arrays, read straight into
    numpy. Rows one by one (a cursor, or COPY, which libpq hands over a row at a time)
    cost a Python object or call per vote: most of the time of ten million votes."""
    with connection.cursor() as cursor:
        while True:
            sql, params = _votes_sql(mode, until, after)
            arrays = ", ".join(f"array_send(array_agg({c}))" for c in "abotk")
            cursor.execute(
                f"SELECT {arrays} FROM ({sql} LIMIT %s) AS chunk", [*params, CHUNK_VOTES]
            )
            row = cursor.fetchone()
            if row[0] is None:
                return
            a, b, o, t, k = (_int8_array(bytes(data)) for data in row)
            # array_agg keeps the subquery's order in practice; the documentation does
            # not promise it, so the order is restored here (a no-op when kept).
            order = np.lexsort((k, t))
            chunk = VoteChunk(a[order], b[order], o[order], k[order], t[order] + _POSTGRES_EPOCH_US)
            yield chunk
            after = (chunk.moment(-1), int(chunk.vote_id[-1]))


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
    before = VoteDayCount.objects.filter(mode=mode, day__lt=day).aggregate(
        n=Sum(F("low_wins") + F("high_wins") + F("ties") + F("both_bad"))
    )["n"]
    that_day = Vote.objects.filter(
        mode=mode,
        is_excluded=False,
        created_at__gte=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
        created_at__lte=last_at,
    ).count()
    return (before or 0) + that_day == state.get("seen", 0)


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


def update_elo_state(mode: str, *, until: datetime, state: dict, rebuild: bool) -> dict:
    """The Elo state after every non-excluded vote of `mode` cast up to `until`.

    Goes on from `state` unless `rebuild` (or there is none). Chart points are spaced
    as one pass over all the votes would space them (every ceil(votes / 200)-th vote
    and the last); when going on, the earlier points stay and are thinned to every
    other one once there are more than twice as many as wanted.
    """
    models = list(ImageModel.objects.order_by("pk").values_list("slug", flat=True))
    ids = dict(ImageModel.objects.values_list("pk", "slug"))
    if rebuild or not state or not _nothing_missed(mode, state):
        state = {}
    seen = int(state.get("seen", 0))
    votes = _votes_after(mode, until, state)
    new = votes.count()
    if not new and state:
        return state
    total = seen + new
    history = _start(state, models)
    points = _stored_points(state, models)
    last = None
    lookup = np.zeros(max(ids, default=0) + 1, dtype=np.int64)
    for pk, slug in ids.items():
        lookup[pk] = models.index(slug)
    for chunk in _vote_chunks(mode, until, state):
        history = _go_on(history, chunk, models, lookup, seen, total)
        for position, values in zip(history.vote_count, history.rating, strict=True):
            moment = _iso(chunk.moment(int(position) - seen - 1))
            points.append([int(position), moment, [float(v) for v in values]])
        seen += chunk.vote_id.size
        last = chunk
    while len(points) > 2 * ELO_HISTORY_POINTS + 1:
        points = points[:-1:2] + points[-1:]
    return {
        "models": models,
        "final": history.final.tolist(),
        "first_vote": history.first_vote.tolist(),
        "seen": seen,
        "points": points,
        "last_vote_at": last.moment(-1).isoformat() if last else state.get("last_vote_at"),
        "last_vote_id": int(last.vote_id[-1]) if last else state.get("last_vote_id", 0),
    }


def _go_on(history, chunk: VoteChunk, models: list[str], lookup, seen: int, total: int):
    encoded = ratings.Votes(
        models=tuple(models),
        model_a=lookup[chunk.model_a],
        model_b=lookup[chunk.model_b],
        outcome=chunk.outcome.astype(np.int8),
    )
    return ratings.online_elo(
        encoded,
        snapshots=ELO_HISTORY_POINTS,
        start=history,
        start_position=seen,
        total_votes=total,
    )


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
