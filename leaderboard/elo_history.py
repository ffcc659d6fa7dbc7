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


# PostgreSQL's binary COPY: a fixed header, then per row a field count and each
# field's length and value (big-endian); timestamptz is int8 microseconds since
# 2000-01-01 UTC. Every column below is a non-null int8, so rows have a fixed size
# and parse as one numpy array (https://www.postgresql.org/docs/15/sql-copy.html).
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
_COPY_ROW = np.dtype(
    [("fields", ">i2")]
    + [(f"{name}{part}", kind) for name in "abotk" for part, kind in (("_len", ">i4"), ("", ">i8"))]
)
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


def _votes_sql(mode: str, until: datetime, state: dict) -> tuple[str, list]:
    # SQLite's time stays text, parsed only where a chart point needs it.
    time = "created_at" if connection.vendor == "postgresql" else "CAST(created_at AS text)"
    code = " ".join(f"WHEN '{name}' THEN {value}" for name, value in OUTCOME_CODE.items())
    sql = (
        "SELECT CAST(model_a_id AS bigint), CAST(model_b_id AS bigint), "
        f"CAST(CASE outcome {code} END AS bigint), {time}, CAST(id AS bigint) "
        f"FROM {Vote._meta.db_table} WHERE mode = %s AND NOT is_excluded AND created_at <= %s"
    )
    params = [mode, until]
    if state.get("last_vote_at"):
        last_at = datetime.fromisoformat(state["last_vote_at"])
        sql += " AND (created_at > %s OR (created_at = %s AND id > %s))"
        params += [last_at, last_at, state["last_vote_id"]]
    return sql + " ORDER BY created_at, id", params


def _vote_chunks(mode: str, until: datetime, state: dict) -> Iterator[VoteChunk]:
    """The votes after the state's last one, oldest first, CHUNK_VOTES at a time.

    PostgreSQL sends them as binary COPY, parsed straight into arrays: no Python
    object per value, which is most of the cost of ten million rows.
    """
    sql, params = _votes_sql(mode, until, state)
    if connection.vendor == "postgresql":
        yield from _copied_chunks(sql, params)
        return
    params = [
        connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p
        for p in params
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_VOTES):
            a, b, o, t, k = zip(*rows, strict=True)
            yield VoteChunk(*(np.array(x, dtype=np.int64) for x in (a, b, o, k)), times=t)


def _copied_chunks(sql: str, params: list) -> Iterator[VoteChunk]:
    size = _COPY_ROW.itemsize
    pending = bytearray()
    with (
        connection.cursor() as cursor,
        # The driver's own cursor: Django's debug wrapper takes no parameters for COPY.
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy,
    ):
        for block in copy:
            pending += block
            if len(pending) >= CHUNK_VOTES * size + len(_COPY_HEADER):
                yield _parsed(pending, len(pending) - len(_COPY_HEADER))
    if not pending.startswith(_COPY_HEADER) or not pending.endswith(_COPY_TRAILER):
        raise RuntimeError("unexpected binary COPY framing from PostgreSQL")
    if len(pending) > len(_COPY_HEADER) + len(_COPY_TRAILER):
        yield _parsed(pending, len(pending) - len(_COPY_HEADER) - len(_COPY_TRAILER))


def _parsed(pending: bytearray, available: int) -> VoteChunk:
    """Parse the whole rows after the header and drop them from `pending`."""
    end = len(_COPY_HEADER) + available // _COPY_ROW.itemsize * _COPY_ROW.itemsize
    rows = np.frombuffer(bytes(pending[len(_COPY_HEADER) : end]), dtype=_COPY_ROW)
    del pending[len(_COPY_HEADER) : end]
    if (rows["fields"] != 5).any():
        raise RuntimeError("unexpected binary COPY row from PostgreSQL")
    return VoteChunk(
        model_a=rows["a"].astype(np.int64),
        model_b=rows["b"].astype(np.int64),
        outcome=rows["o"].astype(np.int64),
        vote_id=rows["k"].astype(np.int64),
        times=rows["t"].astype(np.int64) + _POSTGRES_EPOCH_US,
    )


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
