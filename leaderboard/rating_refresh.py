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
from django.db import connection, transaction
from django.utils import timezone

from leaderboard import ratings, vote_counts
from leaderboard.csv_cells import neutralize_cell
from leaderboard.elo_history import history_by_model, update_elo_states
from leaderboard.models import (
    ArenaMode,
    Category,
    Challenge,
    ImageModel,
    Leaderboard,
    PairTally,
    Rating,
    RatingWindow,
    RefreshState,
    Vote,
)

WINDOW_DAYS = {RatingWindow.ALL_TIME: None, RatingWindow.LAST_30_DAYS: 30}
EXPORT_WINNER = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}
EXPORT_CHUNK = 10_000
EXPORT_COLUMNS = ["model_a", "model_b", "winner", "category", "challenge", "timestamp"]


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


def refresh_leaderboards(
    *, bootstrap: int = 1000, seed: int = 0, now: datetime | None = None
) -> RefreshSummary:
    """Recompute every leaderboard (mode x overall/category x window) and make it current.

    The counts come from the database (`vote_counts`), brought up to date first; the
    previous leaderboards stay (marked not current) until `prune_leaderboards`, so a
    page never sees a half-written board.
    """
    started = time.monotonic()
    now = now or timezone.now()
    models_by_slug = {model.slug: model for model in ImageModel.objects.all()}
    slug_of = {model.pk: slug for slug, model in models_by_slug.items()}
    category_ids = list(Category.objects.values_list("pk", flat=True))
    states = {state.mode: state for state in RefreshState.objects.all()}
    vote_counts.update_day_counts(now)
    exclusions = vote_counts.active_exclusions()
    boards: list[tuple[Leaderboard, list[Rating]]] = []
    total_votes = 0
    elo_states = update_elo_states(
        ArenaMode.values,
        until=now,
        states={mode: state.elo for mode, state in states.items()},
        # Excluding or re-including a voter changes the past: play every vote again.
        rebuild={
            mode
            for mode in ArenaMode.values
            if mode not in states or set(states[mode].active_exclusions) != set(exclusions)
        },
    )
    for mode in ArenaMode.values:
        for window, days in WINDOW_DAYS.items():
            rows = window_counts(mode, now, days)
            for category_id in [None, *category_ids]:
                selected = rows if category_id is None else rows.select(rows.key == category_id)
                if category_id is not None and selected.key.size == 0:
                    continue
                counts = vote_counts.pair_counts(selected, slug_of)
                if category_id is None and days is None:
                    total_votes += counts.total_votes
                history = history_by_model(elo_states[mode]) if category_id is None else {}
                boards.append(
                    build_leaderboard(
                        counts,
                        mode,
                        window,
                        category_id,
                        models_by_slug,
                        bootstrap=bootstrap,
                        seed=seed,
                        now=now,
                        history=history if days is None else {},
                    )
                )
    with transaction.atomic():
        Leaderboard.objects.filter(is_current=True).update(is_current=False)
        for board, rows in boards:
            board.save()
            for row in rows:
                row.leaderboard = board
            Rating.objects.bulk_create(rows)
        vote_counts.write_pair_tallies(ArenaMode.values, computed_at=now)
        for mode, elo in elo_states.items():
            RefreshState.objects.update_or_create(
                mode=mode,
                defaults={"counted_until": now, "elo": elo, "active_exclusions": exclusions},
            )
    excluded = Vote.objects.filter(is_excluded=True).count()
    return RefreshSummary(
        leaderboards=len(boards),
        votes=total_votes,
        excluded_votes=excluded,
        models=len({r.image_model_id for _, rows in boards for r in rows}),
        seconds=time.monotonic() - started,
    )


def window_counts(mode: str, now: datetime, days: int | None) -> vote_counts.CountRows:
    """Counts per category and pair of the votes in a window: whole days from the
    stored table, and the part of the first day the window cuts from the votes."""
    if days is None:
        return vote_counts.summed_counts(mode, "category_id")
    cutoff = now - timedelta(days=days)
    first_day = cutoff.astimezone(UTC).date()
    whole = vote_counts.summed_counts(mode, "category_id", after_day=first_day)
    part = vote_counts.counts_between(
        mode, cutoff, vote_counts.day_start(first_day + timedelta(days=1))
    )
    return vote_counts.CountRows(
        *(
            np.concatenate([x, y])
            for x, y in zip(whole.__dict__.values(), part.__dict__.values(), strict=True)
        )
    )


def build_leaderboard(
    counts: ratings.PairCounts,
    mode,
    window,
    category_id,
    models_by_slug,
    *,
    bootstrap: int,
    seed: int,
    now: datetime,
    history: dict[str, list],
) -> tuple[Leaderboard, list[Rating]]:
    """Fit one leaderboard (unsaved rows): the engine's output mapped onto our tables."""
    board = ratings.rate_counts(counts, bootstrap=bootstrap, seed=seed)
    leaderboard = Leaderboard(
        mode=mode,
        category_id=category_id,
        window=window,
        computed_at=now,
        vote_count=counts.total_votes,
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
    PairTally.objects.filter(computed_at__lt=moments[-1]).delete()
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
    # Slugs from small dictionaries (made spreadsheet-safe once: a slug may start with
    # "-", and the CLI removes the quote), not joins; the time as text from the
    # database; rows straight off the vote table through a server-side cursor on
    # PostgreSQL, CSV-written a chunk at a time: bounded memory, no object per cell.
    model_slug = {
        pk: neutralize_cell(slug) for pk, slug in ImageModel.objects.values_list("pk", "slug")
    }
    category_slug = {
        pk: neutralize_cell(slug) for pk, slug in Category.objects.values_list("pk", "slug")
    }
    challenge_slug = {
        pk: neutralize_cell(slug) for pk, slug in Challenge.objects.values_list("pk", "slug")
    }
    category_slug[None] = challenge_slug[None] = ""
    winner = {outcome: neutralize_cell(name) for outcome, name in EXPORT_WINNER.items()}
    sql, params = _export_sql(mode, include_excluded, until)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(EXPORT_CHUNK):
            writer.writerows(
                (model_slug[a], model_slug[b], winner[o], category_slug[c], challenge_slug[h], t)
                for a, b, o, c, h, t in rows
            )
            count += len(rows)
    return count


def _export_sql(mode: str, include_excluded: bool, until: datetime | None) -> tuple[str, list]:
    """The export's rows, oldest first, with the time as `datetime.isoformat` writes it
    for UTC to the microsecond ("2026-12-04T10:11:12.000123+00:00")."""
    if connection.vendor == "postgresql":
        time = "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    else:
        # Django stores UTC as "YYYY-MM-DD HH:MM:SS", then ".ffffff" unless it is zero.
        # (%% is a literal % beside the query's parameters.)
        time = (
            "strftime('%%Y-%%m-%%dT%%H:%%M:%%S', created_at) || '.' "
            "|| substr(created_at || '.000000', 21, 6) || '+00:00'"
        )
    where, params = ["mode = %s"], [mode]
    if until is not None:
        where.append("created_at <= %s")
        params.append(connection.ops.adapt_datetimefield_value(until))
    if not include_excluded:
        where.append("NOT is_excluded")
    sql = (
        f"SELECT model_a_id, model_b_id, outcome, category_id, challenge_id, {time} "
        f"FROM {Vote._meta.db_table} WHERE {' AND '.join(where)} ORDER BY created_at, id"
    )
    return sql, params
