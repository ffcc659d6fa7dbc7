"""Many synthetic demo votes, fast, for benchmarks and for sizing a deployment.

Unlike `simulate_crowd` (every vote served and recorded like a real one), the votes are
drawn in bulk with numpy and written with PostgreSQL's COPY (psycopg `cursor.copy`) or
batched inserts on SQLite: millions per minute. They look like the arena's: the same
hidden ratings and outcome rules as the demo crowd, challenges and models as the arena
pairs them, a few voters casting many votes and most a few, times spread evenly over
the last `days` days. Every vote is marked `is_demo` and has no matchup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from leaderboard.arena.demo import BAD_MIDPOINT, BAD_SCALE, TIE_RATE, hidden_ratings
from leaderboard.models import ArenaMode, Challenge, Generation, ImageModel, Vote

COLUMNS = (
    "model_a_id",
    "model_b_id",
    "outcome",
    "mode",
    "category_id",
    "challenge_id",
    "voter",
    "created_at",
    "is_flagged",
    "is_excluded",
    "exclusion_reason",
    "is_demo",
    "decision_ms",
)
OUTCOMES = np.array(["a", "b", "tie", "both_bad"])
BATCH = 100_000
# Six votes per voter on average; activity falls off as rank^-0.3, so at 10M votes the
# busiest voter casts about 300 and nine in ten votes come from voters with fewer than ten.
VOTES_PER_VOTER = 6
ACTIVITY_EXPONENT = 0.3
# Seven in ten votes go to text-to-image, as in the demo crowd.
MODE_SHARE = {ArenaMode.TEXT_TO_IMAGE: 0.7}


@dataclass(frozen=True)
class Arena:
    """One mode's challenges (with categories) and the models that can meet in each."""

    mode: str
    challenge_ids: np.ndarray
    category_ids: np.ndarray  # 0 for none
    model_ids: list[np.ndarray]  # per challenge


def arenas() -> list[Arena]:
    """Per mode, the challenges and for each the models with images for it (every
    active model when there are no images yet)."""
    active = np.array(
        ImageModel.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    )
    shown: dict[int, set[int]] = {}
    for challenge_id, model_id in Generation.objects.values_list(
        "challenge_id", "offering__image_model_id"
    ).distinct():
        shown.setdefault(challenge_id, set()).add(model_id)
    found = []
    for mode in ArenaMode.values:
        challenges = list(
            Challenge.objects.filter(mode=mode).order_by("pk").values_list("pk", "category_id")
        )
        usable = [
            (pk, category, np.array(sorted(shown.get(pk, ())) or active, dtype=np.int64))
            for pk, category in challenges
        ]
        usable = [item for item in usable if item[2].size >= 2]
        if usable:
            found.append(
                Arena(
                    mode=mode,
                    challenge_ids=np.array([u[0] for u in usable], dtype=np.int64),
                    category_ids=np.array([u[1] or 0 for u in usable], dtype=np.int64),
                    model_ids=[u[2] for u in usable],
                )
            )
    return found


def _outcomes(rng, rating_a: np.ndarray, rating_b: np.ndarray) -> np.ndarray:
    """The demo crowd's outcome rule (`crowd_choice`), vectorised."""
    p_a = 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))
    bad_a = rng.random(p_a.size) < 1.0 / (1.0 + 10.0 ** ((rating_a - BAD_MIDPOINT) / BAD_SCALE))
    bad_b = rng.random(p_a.size) < 1.0 / (1.0 + 10.0 ** ((rating_b - BAD_MIDPOINT) / BAD_SCALE))
    tie = rng.random(p_a.size) < TIE_RATE * (1.0 - np.abs(p_a - 0.5) * 2.0)
    a_won = rng.random(p_a.size) < p_a
    code = np.where(bad_a & bad_b, 3, np.where(tie, 2, np.where(a_won, 0, 1)))
    return OUTCOMES[code]


def _voter(seed: int, number: int) -> str:
    # Hashed on the fly, per vote: ten million votes' voters would not fit in memory.
    return hashlib.sha256(f"seed-voter:{seed}:{number}".encode()).hexdigest()


def _batch(rng, arena: Arena, n: int, truth: np.ndarray, voters: tuple[int, int], weights):
    """n votes of one arena as columns (times are filled in by the caller)."""
    pick = rng.integers(0, arena.challenge_ids.size, n)
    model_a = np.empty(n, dtype=np.int64)
    model_b = np.empty(n, dtype=np.int64)
    for c, models in enumerate(arena.model_ids):
        rows = np.flatnonzero(pick == c)
        first = rng.integers(0, models.size, rows.size)
        # The second model differs from the first: draw among the others.
        second = (first + rng.integers(1, models.size, rows.size)) % models.size
        model_a[rows], model_b[rows] = models[first], models[second]
    return {
        "model_a_id": model_a,
        "model_b_id": model_b,
        "outcome": _outcomes(rng, truth[model_a], truth[model_b]),
        "category_id": arena.category_ids[pick],
        "challenge_id": arena.challenge_ids[pick],
        "voter": [_voter(voters[0], k) for k in rng.choice(voters[1], n, p=weights).tolist()],
        "decision_ms": rng.integers(3000, 20000, n),
    }


def seed_votes(n: int, *, seed: int = 0, days: float = 180, say=lambda line: None) -> int:
    """Write `n` synthetic demo votes; returns how many (0 when the arena has no
    challenges with two models)."""
    found = arenas()
    if n <= 0 or not found:
        return 0
    rng = np.random.default_rng(seed)
    slugs = dict(ImageModel.objects.values_list("pk", "slug"))
    # One hidden truth for every seed: later batches agree with earlier ones.
    by_slug = hidden_ratings(list(slugs.values()), 0)
    truth = np.zeros(max(slugs) + 1)
    for pk, slug in slugs.items():
        truth[pk] = by_slug[slug]
    n_voters = max(1, n // VOTES_PER_VOTER)
    # A few voters cast many votes, most a few (Zipf-like activity).
    weights = 1.0 / np.arange(1, n_voters + 1) ** ACTIVITY_EXPONENT
    weights /= weights.sum()
    end = timezone.now()
    start_us = np.datetime64(
        (end - timedelta(days=days)).astimezone(UTC).replace(tzinfo=None), "us"
    )
    step_us = max(1, int(days * 86_400_000_000) // n)
    shares = np.array([MODE_SHARE.get(a.mode, 0.3) for a in found])
    written = 0
    with transaction.atomic():
        while written < n:
            size = min(BATCH, n - written)
            which = rng.choice(len(found), size, p=shares / shares.sum())
            columns = {name: np.empty(size, dtype=object) for name in COLUMNS}
            for k, arena in enumerate(found):
                rows = np.flatnonzero(which == k)
                drawn = _batch(rng, arena, rows.size, truth, (seed, n_voters), weights)
                for name, values in drawn.items():
                    columns[name][rows] = values
                columns["mode"][rows] = arena.mode
            offsets = (written + np.arange(size)) * step_us
            columns["created_at"] = np.datetime_as_string(start_us + offsets, unit="us")
            _write(columns, size)
            written += size
            say(f"{written:,} votes")
    _settle()
    return written


def _settle() -> None:
    """PostgreSQL: vacuum and analyze the votes as autovacuum would some minutes later,
    so a benchmark that follows sees the table a live arena has (visibility map set:
    index-only scans; statistics current: the plans of the real thing)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {Vote._meta.db_table}")


def _write(columns: dict, size: int) -> None:
    columns["category_id"] = np.where(columns["category_id"] == 0, None, columns["category_id"])
    columns["challenge_id"] = np.where(columns["challenge_id"] == 0, None, columns["challenge_id"])
    if connection.vendor == "postgresql":
        _copy(columns)
    else:
        _insert(columns, size)


def _copy(columns: dict) -> None:
    """PostgreSQL: one COPY per batch, in its text format."""

    def cell(value) -> str:
        return "\\N" if value is None else str(value)

    constants = {"is_flagged": "f", "is_excluded": "f", "exclusion_reason": "", "is_demo": "t"}
    created = np.char.add(columns["created_at"].astype(str), "+00")
    lists = [
        [constants[name]] * created.size
        if name in constants
        else created.tolist()
        if name == "created_at"
        else [cell(v) for v in columns[name].tolist()]
        for name in COLUMNS
    ]
    text = "\n".join("\t".join(row) for row in zip(*lists, strict=True)) + "\n"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {Vote._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
        ) as copy:
            copy.write(text.encode())


def _insert(columns: dict, size: int) -> None:
    """SQLite: executemany in one transaction (Django's UTC text date-times)."""
    created = np.char.replace(columns["created_at"].astype(str), "T", " ")
    constants = {"is_flagged": False, "is_excluded": False, "exclusion_reason": "", "is_demo": True}
    lists = [
        [constants[name]] * size
        if name in constants
        else created.tolist()
        if name == "created_at"
        else [v if v is None or isinstance(v, str) else int(v) for v in columns[name].tolist()]
        for name in COLUMNS
    ]
    marks = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Vote._meta.db_table} ({', '.join(COLUMNS)}) VALUES ({marks})",
            list(zip(*lists, strict=True)),
        )
