"""The ratings refresh job: rebuilds the stored leaderboards from the votes, and writes
the public vote export they are fitted on.

Votes are facts; every Leaderboard/Rating row is rebuilt from them by
`refresh_leaderboards` (run from cron via `manage.py ratings`). Pages read the
current rows and never fit on a request. The CSV export is in the format of
`python -m leaderboard.ratings`, so anyone can recompute the same numbers.
"""

import csv
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from leaderboard import ratings
from leaderboard.csv_cells import neutralize_row
from leaderboard.models import (
    ArenaMode,
    Category,
    ImageModel,
    Leaderboard,
    Rating,
    RatingWindow,
    Vote,
)

WINDOW_DAYS = {RatingWindow.ALL_TIME: None, RatingWindow.LAST_30_DAYS: 30}
EXPORT_WINNER = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}
EXPORT_COLUMNS = ["model_a", "model_b", "winner", "category", "challenge", "timestamp"]
ELO_HISTORY_POINTS = 200


@dataclass(frozen=True)
class RefreshSummary:
    leaderboards: int
    votes: int
    excluded_votes: int
    models: int
    seconds: float

    def __str__(self):
        return (
            f"{self.leaderboards} leaderboards from {self.votes:,} votes "
            f"({self.excluded_votes:,} excluded), {self.models} models, {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class VoteTable:
    """One arena mode's non-excluded votes as arrays, in time order."""

    model_a: np.ndarray  # model slugs
    model_b: np.ndarray
    outcome: np.ndarray
    category_id: np.ndarray  # 0 when the vote has no category
    created_s: np.ndarray  # seconds since the epoch

    def select(self, mask: np.ndarray) -> "VoteTable":
        return VoteTable(*(column[mask] for column in self.__dict__.values()))


def load_votes(mode: str, until: datetime) -> VoteTable:
    """Every non-excluded vote of one arena mode cast up to `until`, oldest first."""
    slugs = dict(ImageModel.objects.values_list("pk", "slug"))
    rows = list(
        Vote.objects.filter(mode=mode, is_excluded=False, created_at__lte=until)
        .order_by("created_at", "pk")
        .values_list("model_a_id", "model_b_id", "outcome", "category_id", "created_at")
    )
    if not rows:
        empty = np.array([], dtype=object)
        return VoteTable(empty, empty, empty, np.array([], dtype=np.int64), np.array([]))
    model_a, model_b, outcome, category, created = zip(*rows, strict=True)
    return VoteTable(
        model_a=np.array([slugs[pk] for pk in model_a], dtype=object),
        model_b=np.array([slugs[pk] for pk in model_b], dtype=object),
        outcome=np.array(outcome, dtype=object),
        category_id=np.array([pk or 0 for pk in category], dtype=np.int64),
        created_s=np.array([moment.timestamp() for moment in created]),
    )


def refresh_leaderboards(
    *, bootstrap: int = 1000, seed: int = 0, now: datetime | None = None
) -> RefreshSummary:
    """Recompute every leaderboard (mode x overall/category x window) and make it current.

    The previous leaderboards stay in the database (marked not current) until
    `prune_leaderboards`, so a page never sees a half-written board.
    """
    started = time.monotonic()
    now = now or timezone.now()
    models_by_slug = {model.slug: model for model in ImageModel.objects.all()}
    category_ids = list(Category.objects.values_list("pk", flat=True))
    boards: list[tuple[Leaderboard, list[Rating]]] = []
    total_votes = 0
    for mode in ArenaMode.values:
        table = load_votes(mode, until=now)
        total_votes += len(table.outcome)
        for window, days in WINDOW_DAYS.items():
            in_window = (
                table
                if days is None
                else table.select(table.created_s >= (now - timedelta(days=days)).timestamp())
            )
            for category_id in [None, *category_ids]:
                votes = (
                    in_window
                    if category_id is None
                    else in_window.select(in_window.category_id == category_id)
                )
                if category_id is not None and len(votes.outcome) == 0:
                    continue
                with_history = category_id is None and days is None
                boards.append(
                    build_leaderboard(
                        votes,
                        mode,
                        window,
                        category_id,
                        models_by_slug,
                        bootstrap=bootstrap,
                        seed=seed,
                        now=now,
                        with_history=with_history,
                    )
                )
    with transaction.atomic():
        Leaderboard.objects.filter(is_current=True).update(is_current=False)
        for board, rows in boards:
            board.save()
            for row in rows:
                row.leaderboard = board
            Rating.objects.bulk_create(rows)
    excluded = Vote.objects.filter(is_excluded=True).count()
    return RefreshSummary(
        leaderboards=len(boards),
        votes=total_votes,
        excluded_votes=excluded,
        models=len({r.image_model_id for _, rows in boards for r in rows}),
        seconds=time.monotonic() - started,
    )


def build_leaderboard(
    votes: VoteTable,
    mode,
    window,
    category_id,
    models_by_slug,
    *,
    bootstrap: int,
    seed: int,
    now: datetime,
    with_history: bool,
) -> tuple[Leaderboard, list[Rating]]:
    """Fit one leaderboard (unsaved rows): the engine's output mapped onto our tables."""
    board = ratings.rate(
        votes.model_a, votes.model_b, votes.outcome, bootstrap=bootstrap, seed=seed
    )
    history = elo_history(votes) if with_history else {}
    leaderboard = Leaderboard(
        mode=mode,
        category_id=category_id,
        window=window,
        computed_at=now,
        vote_count=len(votes.outcome),
        bootstrap_rounds=bootstrap,
        seed=seed,
        notes=list(board.notes),
    )
    rows = [
        Rating(
            image_model=models_by_slug[row.model],
            rating=row.rating,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            rank=row.rank,
            rank_best=row.rank_best,
            rank_worst=row.rank_worst,
            votes=row.votes,
            wins=row.wins,
            losses=row.losses,
            ties=row.ties,
            both_bad=row.both_bad,
            win_rate=row.win_rate,
            is_provisional=row.is_provisional,
            status="" if row.status == "mle" else row.status,
            elo_history=history.get(row.model, []),
        )
        for row in board.rows
    ]
    rows += [
        Rating(
            image_model=models_by_slug[unrated.model],
            votes=unrated.votes,
            wins=0,
            losses=0,
            ties=0,
            is_provisional=True,
            status=unrated.detail,
        )
        for unrated in board.unrated
    ]
    return leaderboard, rows


def elo_history(votes: VoteTable) -> dict[str, list[list]]:
    """Online Elo per model as [[ISO date-time, rating], ...], for rating-over-time charts."""
    if len(votes.outcome) == 0:
        return {}
    encoded = ratings.encode_votes(
        votes.model_a, votes.model_b, votes.outcome, timestamp_s=votes.created_s
    )
    history = ratings.online_elo(encoded, snapshots=ELO_HISTORY_POINTS)
    moments = [
        datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="seconds") for t in history.timestamp_s
    ]
    return {
        model: [
            [moment, round(float(history.rating[s, m]), 2)]
            for s, moment in enumerate(moments)
            if history.first_vote[m] and history.vote_count[s] >= history.first_vote[m]
        ]
        for m, model in enumerate(history.models)
    }


def prune_leaderboards(keep: int = 3) -> int:
    """Delete all but the `keep` newest computations; returns how many boards went."""
    moments = list(
        Leaderboard.objects.order_by("-computed_at")
        .values_list("computed_at", flat=True)
        .distinct()[:keep]
    )
    if not moments:
        return 0
    deleted, _ = Leaderboard.objects.filter(computed_at__lt=moments[-1]).delete()
    return deleted


def write_votes_csv(
    stream, *, mode: str, include_excluded: bool = False, until: datetime | None = None
) -> int:
    """Write one arena mode's anonymized votes as CSV; returns the row count.

    No voter, session, IP or matchup id leaves the database: only what the rating
    needs (models, winner), plus category, challenge and time for recomputation.
    With `until` (a leaderboard's computed_at) the file holds exactly the votes
    that leaderboard was fitted on.
    """
    votes = Vote.objects.filter(mode=mode).order_by("created_at", "pk")
    if until is not None:
        votes = votes.filter(created_at__lte=until)
    if not include_excluded:
        votes = votes.filter(is_excluded=False)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for model_a, model_b, outcome, category, challenge, created in votes.values_list(
        "model_a__slug",
        "model_b__slug",
        "outcome",
        "category__slug",
        "challenge__slug",
        "created_at",
    ).iterator(chunk_size=5000):
        # Slugs may start with "-": such cells get a quote, which the CLI removes.
        writer.writerow(
            neutralize_row(
                [
                    model_a,
                    model_b,
                    EXPORT_WINNER[outcome],
                    category or "",
                    challenge or "",
                    created.isoformat(timespec="microseconds"),
                ]
            )
        )
        count += 1
    return count
