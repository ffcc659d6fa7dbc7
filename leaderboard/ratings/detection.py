"""Statistics that find voters whose votes the ratings cannot explain.

numpy and scipy only. Votes come in as arrays of decisive votes (A or B won; ties and
"both bad" say nothing about favouring a side and are left out by the caller) with a
group key per vote: a voter, or a network. Ratings are Elo points; the probability
that A beats B is the Bradley-Terry one the leaderboard uses,
P = 1 / (1 + 10^((R_B - R_A) / 400)).

Two tests, both at a p-value threshold (1e-4 by default):

* favouritism: for one group and one model with at least `min_votes` decisive votes,
  the number of votes that went the model's way, K, is a sum of independent Bernoulli
  trials with the ratings' probabilities (a Poisson-binomial variable). The one-sided
  p-values P(K >= k) (votes *for* the model far beyond the ratings) and P(K <= k)
  (far *against*) are computed exactly by convolution.
* consistency: how likely the group's votes are under the ratings, against the crowd.
  Per vote, the residual r = log P(chosen side) - E[log P(chosen side)] takes out how
  close the pair was; the crowd's residuals give a mean and a spread (real voters
  disagree with the ratings more than the model alone predicts, so the crowd, not the
  model, is the yardstick). A group's z = (sum r - n * mean) / (sd * sqrt(n)), and its
  p-value the normal lower tail: a voter far less consistent with the ratings than
  voters usually are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .bradley_terry import win_probability

P_THRESHOLD = 1e-4
MIN_VOTES = 10
MIN_CONSISTENCY_VOTES = 20


@dataclass(frozen=True)
class Favouritism:
    """One group's votes on one model: `wins` of `votes` went the model's way where the
    ratings expected `expected`; `p_value` is the one-sided tail in `direction`."""

    group: str
    model: str
    direction: str  # "for" or "against"
    votes: int
    wins: int
    expected: float
    p_value: float


@dataclass(frozen=True)
class Consistency:
    """One group's agreement with the ratings: mean log-likelihood per vote (nats) for
    the group and the crowd's mean at the same pairs, z and its lower-tail p-value."""

    group: str
    votes: int
    log_likelihood: float
    crowd_log_likelihood: float
    z: float
    p_value: float


def poisson_binomial_pmf(probabilities: np.ndarray) -> np.ndarray:
    """P(K = k) for k = 0..n, K the number of successes of independent Bernoulli(p_i),
    by repeated convolution (exact; O(n^2), fine for thousands of trials)."""
    pmf = np.ones(1)
    for p in np.asarray(probabilities, dtype=np.float64):
        pmf = np.concatenate([pmf * (1.0 - p), [0.0]]) + np.concatenate([[0.0], pmf * p])
    return pmf


def poisson_binomial_tails(probabilities: np.ndarray, k: int) -> tuple[float, float]:
    """(P(K >= k), P(K <= k)) for the Poisson-binomial K with success probabilities."""
    pmf = poisson_binomial_pmf(probabilities)
    upper = float(min(1.0, pmf[k:].sum()))
    lower = float(min(1.0, pmf[: k + 1].sum()))
    return upper, lower


def favouritism(
    group: np.ndarray,
    model_a: np.ndarray,
    model_b: np.ndarray,
    a_won: np.ndarray,
    ratings: dict[str, float],
    *,
    min_votes: int = MIN_VOTES,
) -> list[Favouritism]:
    """Every (group, model) with at least `min_votes` decisive votes involving a rated
    model, tested both ways; the smaller tail of each, most extreme first.

    `group`, `model_a`, `model_b` are arrays of keys per vote, `a_won` booleans.
    Votes whose models are not both in `ratings` are skipped.
    """
    group, model_a, model_b = (np.asarray(x, dtype=object) for x in (group, model_a, model_b))
    a_won = np.asarray(a_won, dtype=bool)
    known = np.array([a in ratings and b in ratings for a, b in zip(model_a, model_b, strict=True)])
    if not known.any():
        return []
    group, model_a, model_b, a_won = group[known], model_a[known], model_b[known], a_won[known]
    p_a = win_probability(
        np.array([ratings[m] for m in model_a]), np.array([ratings[m] for m in model_b])
    )
    # Each vote twice: once from A's side, once from B's.
    sides = (
        np.concatenate([group, group]),
        np.concatenate([model_a, model_b]),
        np.concatenate([p_a, 1.0 - p_a]),
        np.concatenate([a_won, ~a_won]),
    )
    keys = np.array([f"{g}\x00{m}" for g, m in zip(sides[0], sides[1], strict=True)])
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    # Rows sorted by key: each key's rows are one slice, found without a scan per key.
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    findings = []
    for index in np.flatnonzero(counts >= min_votes):
        rows = order[starts[index] : starts[index] + counts[index]]
        probabilities, won = sides[2][rows], sides[3][rows]
        wins = int(won.sum())
        upper, lower = poisson_binomial_tails(probabilities, wins)
        group_key, model = unique[index].split("\x00", 1)
        findings.append(
            Favouritism(
                group=group_key,
                model=model,
                direction="for" if upper <= lower else "against",
                votes=len(rows),
                wins=wins,
                expected=float(probabilities.sum()),
                p_value=min(upper, lower),
            )
        )
    return sorted(findings, key=lambda f: f.p_value)


def vote_residuals(
    model_a: np.ndarray, model_b: np.ndarray, a_won: np.ndarray, ratings: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(log P(chosen side), that minus its expectation under the ratings) per vote, nats.

    The expectation p log p + (1 - p) log(1 - p) is lowest for even pairs, so the
    residual does not punish a voter for being shown close pairs.
    """
    p_a = win_probability(
        np.array([ratings[m] for m in model_a], dtype=np.float64),
        np.array([ratings[m] for m in model_b], dtype=np.float64),
    )
    p_a = np.clip(p_a, 1e-12, 1.0 - 1e-12)
    chosen = np.where(np.asarray(a_won, dtype=bool), p_a, 1.0 - p_a)
    log_likelihood = np.log(chosen)
    expected = p_a * np.log(p_a) + (1.0 - p_a) * np.log(1.0 - p_a)
    return log_likelihood, log_likelihood - expected


def consistency(
    group: np.ndarray,
    model_a: np.ndarray,
    model_b: np.ndarray,
    a_won: np.ndarray,
    ratings: dict[str, float],
    *,
    min_votes: int = MIN_CONSISTENCY_VOTES,
) -> list[Consistency]:
    """Consistency of every group with at least `min_votes` decisive votes on rated
    models against the whole crowd's, least consistent first."""
    group, model_a, model_b = (np.asarray(x, dtype=object) for x in (group, model_a, model_b))
    a_won = np.asarray(a_won, dtype=bool)
    known = np.array([a in ratings and b in ratings for a, b in zip(model_a, model_b, strict=True)])
    if known.sum() < 2:
        return []
    group = group[known]
    log_likelihood, residual = vote_residuals(model_a[known], model_b[known], a_won[known], ratings)
    crowd_mean, crowd_sd = float(residual.mean()), float(residual.std())
    if crowd_sd == 0.0:
        return []
    expected_ll = log_likelihood - residual
    keys, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
    sum_residual = np.bincount(inverse, weights=residual)
    sum_ll = np.bincount(inverse, weights=log_likelihood)
    sum_expected = np.bincount(inverse, weights=expected_ll)
    results = []
    for index in np.flatnonzero(counts >= min_votes):
        n = int(counts[index])
        z = (sum_residual[index] - n * crowd_mean) / (crowd_sd * np.sqrt(n))
        results.append(
            Consistency(
                group=str(keys[index]),
                votes=n,
                log_likelihood=float(sum_ll[index] / n),
                crowd_log_likelihood=float((sum_expected[index] + n * crowd_mean) / n),
                z=float(z),
                p_value=float(ndtr(z)),
            )
        )
    return sorted(results, key=lambda c: c.z)
