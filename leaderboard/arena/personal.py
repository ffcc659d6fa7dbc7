"""A voter's own leaderboard: Bradley-Terry on their votes alone, beside the public one.

Shown once a voter has PERSONAL_MIN_VOTES votes in an arena (fewer say little: most
models would have met a handful of times). Intervals come from the same bootstrap as
the public boards, so a voter sees how little 30 votes can tell as well as what they say.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from leaderboard.arena.pool import current_leaderboard
from leaderboard.csv_cells import neutralize_row
from leaderboard.models import ArenaMode, Rating, Vote
from leaderboard.ratings.leaderboard import rate

PERSONAL_MIN_VOTES = 30
PERSONAL_BOOTSTRAP = 300
WINNER = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}
CSV_COLUMNS = ["model_a", "model_b", "winner", "arena", "category", "challenge", "timestamp"]


@dataclass(frozen=True)
class PersonalRow:
    model: str
    rating: float
    ci_low: float
    ci_high: float
    votes: int
    win_rate: float
    public_rating: float | None
    public_ci_low: float | None
    public_ci_high: float | None
    public_rank: int | None


@dataclass(frozen=True)
class PersonalBoard:
    mode: str
    mode_label: str
    votes: int
    votes_needed: int
    rows: tuple[PersonalRow, ...]


def personal_boards(voter: str) -> list[PersonalBoard]:
    """One board per arena the voter has voted in; rows empty below the minimum."""
    boards = []
    for mode in ArenaMode.values:
        votes = list(
            Vote.objects.filter(voter=voter, mode=mode).values_list(
                "model_a__name", "model_b__name", "outcome"
            )
        )
        if not votes:
            continue
        rows: tuple[PersonalRow, ...] = ()
        if len(votes) >= PERSONAL_MIN_VOTES:
            rows = _rows(mode, votes)
        boards.append(
            PersonalBoard(
                mode=mode,
                mode_label=ArenaMode(mode).label,
                votes=len(votes),
                votes_needed=max(0, PERSONAL_MIN_VOTES - len(votes)),
                rows=rows,
            )
        )
    return boards


def _rows(mode: str, votes) -> tuple[PersonalRow, ...]:
    a, b, outcome = zip(*votes, strict=True)
    board = rate(a, b, outcome, bootstrap=PERSONAL_BOOTSTRAP, seed=0, min_votes=0)
    public = {}
    leaderboard = current_leaderboard(mode)
    if leaderboard is not None:
        public = {
            r.image_model.name: r
            for r in Rating.objects.filter(leaderboard=leaderboard).select_related("image_model")
        }
    rows = []
    for row in board.rows:
        mine = public.get(row.model)
        rows.append(
            PersonalRow(
                model=row.model,
                rating=row.rating,
                ci_low=row.ci_low,
                ci_high=row.ci_high,
                votes=row.votes,
                win_rate=row.win_rate,
                public_rating=mine.rating if mine else None,
                public_ci_low=mine.ci_low if mine else None,
                public_ci_high=mine.ci_high if mine else None,
                public_rank=mine.rank if mine else None,
            )
        )
    return tuple(rows)


def votes_csv(voter: str) -> str:
    """The voter's own votes in the public arena battle format (plus arena and challenge)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = (
        Vote.objects.filter(voter=voter)
        .order_by("created_at", "id")
        .values_list(
            "model_a__slug", "model_b__slug", "outcome", "mode", "category__slug",
            "challenge__slug", "created_at",
        )
    )  # fmt: skip
    for model_a, model_b, outcome, mode, category, challenge, created_at in rows:
        writer.writerow(
            neutralize_row(
                {
                    "model_a": model_a,
                    "model_b": model_b,
                    "winner": WINNER[outcome],
                    "arena": mode,
                    "category": category or "",
                    "challenge": challenge or "",
                    "timestamp": created_at.isoformat().replace("+00:00", "Z"),
                }
            )
        )
    return out.getvalue()
