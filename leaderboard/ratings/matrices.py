"""Head-to-head matrices: observed win rates and vote counts, and fitted win probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bradley_terry import Fit, win_probability
from .votes import PairCounts, counted_cells


@dataclass(frozen=True)
class PairwiseMatrices:
    """Square matrices over `models` (the order of `PairCounts.models`), row vs column.

    `votes[i, j]`: counted votes between i and j (symmetric). `win_rate[i, j]`: i's share,
    (wins of i + half the ties) / votes; NaN where the pair has no counted votes
    (including the diagonal), so "no data" is never shown as 0 or 50%.
    `predicted[i, j]`: P(i beats j) from the fitted ratings; NaN where i or j is
    unrated; None when no fit was given.
    """

    models: tuple[str, ...]
    votes: np.ndarray
    win_rate: np.ndarray
    predicted: np.ndarray | None


def pairwise_matrices(
    counts: PairCounts, fit: Fit | None = None, *, both_bad: str | None = None
) -> PairwiseMatrices:
    """Observed and predicted head-to-head matrices.

    Ties count half a win each way; `both_bad` ("tie" or "drop") defaults to the fit's
    rule, or "tie" without a fit. Predicted: 1 / (1 + 10^((R_j - R_i) / 400)).
    """
    rule = both_bad or (fit.both_bad if fit is not None else "tie")
    n = len(counts.models)
    cells = counted_cells(counts, rule).astype(np.float64)
    i, j = counts.pair_i, counts.pair_j
    votes = np.zeros((n, n), dtype=np.int64)
    score = np.zeros((n, n))
    pair_votes = cells.sum(axis=1)
    votes[i, j] = pair_votes
    votes[j, i] = pair_votes
    score[i, j] = cells[:, 0] + 0.5 * cells[:, 2]
    score[j, i] = cells[:, 1] + 0.5 * cells[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(votes > 0, score / votes, np.nan)

    predicted = None
    if fit is not None:
        rating = np.full(n, np.nan)
        rating[fit.design.model_index] = fit.rating
        predicted = win_probability(rating[:, None], rating[None, :])
    return PairwiseMatrices(counts.models, votes, win_rate, predicted)
