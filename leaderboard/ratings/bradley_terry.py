"""Bradley-Terry maximum-likelihood ratings on the Elo scale, fitted on pair counts.

Model (Bradley & Terry 1952, Elo scale as in the LMSYS/Chatbot Arena notebooks):

    P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400))

A tie counts as half a win for each side. Internally the strengths are natural-log
odds, theta = R * ln(10) / 400. The log-likelihood over pairs p = (i, j) is

    L(theta) = sum_p  s_p log sigmoid(d_p) + (n_p - s_p) log sigmoid(-d_p),  d_p = theta_i - theta_j

with s_p = wins of i + ties / 2 and n_p the votes of the pair. It is concave and fixed
only up to a common shift, so ratings are reported with a chosen mean (1000) or anchor.

When the maximum does not exist (see `fit_bradley_terry`) a documented rule applies
instead; it never returns NaN or infinite ratings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import expit

from .votes import PairCounts, check_both_bad_rule, counted_cells

POINTS_PER_NAT = 400.0 / np.log(10.0)
STATUS_MLE = "mle"
STATUS_PRIOR = "prior"
REASON_NO_VOTES = "no_votes"
REASON_DISCONNECTED = "disconnected"

# Convergence of the point fit, in natural-log units: 1e-10 nats is ~2e-8 Elo points.
POINT_TOLERANCE_NATS = 1e-10
_MAX_NEWTON_ITERATIONS = 200
_MAX_STEP_HALVINGS = 50
_HESSIAN_BUDGET_BYTES = 64 * 2**20


@dataclass(frozen=True)
class UnratedModel:
    """A model left out of the ratings, with why (`reason`) in a word and in a sentence."""

    model: str
    votes: int
    reason: str
    detail: str


@dataclass(frozen=True)
class Design:
    """The comparison data the fit uses, restricted to the rated models.

    `model_index` maps rated models to `PairCounts.models`; `pair_index` maps the pairs
    used to rows of `PairCounts.counts`. `cells` holds, per pair, i better, j better and
    ties (both-bad votes merged or dropped); `virtual_ties` the prior ties added to each
    pair (zero unless the no-MLE rule applied); `ridge` the Gaussian prior precision on
    theta in 1/nats^2 (zero for plain maximum likelihood).
    """

    model_index: np.ndarray
    pair_index: np.ndarray
    pair_i: np.ndarray
    pair_j: np.ndarray
    cells: np.ndarray
    virtual_ties: np.ndarray
    has_prior: np.ndarray
    ridge: float
    virtual_ties_per_model: float

    @property
    def n_models(self) -> int:
        return int(self.model_index.size)


@dataclass(frozen=True)
class Fit:
    """Ratings of the models that could be rated, in `PairCounts.models` order.

    `rating` is in Elo points; `status[k]` is "mle" (the exact maximum-likelihood
    rating) or "prior" (no finite MLE exists; the virtual-tie rule gave the rating).
    `theta` is the same in natural-log units with mean zero. `notes` are sentences for
    people; `unrated` lists the models left out and why. `log_likelihood` is that of the
    data the fit used (virtual ties included, prior excluded), in nats.
    """

    models: tuple[str, ...]
    rating: np.ndarray
    status: tuple[str, ...]
    unrated: tuple[UnratedModel, ...]
    notes: tuple[str, ...]
    theta: np.ndarray
    design: Design
    both_bad: str
    center: float
    shift_points: float
    prior_sd_points: float | None
    log_likelihood: float
    iterations: int

    def rating_of(self, model: str) -> float:
        return float(self.rating[self.models.index(model)])


def win_probability(rating_i: np.ndarray | float, rating_j: np.ndarray | float) -> np.ndarray:
    """P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400)), ratings in Elo points."""
    return expit((np.asarray(rating_i) - np.asarray(rating_j)) / POINTS_PER_NAT)


def fit_bradley_terry(
    counts: PairCounts,
    *,
    both_bad: str = "tie",
    center: float = 1000.0,
    anchor: tuple[str, float] | None = None,
    virtual_ties: float = 2.0,
    prior_sd_points: float | None = None,
) -> Fit:
    """Fit Bradley-Terry ratings on the Elo scale by maximum likelihood (Newton's method).

    Assumptions: votes are independent; P(i beats j) = 1 / (1 + 10^((R_j - R_i)/400));
    a tie is half a win each way; "both bad" is a tie (`both_bad="tie"`) or ignored
    ("drop"). Ratings have mean `center` over the rated models, or, with
    `anchor=(model, value)`, are shifted so that model reads `value`.

    Where the maximum likelihood estimate exists it is returned exactly (Newton's method
    to 1e-10 nats, ~2e-8 points), with no prior or penalty. Otherwise:

    * no votes (or only self-votes, or only dropped both-bad votes): nothing is rated;
      every model is listed in `unrated` with reason "no_votes";
    * models in several disconnected groups (no chain of votes between them): only the
      group with the most votes is rated (ties broken by more models, then by name
      order); the others are `unrated` with reason "disconnected", because ratings of
      groups never compared with each other are not on a common scale;
    * within the rated group, the MLE is finite exactly when the directed "won or tied
      against" graph is strongly connected (Zermelo 1929, Ford 1957). Models outside its
      largest strongly connected part (ties broken by pairs, then model order) - e.g. a
      model that only ever won or only ever lost - get `virtual_ties` virtual ties,
      spread over their real opponents in proportion to the votes against each, and
      status "prior". This makes the graph strongly connected, so the fit is finite;
      other models keep their data untouched apart from those virtual ties on shared
      pairs.

    `prior_sd_points`, off by default, adds a Gaussian prior N(center, sd^2) on every
    rating (MAP instead of MLE; the virtual-tie rule is then not needed and not used).
    scikit-learn's LogisticRegression(C) on the duplicated vote rows of the LMSYS and
    GenAI-Arena notebooks equals `prior_sd_points = 400 * sqrt(2 * C)` (565.7 for C=1).
    """
    check_both_bad_rule(both_bad)
    if prior_sd_points is not None and not prior_sd_points > 0:
        raise ValueError("prior_sd_points must be positive")
    if virtual_ties <= 0:
        raise ValueError("virtual_ties must be positive")

    design, unrated, notes = build_design(
        counts, both_bad=both_bad, virtual_ties=virtual_ties, prior_sd_points=prior_sd_points
    )
    n_rated = design.n_models
    rated_models = tuple(counts.models[k] for k in design.model_index)
    if anchor is not None and anchor[0] not in rated_models:
        raise ValueError(f"anchor model {anchor[0]!r} is not rated")
    if n_rated == 0:
        return Fit(
            models=(),
            rating=np.zeros(0),
            status=(),
            unrated=unrated,
            notes=notes,
            theta=np.zeros(0),
            design=design,
            both_bad=both_bad,
            center=center,
            shift_points=0.0,
            prior_sd_points=prior_sd_points,
            log_likelihood=0.0,
            iterations=0,
        )

    score, total = design_scores(design, design.cells[None, :, :].astype(np.float64))
    theta, iterations = solve_strengths(
        design.pair_i,
        design.pair_j,
        score,
        total,
        n_rated,
        theta0=np.zeros((1, n_rated)),
        ridge=design.ridge,
        tolerance_nats=POINT_TOLERANCE_NATS,
    )
    theta = theta[0] - theta[0].mean()
    log_likelihood = float(
        _log_likelihood(theta[None, :], design.pair_i, design.pair_j, score, total, 0.0)[0]
    )
    rating = center + POINTS_PER_NAT * theta
    shift = 0.0
    if anchor is not None:
        anchor_model, anchor_value = anchor
        shift = float(anchor_value) - float(rating[rated_models.index(anchor_model)])
        rating = rating + shift
    status = tuple(STATUS_PRIOR if p else STATUS_MLE for p in design.has_prior)
    return Fit(
        models=rated_models,
        rating=rating,
        status=status,
        unrated=unrated,
        notes=notes,
        theta=theta,
        design=design,
        both_bad=both_bad,
        center=center,
        shift_points=shift,
        prior_sd_points=prior_sd_points,
        log_likelihood=log_likelihood,
        iterations=iterations,
    )


def build_design(
    counts: PairCounts,
    *,
    both_bad: str,
    virtual_ties: float,
    prior_sd_points: float | None,
) -> tuple[Design, tuple[UnratedModel, ...], tuple[str, ...]]:
    """Choose the rated models, their data and any prior (rules: `fit_bradley_terry`).

    Long on purpose: the data rules of `fit_bradley_terry`, applied in the order its
    docstring states them, each on the result of the one before.
    """
    n_models = len(counts.models)
    cells = counted_cells(counts, both_bad)
    pair_votes = cells.sum(axis=1)
    used = np.flatnonzero(pair_votes > 0)
    votes_per_model = np.bincount(counts.pair_i, counts.counts.sum(1), n_models) + np.bincount(
        counts.pair_j, counts.counts.sum(1), n_models
    )
    votes_per_model = votes_per_model.round().astype(np.int64)
    notes: list[str] = []
    unrated: list[UnratedModel] = []
    if counts.self_votes:
        notes.append(f"{counts.self_votes} votes of a model against itself were ignored.")
    dropped = int(counts.counts[:, 3].sum()) if both_bad == "drop" else 0
    if dropped:
        notes.append(f"{dropped} 'both bad' votes were left out (both_bad='drop').")

    has_votes = np.zeros(n_models, dtype=bool)
    has_votes[counts.pair_i[used]] = True
    has_votes[counts.pair_j[used]] = True
    for k in np.flatnonzero(~has_votes):
        detail = "no votes" if votes_per_model[k] == 0 else "no votes that count (only 'both bad')"
        unrated.append(
            UnratedModel(counts.models[k], int(votes_per_model[k]), REASON_NO_VOTES, detail)
        )

    if used.size == 0:
        notes.append("No votes to rate: no model is rated.")
        empty = np.zeros(0, dtype=np.int64)
        design = Design(
            empty,
            empty,
            empty,
            empty,
            np.zeros((0, 3), np.int64),
            np.zeros(0),
            np.zeros(0, bool),
            0.0,
            virtual_ties,
        )
        return design, tuple(unrated), tuple(notes)

    graph = sparse.coo_matrix(
        (np.ones(used.size), (counts.pair_i[used], counts.pair_j[used])), shape=(n_models, n_models)
    ).tocsr()
    _, component = connected_components(graph, directed=False)
    group_votes = (
        np.bincount(component[counts.pair_i[used]], pair_votes[used], minlength=component.max() + 1)
        .round()
        .astype(np.int64)
    )
    group_size = np.bincount(component, has_votes.astype(np.int64))
    first_member = np.full(group_size.size, n_models)
    np.minimum.at(first_member, component, np.arange(n_models))
    # Most votes first, then most models, then the name that sorts first.
    main = np.lexsort((first_member, -group_size, -group_votes))[0]
    in_main = (component == main) & has_votes
    other_groups = np.unique(component[has_votes & ~in_main])
    for k in np.flatnonzero(has_votes & ~in_main):
        unrated.append(
            UnratedModel(
                counts.models[k],
                int(votes_per_model[k]),
                REASON_DISCONNECTED,
                "never compared, even indirectly, with the rated models",
            )
        )
    if other_groups.size:
        n_out = int((has_votes & ~in_main).sum())
        notes.append(
            f"The votes form {other_groups.size + 1} groups never compared with each other; "
            f"only the group with the most votes ({int(in_main.sum())} models, "
            f"{int(group_votes[main])} votes) is rated. {n_out} models in the other groups "
            "are listed as unrated."
        )

    model_index = np.flatnonzero(in_main)
    local = np.full(n_models, -1, dtype=np.int64)
    local[model_index] = np.arange(model_index.size)
    pair_index = used[in_main[counts.pair_i[used]]]
    pair_i = local[counts.pair_i[pair_index]]
    pair_j = local[counts.pair_j[pair_index]]
    main_cells = cells[pair_index]
    n_rated = model_index.size

    ridge = 0.0
    has_prior = np.zeros(n_rated, dtype=bool)
    virtual = np.zeros(pair_index.size)
    if prior_sd_points is not None:
        ridge = (POINTS_PER_NAT / prior_sd_points) ** 2
        notes.append(
            f"A Gaussian prior (sd {prior_sd_points:g} points around the centre) is applied to "
            "every rating: these are penalised (MAP) ratings, not maximum likelihood."
        )
    else:
        has_prior = models_without_mle(
            n_rated,
            pair_i,
            pair_j,
            main_cells[:, 0] + main_cells[:, 2],
            main_cells[:, 1] + main_cells[:, 2],
        )
        if has_prior.any():
            virtual = virtual_tie_weights(
                n_rated,
                pair_i,
                pair_j,
                main_cells.sum(1).astype(np.float64),
                has_prior,
                virtual_ties,
            )
            names = [counts.models[k] for k in model_index[has_prior]]
            shown = ", ".join(names[:10]) + (
                f" and {len(names) - 10} more" if len(names) > 10 else ""
            )
            notes.append(
                f"No finite maximum-likelihood rating exists for {len(names)} models (they only "
                f"won, or only lost, against the rest of their group): {shown}. Each was given "
                f"{virtual_ties:g} virtual ties spread over its opponents; their status is 'prior'."
            )
    design = Design(
        model_index=model_index,
        pair_index=pair_index,
        pair_i=pair_i,
        pair_j=pair_j,
        cells=main_cells,
        virtual_ties=virtual,
        has_prior=has_prior,
        ridge=ridge,
        virtual_ties_per_model=virtual_ties,
    )
    return design, tuple(unrated), tuple(notes)


def models_without_mle(
    n_models: int,
    pair_i: np.ndarray,
    pair_j: np.ndarray,
    score_i: np.ndarray,
    score_j: np.ndarray,
) -> np.ndarray:
    """Mask of models outside the largest strongly connected part of the "beat" graph.

    Edge i -> j when i won or tied against j at least once (score_i > 0). In a
    connected comparison graph the MLE is finite iff this directed graph is strongly
    connected (Ford 1957); an all-False mask means it is. Ties between equally large
    parts go to the part with more pairs, then to the lowest model index.
    `score_i`/`score_j` may be (pairs,) or (rounds, pairs); the mask then has shape
    (models,) or (rounds, models). All rounds go through one graph call (one block each).
    """
    single = np.ndim(score_i) == 1
    score_i = np.atleast_2d(score_i)
    score_j = np.atleast_2d(score_j)
    rounds = score_i.shape[0]
    # Candidate edges sorted by (source, target) once, so the CSR graph of all rounds is
    # built by masking, without a sort per call.
    source = np.concatenate([pair_i, pair_j])
    target = np.concatenate([pair_j, pair_i])
    order = np.lexsort((target, source))
    present = np.concatenate([score_i > 0, score_j > 0], axis=1)[:, order]
    base = (np.arange(rounds) * n_models)[:, None]
    n_nodes = rounds * n_models
    indices = (base + target[order])[present]
    out_degree = np.bincount((base + source[order])[present], minlength=n_nodes)
    indptr = np.concatenate([[0], np.cumsum(out_degree)])
    graph = sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n_nodes, n_nodes))
    graph.has_sorted_indices = True
    n_parts, part = connected_components(graph, directed=True, connection="strong")
    if n_parts == rounds:
        mask = np.zeros((rounds, n_models), dtype=bool)
        return mask[0] if single else mask
    node = np.arange(n_nodes)
    degree = np.tile(
        np.bincount(pair_i, minlength=n_models) + np.bincount(pair_j, minlength=n_models), rounds
    )
    size = np.bincount(part, minlength=n_parts)
    weight = np.bincount(part, degree, minlength=n_parts)
    first_node = np.full(n_parts, n_nodes)
    np.minimum.at(first_node, part, node)
    part_round = first_node // n_models
    order = np.lexsort((first_node, -weight, -size, part_round))
    is_first = np.r_[True, part_round[order][1:] != part_round[order][:-1]]
    core = np.empty(rounds, dtype=np.int64)
    core[part_round[order][is_first]] = order[is_first]
    mask = (part != core[node // n_models]).reshape(rounds, n_models)
    return mask[0] if single else mask


def virtual_tie_weights(
    n_models: int,
    pair_i: np.ndarray,
    pair_j: np.ndarray,
    pair_votes: np.ndarray,
    has_prior: np.ndarray,
    virtual_ties: float,
) -> np.ndarray:
    """Virtual ties per pair: each flagged model's `virtual_ties`, split over its pairs by votes.

    Every pair touching a flagged model gets tie weight in both directions, and every
    other pair lies inside the largest strongly connected part, so the augmented graph
    is strongly connected and the likelihood has a finite maximum.
    """
    votes_per_model = np.bincount(pair_i, pair_votes, n_models) + np.bincount(
        pair_j, pair_votes, n_models
    )
    share = np.where(has_prior, virtual_ties / np.maximum(votes_per_model, 1e-300), 0.0)
    return pair_votes * (share[pair_i] + share[pair_j])


def design_scores(design: Design, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores s (i's wins + half of ties, virtual ties included) and totals n, per round and pair.

    `cells` has shape (rounds, pairs, 3): i better, j better, ties.
    """
    ties = cells[..., 2] + design.virtual_ties
    score = cells[..., 0] + 0.5 * ties
    total = cells[..., 0] + cells[..., 1] + ties
    return score, total


def incidence_matrix(pair_i: np.ndarray, pair_j: np.ndarray, n_models: int) -> sparse.csr_matrix:
    """Sparse (pairs x models) matrix with +1 at (p, i_p) and -1 at (p, j_p)."""
    n_pairs = pair_i.size
    rows = np.concatenate([np.arange(n_pairs), np.arange(n_pairs)])
    cols = np.concatenate([pair_i, pair_j])
    values = np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)])
    return sparse.csr_matrix((values, (rows, cols)), shape=(n_pairs, n_models))


def _log_likelihood(theta, pair_i, pair_j, score, total, ridge):
    diff = theta[:, pair_i] - theta[:, pair_j]
    value = (score * diff - total * np.logaddexp(0.0, diff)).sum(axis=1)
    if ridge:
        value -= 0.5 * ridge * (theta * theta).sum(axis=1)
    return value


def _newton_systems(theta, pair_i, pair_j, score, total, ridge, incidence):
    """Gradient (rounds, M) and negative Hessian (rounds, M, M) of the log-likelihood."""
    rounds, n_models = theta.shape
    p = expit(theta[:, pair_i] - theta[:, pair_j])
    gradient = np.asarray(incidence.T @ (score - total * p).T).T
    weight = total * p * (1.0 - p)
    hessian = np.zeros((rounds, n_models * n_models))
    hessian[:, pair_i * n_models + pair_j] = -weight
    hessian[:, pair_j * n_models + pair_i] = -weight
    degree = np.asarray(abs(incidence).T @ weight.T).T
    diagonal = np.arange(n_models) * (n_models + 1)
    hessian[:, diagonal] = degree + ridge
    if ridge:
        gradient -= ridge * theta
    else:
        # The likelihood ignores a common shift (the all-ones direction); adding c*11^T
        # makes the system solvable without changing steps orthogonal to it.
        hessian += degree.mean(axis=1, keepdims=True) / n_models + 1e-12
    return gradient, hessian.reshape(rounds, n_models, n_models)


def solve_strengths(
    pair_i: np.ndarray,
    pair_j: np.ndarray,
    score: np.ndarray,
    total: np.ndarray,
    n_models: int,
    *,
    theta0: np.ndarray,
    ridge: float = 0.0,
    tolerance_nats: float = POINT_TOLERANCE_NATS,
    max_iterations: int = _MAX_NEWTON_ITERATIONS,
) -> tuple[np.ndarray, int]:
    """Maximise the Bradley-Terry log-likelihood for many rounds at once (damped Newton).

    `score` and `total` have shape (rounds, pairs); `theta0` (rounds, models) is the
    start. Each round takes Newton steps, halved until the log-likelihood does not
    decrease, until its largest step is below `tolerance_nats`. Assumes the maximum
    exists (strongly connected data, or ridge > 0). Returns theta and the iterations used.
    """
    theta = np.array(theta0, dtype=np.float64, copy=True)
    rounds = theta.shape[0]
    incidence = incidence_matrix(pair_i, pair_j, n_models)
    batch = max(1, _HESSIAN_BUDGET_BYTES // (8 * n_models * n_models * 2))
    iterations = 0
    for start in range(0, rounds, batch):
        stop = min(rounds, start + batch)
        active = np.arange(start, stop)
        current = _log_likelihood(
            theta[active], pair_i, pair_j, score[active], total[active], ridge
        )
        for iteration in range(1, max_iterations + 1):
            th, sc, to = theta[active], score[active], total[active]
            gradient, hessian = _newton_systems(th, pair_i, pair_j, sc, to, ridge, incidence)
            step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
            scale = np.ones(active.size)
            candidate = th + step
            value = _log_likelihood(candidate, pair_i, pair_j, sc, to, ridge)
            worse = ~(value >= current - 1e-12 * np.abs(current))
            for _ in range(_MAX_STEP_HALVINGS):
                if not worse.any():
                    break
                scale[worse] *= 0.5
                candidate[worse] = th[worse] + scale[worse, None] * step[worse]
                value[worse] = _log_likelihood(
                    candidate[worse], pair_i, pair_j, sc[worse], to[worse], ridge
                )
                worse = ~(value >= current - 1e-12 * np.abs(current))
            theta[active] = candidate
            current = value
            iterations = max(iterations, iteration)
            moving = np.abs(scale[:, None] * step).max(axis=1) > tolerance_nats
            active, current = active[moving], current[moving]
            if active.size == 0:
                break
    return theta, iterations
