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

from .bradley_terry import fit_bradley_terry, win_probability
from .votes import _SWAPPED_OUTCOME, OUTCOMES, PairCounts

P_THRESHOLD = 1e-4
MIN_VOTES = 10
MIN_CONSISTENCY_VOTES = 20
DECISIVE_OUTCOMES = ("a", "b")
# Groups whose last p-value was above this are not re-tested after each refit.
RETEST_P = 1e-2


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


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values sorted, each value's index among them), to group by integers.

    Hashing, not sorting, the values: numpy sorts an object array by comparing Python
    objects one pair at a time, and as strings it would copy them into fixed-width
    arrays (gigabytes at ten million votes).
    """
    listed = np.asarray(values).tolist()
    distinct = sorted(set(listed))
    position = {value: k for k, value in enumerate(distinct)}
    code = np.fromiter(map(position.__getitem__, listed), dtype=np.int64, count=len(listed))
    return np.array(distinct, dtype=object), code


def _both_rated(model_a: np.ndarray, model_b: np.ndarray, ratings: dict) -> np.ndarray:
    """Per vote, whether both models are in `ratings` (one lookup per distinct model)."""
    models, code = _codes(np.concatenate([model_a, model_b]))
    rated = np.array([m in ratings for m in models], dtype=bool)[code]
    return rated[: len(model_a)] & rated[len(model_a) :]


def _ratings_of(model_a: np.ndarray, model_b: np.ndarray, ratings: dict) -> tuple:
    """Per vote, the ratings of A and of B (all models must be in `ratings`)."""
    models, code = _codes(np.concatenate([model_a, model_b]))
    value = np.array([ratings[m] for m in models], dtype=np.float64)[code]
    return value[: len(model_a)], value[len(model_a) :]


def poisson_binomial_pmf(probabilities: np.ndarray) -> np.ndarray:
    """P(K = k) for k = 0..n, K the number of successes of independent Bernoulli(p_i),
    by repeated convolution (exact; O(n^2), fine for thousands of trials)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    pmf = np.zeros(probabilities.size + 1)
    pmf[0] = 1.0
    for n, p in enumerate(probabilities, start=1):
        pmf[1 : n + 1] = pmf[1 : n + 1] * (1.0 - p) + pmf[:n] * p
        pmf[0] *= 1.0 - p
    return pmf


def poisson_binomial_tails(probabilities: np.ndarray, k: int) -> tuple[float, float]:
    """(P(K >= k), P(K <= k)) for the Poisson-binomial K with success probabilities.

    Exact where it can matter; within 3 standard deviations of the mean (tails of 1e-3
    and more, far from any threshold used here) the normal approximation with
    continuity correction is returned instead, which saves the O(n^2) convolution for
    the bulk of voters."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    mean = probabilities.sum()
    sd = np.sqrt((probabilities * (1.0 - probabilities)).sum())
    if sd > 0 and abs(k - mean) < 3.0 * sd:
        upper = float(ndtr((mean - (k - 0.5)) / sd))
        lower = float(ndtr((k + 0.5 - mean) / sd))
        return upper, lower
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
    known = _both_rated(model_a, model_b, ratings)
    if not known.any():
        return []
    group, model_a, model_b, a_won = group[known], model_a[known], model_b[known], a_won[known]
    p_a = win_probability(*_ratings_of(model_a, model_b, ratings))
    # Each vote twice: once from A's side, once from B's.
    sides = (
        np.concatenate([group, group]),
        np.concatenate([model_a, model_b]),
        np.concatenate([p_a, 1.0 - p_a]),
        np.concatenate([a_won, ~a_won]),
    )
    groups, group_code = _codes(sides[0])
    models, model_code = _codes(sides[1])
    keys = group_code.astype(np.int64) * len(models) + model_code
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
        group_key, model = groups[unique[index] // len(models)], models[unique[index] % len(models)]
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
    p_a = win_probability(*_ratings_of(model_a, model_b, ratings))
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
    crowd: tuple | None = None,
) -> list[Consistency]:
    """Consistency of every group with at least `min_votes` decisive votes on rated
    models against the whole crowd's, least consistent first.

    `crowd`, when given, is more of the crowd's decisive votes, counted but not
    grouped: (model_a, model_b, a_won, weight) arrays, a weight being a vote count.
    """
    group, model_a, model_b = (np.asarray(x, dtype=object) for x in (group, model_a, model_b))
    a_won = np.asarray(a_won, dtype=bool)
    known = _both_rated(model_a, model_b, ratings)
    if known.sum() < 2:
        return []
    group = group[known]
    log_likelihood, residual = vote_residuals(model_a[known], model_b[known], a_won[known], ratings)
    crowd_mean, crowd_sd = _crowd_spread(residual, crowd, ratings)
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


def _crowd_spread(residual: np.ndarray, crowd, ratings) -> tuple[float, float]:
    """Mean and standard deviation of the residuals, with the weighted `crowd` cells."""
    if crowd is None:
        return float(residual.mean()), float(residual.std())
    model_a, model_b, a_won, weight = (np.asarray(x) for x in crowd)
    known = _both_rated(model_a, model_b, ratings)
    extra = (
        vote_residuals(model_a[known], model_b[known], a_won[known], ratings)[1]
        if known.any()
        else np.zeros(0)
    )
    values = np.concatenate([residual, extra])
    weights = np.concatenate([np.ones(residual.size), np.asarray(weight, float)[known]])
    mean = float(np.average(values, weights=weights))
    return mean, float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))


# Leave-one-out and one at a time: a stuffer who is a large share of the votes drags the
# ratings towards itself, so tested against ratings that include its own votes it can
# look ordinary while honest voters look odd. Each group is therefore tested against
# the ratings fitted without its own votes, and groups are flagged one at a time, the
# most extreme first, with the ratings refitted after each.


@dataclass(frozen=True)
class Suspect:
    """A flagged group: its most extreme favouritism finding, tested against `ratings`
    (fitted without the group's votes and without earlier suspects'), and the voters
    whose votes it excludes (for a network: those who went the model's way)."""

    kind: str  # "voter" or "network"
    finding: Favouritism
    voters: tuple[str, ...]
    ratings: dict[str, float]


class CellCounts:
    """Votes as (pair, outcome) cells over a fixed model list, for fast refits."""

    def __init__(self, model_a, model_b, outcome, base=None):
        base_a, base_b, base_outcome, base_weight = base if base is not None else ((), (), (), ())
        self.models = tuple(sorted(set(model_a) | set(model_b) | set(base_a) | set(base_b)))
        self.n_cells = len(self.models) ** 2 * 4
        self.cell = self._cells(model_a, model_b, outcome)
        # Counted votes outside the arrays, as cell totals (counts, not votes).
        self.base = np.bincount(
            self._cells(base_a, base_b, base_outcome),
            weights=np.asarray(base_weight, dtype=np.float64),
            minlength=self.n_cells,
        ).astype(np.int64)

    def _cells(self, model_a, model_b, outcome) -> np.ndarray:
        index = {m: k for k, m in enumerate(self.models)}
        a = np.array([index[m] for m in model_a], dtype=np.int64)
        b = np.array([index[m] for m in model_b], dtype=np.int64)
        code = np.array([OUTCOMES.index(o) for o in outcome], dtype=np.int64)
        code = np.where(a > b, _SWAPPED_OUTCOME[code], code)
        n = len(self.models)
        return (np.minimum(a, b) * n + np.maximum(a, b)) * 4 + code

    def totals(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.cell[mask], minlength=self.n_cells)

    def ratings(self, totals: np.ndarray) -> dict[str, float]:
        n = len(self.models)
        flat = totals.reshape(-1, 4)
        keep = np.flatnonzero(flat.any(axis=1))
        counts = PairCounts(
            models=self.models,
            pair_i=(keep // n).astype(np.int64),
            pair_j=(keep % n).astype(np.int64),
            counts=flat[keep].astype(np.int64),
        )
        fit = fit_bradley_terry(counts)
        return dict(zip(fit.models, (float(r) for r in fit.rating), strict=True))


def _testable(keys: np.ndarray, model_a, model_b, decisive, min_votes) -> set:
    """Keys with at least `min_votes` decisive votes involving one model."""
    if not decisive.any():
        return set()
    groups, group_code = _codes(keys[decisive])
    models, model_code = _codes(np.concatenate([model_a[decisive], model_b[decisive]]))
    side_group = np.concatenate([group_code, group_code]).astype(np.int64)
    unique, counts = np.unique(side_group * len(models) + model_code, return_counts=True)
    return set(groups[np.unique(unique[counts >= min_votes] // len(models))].tolist())


def find_suspects(
    voter: np.ndarray,
    network: np.ndarray,
    model_a: np.ndarray,
    model_b: np.ndarray,
    outcome: np.ndarray,
    counted: np.ndarray,
    candidate: np.ndarray,
    *,
    min_votes: int = MIN_VOTES,
    p_threshold: float = P_THRESHOLD,
    max_rounds: int = 200,
    base: tuple | None = None,
) -> list[Suspect]:
    """Voters and networks whose votes favour one model beyond the ratings, found one
    at a time (most extreme first), each tested against leave-its-votes-out ratings.

    Per vote: `voter`, `network` ("" for none), models, `outcome` ("a", "b", "tie",
    "both_bad"), whether it `counted` in the ratings and whether its voter is a
    `candidate` for testing. The ratings are refitted from the counted votes minus
    those of suspects found so far. A flagged network excludes its voters whose votes
    went the favoured model's way (more often than the ratings predict for "for",
    less for "against"), not its other voters. `base`, when given, holds the counted
    votes of voters who cannot be flagged, as cells: (model_a, model_b, outcome,
    count) arrays; they enter every fit but are never tested.
    """
    voter, network, model_a, model_b, outcome = (
        np.asarray(x, dtype=object) for x in (voter, network, model_a, model_b, outcome)
    )
    counted, candidate = np.asarray(counted, dtype=bool), np.asarray(candidate, dtype=bool)
    if not counted.any() and base is None:
        return []
    cells = CellCounts(model_a, model_b, outcome, base)
    decisive = np.isin(outcome, DECISIVE_OUTCOMES) & candidate
    a_won = outcome == "a"
    groups = [("voter", rows) for rows in _rows_of(voter, model_a, model_b, decisive, min_votes)]
    has_network = network != ""
    groups += [
        ("network", rows)
        for rows in _rows_of(network, model_a, model_b, decisive & has_network, min_votes)
    ]
    dropped = np.zeros_like(counted)
    last_p = [0.0] * len(groups)  # each group's smallest p-value at its last test
    cached: list = [None] * len(groups)
    suspects: list[Suspect] = []
    for _ in range(max_rounds):
        totals = cells.totals(counted & ~dropped) + cells.base
        best = None
        for g, (kind, rows) in enumerate(groups):
            rows = rows[~dropped[rows]]
            # A refit after one suspect moves the ratings a little: groups far from the
            # threshold keep their last verdict instead of being tested again.
            if cached[g] is None or last_p[g] < RETEST_P:
                live = rows[decisive[rows]]
                if live.size == 0:
                    last_p[g], cached[g] = 1.0, ()
                    continue
                ratings = cells.ratings(totals - cells.totals(rows[counted[rows]]))
                keys = voter[live] if kind == "voter" else network[live]
                findings = favouritism(
                    keys, model_a[live], model_b[live], a_won[live], ratings, min_votes=min_votes
                )
                cached[g] = (findings[0], ratings, live) if findings else ()
                last_p[g] = findings[0].p_value if findings else 1.0
            if cached[g] and (best is None or cached[g][0].p_value < best[1][0].p_value):
                best = (kind, cached[g])
        if best is None or best[1][0].p_value >= p_threshold:
            break
        kind, (finding, ratings, live) = best
        members = _members_going_its_way(voter, model_a, model_b, a_won, live, finding, ratings)
        if not members:
            break
        suspects.append(Suspect(kind, finding, tuple(sorted(members)), ratings))
        dropped |= np.isin(voter, list(members))
        for g, (_, rows) in enumerate(groups):
            if dropped[rows].any():
                cached[g] = None  # its own votes changed: test it again
    return suspects


def _rows_of(keys: np.ndarray, model_a, model_b, decisive, min_votes) -> list[np.ndarray]:
    """For each key with at least `min_votes` decisive votes involving one model, the
    indices of all its votes."""
    testable = _testable(keys, model_a, model_b, decisive, min_votes)
    if not testable:
        return []
    unique, code = _codes(keys)
    order = np.argsort(code, kind="stable")
    counts = np.bincount(code, minlength=len(unique))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return [
        order[start : start + count]
        for key, start, count in zip(unique.tolist(), starts, counts, strict=True)
        if key in testable
    ]


def _members_going_its_way(voter, model_a, model_b, a_won, live, finding, ratings) -> set:
    """Voters among the votes `live` (indices) whose votes on the finding's model went
    its way more (for) or less (against) often than `ratings` predict."""
    live = live[(model_a[live] == finding.model) | (model_b[live] == finding.model)]
    live = live[_both_rated(model_a[live], model_b[live], ratings)]
    members = set()
    for member in set(voter[live]):
        mine = live[voter[live] == member]
        p_a = win_probability(
            np.array([ratings[m] for m in model_a[mine]]),
            np.array([ratings[m] for m in model_b[mine]]),
        )
        is_a = model_a[mine] == finding.model
        expected = float(np.where(is_a, p_a, 1.0 - p_a).sum())
        wins = int(np.where(is_a, a_won[mine], ~a_won[mine]).sum())
        if (wins > expected) if finding.direction == "for" else (wins < expected):
            members.add(member)
    return members
