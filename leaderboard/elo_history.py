"""The online Elo history of each arena's overall board, kept from refresh to refresh.

Online Elo is sequential, so it cannot come from counts. Its state after the last vote
seen (ratings, first votes, chart points) is stored in RefreshState.elo; a refresh
reads only the votes cast since and goes on from there. When votes before that point
changed (a voter excluded or re-included) the history is rebuilt from the first vote,
in chunks, with the same result as one pass over all the votes.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
from django.db import connection, transaction
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


@contextmanager
def _vote_rows(mode: str, until: datetime, state: dict):
    """(model_a_id, model_b_id, outcome, created_at text, id) of the votes after the
    state's last one, oldest first, streamed: a server-side cursor on PostgreSQL. The
    time stays text (parsed only where a chart point needs it), which is most of the
    cost of ten million rows saved."""
    is_postgres = connection.vendor == "postgresql"
    sql = (
        "SELECT model_a_id, model_b_id, outcome, "
        "CAST(created_at AS text), id "
        f"FROM {Vote._meta.db_table} WHERE mode = %s AND NOT is_excluded AND created_at <= %s"
    )
    params = [mode, until]
    if state.get("last_vote_at"):
        last_at = datetime.fromisoformat(state["last_vote_at"])
        sql += " AND (created_at > %s OR (created_at = %s AND id > %s))"
        params += [last_at, last_at, state["last_vote_id"]]
    sql += " ORDER BY created_at, id"
    if is_postgres:
        with transaction.atomic():
            connection.ensure_connection()
            with connection.connection.cursor(name=f"elo_{mode}") as cursor:
                cursor.itersize = 20_000
                cursor.execute(sql, params)
                yield cursor
    else:
        params = [
            connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p
            for p in params
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            yield cursor


def _moment_of(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    index = {pk: models.index(slug) for pk, slug in ids.items()}
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
    with _vote_rows(mode, until, state) as cursor:
        while chunk := cursor.fetchmany(CHUNK_VOTES):
            history = _go_on(history, chunk, models, index, seen, total)
            for position, values in zip(history.vote_count, history.rating, strict=True):
                moment = _iso(_moment_of(chunk[int(position) - seen - 1][3]))
                points.append([int(position), moment, [float(v) for v in values]])
            seen += len(chunk)
            last = chunk[-1]
    while len(points) > 2 * ELO_HISTORY_POINTS + 1:
        points = points[:-1:2] + points[-1:]
    return {
        "models": models,
        "final": history.final.tolist(),
        "first_vote": history.first_vote.tolist(),
        "seen": seen,
        "points": points,
        "last_vote_at": _moment_of(last[3]).isoformat() if last else state.get("last_vote_at"),
        "last_vote_id": last[4] if last else state.get("last_vote_id", 0),
    }


def _go_on(history, chunk: list, models: list[str], index: dict, seen: int, total: int):
    encoded = ratings.Votes(
        models=tuple(models),
        model_a=np.array([index[row[0]] for row in chunk], dtype=np.int64),
        model_b=np.array([index[row[1]] for row in chunk], dtype=np.int64),
        outcome=np.array([OUTCOME_CODE[row[2]] for row in chunk], dtype=np.int8),
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
