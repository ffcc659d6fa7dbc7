"""Bootstrap confidence intervals for Bradley-Terry ratings, all rounds fitted together.

Each round redraws the cell counts (pair x outcome) from the multinomial with the
observed cell frequencies and the observed total - the same distribution as resampling
the votes with replacement - and refits. Rounds are fitted as one array of shape
(rounds, pairs), so the cost is O(rounds x pairs) per iteration, independent of votes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln

from .bradley_terry import (
    POINTS_PER_NAT,
    Fit,
    _newton_systems,
    design_scores,
    incidence_matrix,
    models_without_mle,
    solve_strengths,
    virtual_tie_weights,
)
from .votes import PairCounts

# Bootstrap fits stop at steps below 1e-6 nats (~2e-4 Elo points).
BOOTSTRAP_TOLERANCE_NATS = 1e-6
_CHORD_MAX_ITERATIONS = 40
# A round whose chord steps shrink slower than this is handed to full Newton.
_CHORD_MIN_CONTRACTION = 0.5
_JACOBI_SWEEPS = 10
_JACOBI_DAMPING = 0.7
_CHUNK_ELEMENTS = 1_000_000
# Poisson inversion tables larger than this many entries fall back to numpy's sampler.
_TABLE_BUDGET = 4_000_000
# A count's table (about 24 sqrt(count) + 50 entries) is built only when at most this
# many entries per cell that draws from it: numpy's sampler is cheaper for the few large
# counts of a board with millions of votes (building their tables took 80 ms a board).
_TABLE_ENTRIES_PER_CELL = 64


@dataclass(frozen=True)
class Intervals:
    """Bootstrap distribution of the ratings of `Fit.models` (Elo points).

    `ci_low`/`ci_high` are the (1 - confidence)/2 and (1 + confidence)/2 percentiles of
    `samples` (rounds x models), `median` the 50th. `newton_rounds` rounds needed the
    slower full-Newton path; in `rule_rounds` rounds resampling left some model without a
    finite MLE and the virtual-tie rule of the point fit was applied to that round.
    """

    models: tuple[str, ...]
    ci_low: np.ndarray
    ci_high: np.ndarray
    median: np.ndarray
    samples: np.ndarray
    confidence: float
    rounds: int
    seed: int
    newton_rounds: int
    rule_rounds: int


def bootstrap_intervals(
    counts: PairCounts,
    fit: Fit,
    *,
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Intervals:
    """Percentile bootstrap intervals for the ratings of `fit` (Efron & Tibshirani 1993).

    Each round draws the counts of the fit's (pair, outcome) cells from
    Multinomial(n, observed cell counts / n), n the number of votes the fit used, and
    refits with the fit's settings (both-bad rule, prior, centring, anchor shift). A
    round whose resampled votes have no finite MLE gets the same virtual-tie rule as the
    point fit. Each round is centred to the fit's mean, then shifted by the fit's anchor
    shift, so an anchored model's interval describes it relative to the field.

    Exact multinomial draws come from independent Poisson(cell count) draws (table
    inversion), conditioned on the total: surplus votes are removed uniformly at random,
    missing ones added from the observed frequencies; this is exactly multinomial.
    Fits start at the point estimate and iterate theta += S H0^-1 S g, with H0 the
    Hessian of the point fit and S a per-round diagonal rescaling (a chord method,
    linear convergence, no per-round matrix factorisation). Rounds that converge slowly
    - typically rounds where the virtual-tie rule moved some model far - finish with
    damped Newton, which costs a dense solve per round and iteration: on 100 well-sampled
    models 1000 rounds take well under a second, while a sparse, lopsided set such as
    football_all (334 models, every round needing the rule) takes ~10 s.
    Seeded: numpy Generator(PCG64(seed)); the same seed and data give the same result.

    Long on purpose: one chunked loop whose steps (draw, rule, chord solve, Newton
    fallback) share a dozen arrays; the step that stands alone is `_apply_the_rule`.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    if rounds < 0:
        raise ValueError("rounds must be >= 0")
    design = fit.design
    n_models = design.n_models
    if n_models == 0 or rounds == 0:
        return Intervals(
            models=fit.models,
            ci_low=fit.rating.copy(),
            ci_high=fit.rating.copy(),
            median=fit.rating.copy(),
            samples=np.zeros((0, n_models)),
            confidence=confidence,
            rounds=0,
            seed=seed,
            newton_rounds=0,
            rule_rounds=0,
        )

    rng = np.random.Generator(np.random.PCG64(seed))
    cells = design.cells
    flat = cells.ravel()
    observed = np.flatnonzero(flat > 0)
    sampler = _MultinomialSampler(flat[observed])
    theta_hat = fit.theta
    pair_i, pair_j = design.pair_i, design.pair_j
    incidence = incidence_matrix(pair_i, pair_j, n_models)
    score_hat, total_hat = design_scores(design, cells[None].astype(np.float64))
    _, hessian = _newton_systems(
        theta_hat[None, :], pair_i, pair_j, score_hat, total_hat, design.ridge, incidence
    )
    chord = np.linalg.inv(hessian[0])
    forward_hat = (cells[:, 0] + cells[:, 2]) > 0
    backward_hat = (cells[:, 1] + cells[:, 2]) > 0

    theta = np.empty((rounds, n_models))
    newton_rounds = 0
    rule_rounds = 0
    chunk = max(1, min(rounds, _CHUNK_ELEMENTS // max(1, flat.size)))
    for first in range(0, rounds, chunk):
        size = min(chunk, rounds - first)
        drawn = np.zeros((size, flat.size), dtype=np.float64)
        drawn[:, observed] = sampler.draw(size, rng)
        drawn = drawn.reshape(size, -1, 3)
        score, total = design_scores(design, drawn)

        moved = _apply_the_rule(design, drawn, score, total, forward_hat, backward_hat)
        rule_rounds += moved.size

        start = np.broadcast_to(theta_hat, (size, n_models)).copy()
        if moved.size:
            start[moved] = _jacobi_sweeps(
                start[moved], score[moved], total[moved], pair_i, pair_j, incidence, design.ridge
            )
        result, slow = _chord_solve(
            start,
            theta_hat,
            total_hat[0],
            score,
            total,
            pair_i,
            pair_j,
            incidence,
            chord,
            design.ridge,
        )
        if slow.size:
            newton_rounds += slow.size
            result[slow], _ = solve_strengths(
                pair_i,
                pair_j,
                score[slow],
                total[slow],
                n_models,
                theta0=start[slow],
                ridge=design.ridge,
                tolerance_nats=BOOTSTRAP_TOLERANCE_NATS,
            )
        theta[first : first + size] = result

    theta -= theta.mean(axis=1, keepdims=True)
    samples = fit.center + fit.shift_points + POINTS_PER_NAT * theta
    tail = 50.0 * (1.0 - confidence)
    # numpy's default (linear between closest ranks, Hyndman-Fan type 7): the project's
    # one percentile definition (bench.stats.percentile), here on arrays.
    low, median, high = np.percentile(samples, [tail, 50.0, 100.0 - tail], axis=0)
    return Intervals(
        models=fit.models,
        ci_low=low,
        ci_high=high,
        median=median,
        samples=samples,
        confidence=confidence,
        rounds=rounds,
        seed=seed,
        newton_rounds=newton_rounds,
        rule_rounds=rule_rounds,
    )


def _apply_the_rule(design, drawn, score, total, forward_hat, backward_hat) -> np.ndarray:
    """The resampled rounds that need the virtual-tie rule, their `score` and `total`
    rows rewritten with it (in place); returns their indices.

    Resampling can only remove edges of the "won or tied" graph; where it removed one,
    the round may lack a finite MLE and is checked on its own.
    """
    n_models, pair_i, pair_j = design.n_models, design.pair_i, design.pair_j
    lost_edge = (forward_hat & ~((drawn[..., 0] + drawn[..., 2]) > 0)) | (
        backward_hat & ~((drawn[..., 1] + drawn[..., 2]) > 0)
    )
    special = np.flatnonzero(lost_edge.any(axis=1))
    if design.ridge != 0 or not special.size:
        return special[:0]
    has_prior = models_without_mle(
        n_models,
        pair_i,
        pair_j,
        drawn[special, :, 0] + drawn[special, :, 2],
        drawn[special, :, 1] + drawn[special, :, 2],
    )
    changed = (has_prior != design.has_prior).any(axis=1)
    pair_votes = design.cells.sum(axis=1).astype(np.float64)
    for r, flagged in zip(special[changed], has_prior[changed], strict=True):
        virtual = virtual_tie_weights(
            n_models, pair_i, pair_j, pair_votes, flagged, design.virtual_ties_per_model
        )
        ties = drawn[r, :, 2] + virtual
        score[r] = drawn[r, :, 0] + 0.5 * ties
        total[r] = drawn[r, :, 0] + drawn[r, :, 1] + ties
    return special[changed]


def _jacobi_sweeps(theta, score, total, pair_i, pair_j, incidence, ridge):
    """Warm start for rounds where the virtual-tie rule moved some models far from the fit.

    Damped nonlinear Jacobi: every model takes a one-dimensional Newton step (capped at
    1 nat) with the others held fixed. Cheap, O(rounds x pairs) per sweep, and it brings
    weakly connected models close, which the global steps that follow then finish.
    """
    incidence_t = incidence.T.tocsr()
    absolute_t = abs(incidence_t)
    th = np.ascontiguousarray(theta.T)
    sc, to = score.T, total.T
    for _ in range(_JACOBI_SWEEPS):
        p = expit(th[pair_i] - th[pair_j])
        gradient = incidence_t @ (sc - to * p) - ridge * th
        curvature = absolute_t @ (to * p * (1.0 - p)) + ridge
        step = _JACOBI_DAMPING * np.clip(gradient / curvature, -1.0, 1.0)
        th += step
        if np.abs(step).max() < 1e-3:
            break
    return th.T


def _chord_solve(
    start, theta_hat, total_hat, score, total, pair_i, pair_j, incidence, chord, ridge
):
    """Iterate theta += S H0^-1 S gradient for every round; return theta and the slow rounds.

    H0 is the Hessian of the point fit and S = diag(sqrt(h0 / h)) rescales it to the
    current Hessian diagonal h of each round (so a model that drew many more or fewer
    votes than observed takes a proportionate step). Rounds whose steps shrink by less
    than half per iteration, or that have not converged after the iteration cap, are
    returned as slow (theta left at `start`) for damped Newton. Works on (pairs, rounds)
    arrays so that gathers and the sparse products run over contiguous rows.
    """
    rounds = score.shape[0]
    result = start.copy()
    work_ids = np.arange(rounds)
    slow = []
    th = np.ascontiguousarray(start.T)
    sc = np.ascontiguousarray(score.T)
    to = np.ascontiguousarray(total.T)
    previous = np.full(rounds, np.inf)
    incidence_t = incidence.T.tocsr()
    absolute_t = abs(incidence_t)
    p_hat = expit(theta_hat[pair_i] - theta_hat[pair_j])
    diagonal_hat = (absolute_t @ (total_hat * p_hat * (1.0 - p_hat)) + ridge)[:, None]
    for _ in range(_CHORD_MAX_ITERATIONS):
        if work_ids.size == 0:
            break
        p = th[pair_i]
        p -= th[pair_j]
        expit(p, out=p)
        weight = to * p
        residual = sc - weight
        weight -= weight * p
        scale = np.sqrt(diagonal_hat / (absolute_t @ weight + ridge))
        gradient = incidence_t @ residual
        if ridge:
            gradient -= ridge * th
        gradient *= scale
        step = chord @ gradient
        step *= scale
        norm = np.abs(step).max(axis=0)
        th += step
        converged = norm <= BOOTSTRAP_TOLERANCE_NATS
        stalled = ~converged & ~(norm <= _CHORD_MIN_CONTRACTION * previous)
        finished = converged | stalled
        if finished.any():
            result[work_ids[converged]] = th[:, converged].T
            slow.append(work_ids[stalled])
            keep = ~finished
            work_ids, norm = work_ids[keep], norm[keep]
            th = np.ascontiguousarray(th[:, keep])
            sc = np.ascontiguousarray(sc[:, keep])
            to = np.ascontiguousarray(to[:, keep])
        previous = norm
    slow.append(work_ids)
    return result, np.sort(np.concatenate(slow))


class _MultinomialSampler:
    """Exact Multinomial(n, counts / n) draws over cells with positive `counts`.

    Independent Poisson(counts) draws, conditioned on their sum being n: a Poisson
    vector with total T is Multinomial(T, counts / n), so removing T - n of its votes
    uniformly at random, or adding n - T votes drawn from counts / n, leaves an exact
    Multinomial(n, counts / n) draw. Poisson draws invert per-value CDF tables through
    a guide table (Chen & Asau 1974), much faster than numpy's per-draw samplers when
    many cells share a count.
    """

    def __init__(self, counts: np.ndarray):
        self.counts = counts.astype(np.int64)
        self.total = int(self.counts.sum())
        self.cumulative = np.cumsum(self.counts)
        values, value_of_cell = np.unique(self.counts, return_inverse=True)
        spread = 12.0 * np.sqrt(values) + 25.0
        low = np.maximum(0, np.floor(values - spread)).astype(np.int64)
        high = np.ceil(values + spread).astype(np.int64)
        length = high - low + 1
        sharing = np.bincount(value_of_cell, minlength=values.size)
        tabled = (np.cumsum(length) <= _TABLE_BUDGET) & (
            length <= _TABLE_ENTRIES_PER_CELL * sharing
        )
        self.direct_cells = np.flatnonzero(~tabled[value_of_cell])
        self.table_cells = np.flatnonzero(tabled[value_of_cell])
        values, low, length = values[tabled], low[tabled], length[tabled]

        offset = np.concatenate([[0], np.cumsum(length)[:-1]])
        table = np.repeat(np.arange(values.size), length)
        x = np.arange(length.sum()) - offset[table] + low[table]
        lam = values[table].astype(np.float64)
        pmf = np.exp(x * np.log(lam) - lam - gammaln(x + 1.0))
        cdf = np.cumsum(pmf)
        cdf -= np.concatenate([[0.0], cdf[offset[1:] - 1]])[table]
        cdf[offset + length - 1] = 1.0
        cdf = np.minimum(cdf, 1.0)

        guide_size = 2 * length
        guide_offset = np.concatenate([[0], np.cumsum(guide_size)[:-1]])
        guide_table = np.repeat(np.arange(values.size), guide_size)
        level = (np.arange(guide_size.sum()) - guide_offset[guide_table]) / guide_size[guide_table]
        # Exact merge of CDF entries and guide levels per table: the guide entry is the
        # number of CDF entries <= its level, the first candidate for u >= level.
        keys_table = np.concatenate([table, guide_table])
        keys_value = np.concatenate([cdf, level])
        is_guide = np.concatenate([np.zeros(cdf.size, bool), np.ones(level.size, bool)])
        order = np.lexsort((is_guide, keys_value, keys_table))
        cdf_seen = np.cumsum(~is_guide[order])
        guide = np.empty(level.size, dtype=np.int64)
        guide[order[is_guide[order]] - cdf.size] = cdf_seen[is_guide[order]]
        guide -= offset[guide_table]

        cell_value = (np.cumsum(tabled) - 1)[value_of_cell[self.table_cells]]
        self.cdf = cdf
        self.guide = guide
        self.cell_table_offset = offset[cell_value]
        self.cell_low = low[cell_value]
        self.cell_guide_offset = guide_offset[cell_value]
        self.cell_guide_size = guide_size[cell_value].astype(np.float64)

    def _poisson(self, rounds: int, rng: np.random.Generator) -> np.ndarray:
        draws = np.empty((rounds, self.counts.size), dtype=np.int64)
        if self.direct_cells.size:
            draws[:, self.direct_cells] = rng.poisson(
                self.counts[self.direct_cells].astype(np.float64),
                size=(rounds, self.direct_cells.size),
            )
        if self.table_cells.size:
            u = rng.random((rounds, self.table_cells.size))
            start = self.cell_guide_offset + (u * self.cell_guide_size).astype(np.int64)
            position = (self.cell_table_offset + self.guide[start]).ravel()
            u = u.ravel()
            more = np.flatnonzero(u > self.cdf[position])
            while more.size:
                position[more] += 1
                more = more[u[more] > self.cdf[position[more]]]
            x = position.reshape(rounds, -1) - self.cell_table_offset + self.cell_low
            draws[:, self.table_cells] = x
        return draws

    def draw(self, rounds: int, rng: np.random.Generator) -> np.ndarray:
        draws = self._poisson(rounds, rng)
        n_cells = self.counts.size
        for r, drawn_total in enumerate(draws.sum(axis=1)):
            surplus = int(drawn_total) - self.total
            if surplus > 0:
                removed = rng.choice(int(drawn_total), size=surplus, replace=False)
                cell = np.searchsorted(np.cumsum(draws[r]), removed, side="right")
                draws[r] -= np.bincount(cell, minlength=n_cells)
            elif surplus < 0:
                added = rng.integers(0, self.total, size=-surplus)
                cell = np.searchsorted(self.cumulative, added, side="right")
                draws[r] += np.bincount(cell, minlength=n_cells)
        return draws
