"""Votes as integer codes, and their aggregation into counts per pair and outcome.

Every later step (fit, bootstrap, matrices) works on `PairCounts`, so its cost grows
with the number of models and pairs, never with the number of votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OUTCOMES = ("a", "b", "tie", "both_bad")
A_WINS, B_WINS, TIE, BOTH_BAD = range(4)
BOTH_BAD_RULES = ("tie", "drop")

# Swapping the two sides of a vote turns an A win into a B win and leaves ties alone.
_SWAPPED_OUTCOME = np.array([B_WINS, A_WINS, TIE, BOTH_BAD], dtype=np.int8)
# Above this many (pair, outcome) cells a dense bincount wastes memory; np.unique is used.
_DENSE_CELL_LIMIT = 20_000_000


@dataclass(frozen=True)
class Votes:
    """Votes encoded as integer codes.

    `model_a` and `model_b` index into `models`; `outcome` indexes into `OUTCOMES`
    (0 = A better, 1 = B better, 2 = tie, 3 = both bad). `timestamp_s`, when known, is
    seconds since the epoch per vote; the arrays are then in time order.
    """

    models: tuple[str, ...]
    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    timestamp_s: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.outcome.shape[0])


@dataclass(frozen=True)
class PairCounts:
    """Vote counts per unordered pair of models and per outcome.

    Pair p is (models[pair_i[p]], models[pair_j[p]]) with pair_i < pair_j; only pairs
    with at least one vote are listed. `counts[p]` holds, in this order, the number of
    votes where model i was better, where model j was better, ties and "both bad".
    `self_votes` counts votes of a model against itself, which are ignored.
    """

    models: tuple[str, ...]
    pair_i: np.ndarray
    pair_j: np.ndarray
    counts: np.ndarray
    self_votes: int = 0

    @property
    def total_votes(self) -> int:
        return int(self.counts.sum())

    def model_totals(self) -> np.ndarray:
        """Per model (rows, in `models` order): wins, losses, ties, both_bad (ints)."""
        n = len(self.models)
        wins = np.bincount(self.pair_i, self.counts[:, A_WINS], n) + np.bincount(
            self.pair_j, self.counts[:, B_WINS], n
        )
        losses = np.bincount(self.pair_i, self.counts[:, B_WINS], n) + np.bincount(
            self.pair_j, self.counts[:, A_WINS], n
        )
        ties = np.bincount(self.pair_i, self.counts[:, TIE], n) + np.bincount(
            self.pair_j, self.counts[:, TIE], n
        )
        both_bad = np.bincount(self.pair_i, self.counts[:, BOTH_BAD], n) + np.bincount(
            self.pair_j, self.counts[:, BOTH_BAD], n
        )
        return np.stack([wins, losses, ties, both_bad], axis=1).round().astype(np.int64)


def encode_votes(
    model_a: Sequence[str] | np.ndarray,
    model_b: Sequence[str] | np.ndarray,
    outcome: Sequence[str] | np.ndarray,
    *,
    models: Sequence[str] | None = None,
    timestamp_s: Sequence[float] | np.ndarray | None = None,
) -> Votes:
    """Encode votes given as model names and outcome strings into integer codes.

    `outcome` values are "a", "b", "tie" or "both_bad". `models`, when given, fixes the
    model list and its order (models without votes are kept, and a vote naming a model
    outside the list is an error); otherwise the models are the sorted distinct names.
    When `timestamp_s` is given the votes are put in time order (stable sort).
    Raises ValueError on unequal lengths, unknown outcomes or unknown models.
    """
    a = np.asarray(model_a)
    b = np.asarray(model_b)
    o = np.asarray(outcome)
    if not (a.shape == b.shape == o.shape) or a.ndim != 1:
        raise ValueError("model_a, model_b and outcome must be 1-D and of equal length")
    if a.size == 0:
        names = tuple(str(m) for m in models) if models is not None else ()
        empty = np.zeros(0, dtype=np.int32)
        return Votes(names, empty, empty.copy(), np.zeros(0, dtype=np.int8))

    outcome_values, outcome_inverse = np.unique(o.astype(str), return_inverse=True)
    code_of = {name: code for code, name in enumerate(OUTCOMES)}
    unknown = [str(v) for v in outcome_values if v not in code_of]
    if unknown:
        raise ValueError(f"unknown outcome {unknown[0]!r} (expected one of {', '.join(OUTCOMES)})")
    outcome_codes = np.array([code_of[v] for v in outcome_values], dtype=np.int8)[outcome_inverse]

    names, inverse = np.unique(np.concatenate([a.astype(str), b.astype(str)]), return_inverse=True)
    if models is None:
        model_names = tuple(str(m) for m in names)
        codes = inverse.astype(np.int32)
    else:
        model_names = tuple(str(m) for m in models)
        index_of = {m: k for k, m in enumerate(model_names)}
        if len(index_of) != len(model_names):
            raise ValueError("models must not repeat a name")
        missing = [str(m) for m in names if m not in index_of]
        if missing:
            raise ValueError(f"vote names model {missing[0]!r}, which is not in models")
        codes = np.array([index_of[m] for m in names], dtype=np.int32)[inverse]

    n = a.size
    code_a, code_b = codes[:n], codes[n:]
    times = None
    if timestamp_s is not None:
        times = np.asarray(timestamp_s, dtype=np.float64)
        if times.shape != a.shape:
            raise ValueError("timestamp_s must have one value per vote")
        order = np.argsort(times, kind="stable")
        code_a, code_b, outcome_codes, times = (
            code_a[order],
            code_b[order],
            outcome_codes[order],
            times[order],
        )
    return Votes(model_names, code_a, code_b, outcome_codes, times)


def count_votes(votes: Votes) -> PairCounts:
    """Aggregate encoded votes into counts per (unordered pair, outcome).

    Each vote is first written with the lower model code as side i (swapping "a" and
    "b" when the sides are swapped), so the counts do not depend on which side a model
    was shown on. Fully vectorised: one bincount (or np.unique when the models are very
    many) over the integer cell code pair * 4 + outcome.
    """
    n_models = len(votes.models)
    a = votes.model_a.astype(np.int64)
    b = votes.model_b.astype(np.int64)
    outcome = votes.outcome.astype(np.int64)
    is_self = a == b
    self_votes = int(is_self.sum())
    if self_votes:
        keep = ~is_self
        a, b, outcome = a[keep], b[keep], outcome[keep]

    swapped = a > b
    low = np.where(swapped, b, a)
    high = np.where(swapped, a, b)
    outcome = np.where(swapped, _SWAPPED_OUTCOME[outcome], outcome)
    cell = (low * n_models + high) * 4 + outcome

    n_cells = n_models * n_models * 4
    if n_cells <= max(_DENSE_CELL_LIMIT, 4 * cell.size):
        flat = np.bincount(cell, minlength=n_cells).reshape(-1, 4)
        pair_key = np.flatnonzero(flat.any(axis=1))
        counts = flat[pair_key]
    else:
        pair_key, inverse = np.unique(cell // 4, return_inverse=True)
        counts = np.bincount(inverse * 4 + cell % 4, minlength=pair_key.size * 4).reshape(-1, 4)
    return PairCounts(
        models=votes.models,
        pair_i=(pair_key // n_models).astype(np.int64),
        pair_j=(pair_key % n_models).astype(np.int64),
        counts=counts.astype(np.int64),
        self_votes=self_votes,
    )


def aggregate_votes(
    model_a: Sequence[str] | np.ndarray,
    model_b: Sequence[str] | np.ndarray,
    outcome: Sequence[str] | np.ndarray,
    models: Sequence[str] | None = None,
) -> PairCounts:
    """Count votes given as names and outcome strings per (pair, outcome).

    Same as `count_votes(encode_votes(model_a, model_b, outcome, models=models))`.
    """
    return count_votes(encode_votes(model_a, model_b, outcome, models=models))


def check_both_bad_rule(both_bad: str) -> None:
    if both_bad not in BOTH_BAD_RULES:
        raise ValueError(f"both_bad must be 'tie' or 'drop', not {both_bad!r}")


def counted_cells(counts: PairCounts, both_bad: str) -> np.ndarray:
    """The counts the fit uses, shape (pairs, 3): i better, j better, ties.

    With both_bad="tie" a "both bad" vote is a tie; with "drop" it is left out.
    """
    check_both_bad_rule(both_bad)
    c = counts.counts
    ties = c[:, TIE] + (c[:, BOTH_BAD] if both_bad == "tie" else 0)
    return np.stack([c[:, A_WINS], c[:, B_WINS], ties], axis=1).astype(np.int64)
