"""Real vote sets from tests/data/votes (see its README): published leaderboards
reproduced, finite-MLE sets matched by an independent fit, no-MLE sets handled by rule."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import minimize
from scipy.sparse.csgraph import connected_components
from scipy.special import expit

from leaderboard.ratings import count_votes, fit_bradley_terry, rate_counts, read_votes_csv
from tests.benchmarks.rating_engine import fit_per_vote_logistic
from tests.support import VOTES_DIR

# GenAI-Arena fitted sklearn LogisticRegression(fit_intercept=False) at its default C=1.0
# on every vote written twice; that L2 penalty is a N(1000, sd^2) prior with
# sd = 400 * sqrt(2 * C) Elo points (see fit_bradley_terry).
SKLEARN_C1_PRIOR_SD = 400 * math.sqrt(2.0)
PUBLISHED = {
    "genai_arena_t2i_anony.csv": "genai_arena_t2i_leaderboard_20240220.csv",
    "genai_arena_editing_anony.csv": "genai_arena_image_editing_leaderboard_20240220.csv",
}


@pytest.fixture(scope="module")
def votes_dir():
    if not VOTES_DIR.is_dir():
        pytest.fail(f"vote data not found at {VOTES_DIR} (part of the repository)")
    return VOTES_DIR


def published_ratings(votes_dir, name):
    table = pd.read_csv(votes_dir / "published" / PUBLISHED[name])
    return dict(zip(table["key"], table["Arena Elo rating (anony)"], strict=True))


def sklearn_style_fit(votes_dir, name, gtol):
    """GenAI-Arena's compute_elo_mle_with_tie, with scipy's L-BFGS-B in place of sklearn.

    Same rows (every vote twice; y=1 twice for an A win, once for a tie), same objective
    as sklearn >= 1.1 (mean log-loss + ||w||^2 / (2 C n), C = 1), same solver settings
    (L-BFGS-B from zero, gtol = tol, ftol = 64 eps, maxls 50, maxiter 100).
    """
    frame = pd.read_csv(votes_dir / name)
    names = pd.concat([frame["model_a"], frame["model_b"]]).unique()
    models = pd.Series(np.arange(len(names)), index=names)
    frame = pd.concat([frame, frame], ignore_index=True)
    n = len(frame)
    x = np.zeros((n, len(models)))
    x[np.arange(n), models[frame["model_a"]].to_numpy()] = math.log(10)
    x[np.arange(n), models[frame["model_b"]].to_numpy()] = -math.log(10)
    y = (frame["winner"] == "model_a").to_numpy(float)
    tie = frame["winner"].isin(["tie", "tie (bothbad)"]).to_numpy().copy()
    tie[n // 2 :] = False
    y[tie] = 1.0
    l2 = 1.0 / n

    def objective(w):
        z = x @ w
        loss = np.mean(np.logaddexp(0, z) - y * z) + 0.5 * l2 * w @ w
        return loss, x.T @ (expit(z) - y) / n + l2 * w

    result = minimize(
        objective,
        np.zeros(len(models)),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 100, "maxls": 50, "gtol": gtol, "ftol": 64 * np.finfo(float).eps},
    )
    return dict(zip(models.index, 400 * result.x + 1000, strict=True))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_genai_arena_published_leaderboards_are_reproduced_within_a_tenth_of_a_point(
    votes_dir, name
):
    """Configured like GenAI-Arena (anonymous votes, ties and both-bad as ties, sklearn's
    C=1 penalty, mean 1000), the engine lands within 0.1 Elo points of every published
    rating (measured: 0.07 for text-to-image, 0.03 for editing). The 0.1 tolerance is
    sklearn's, not ours: its L-BFGS stops at gtol=1e-4, and the next test shows that the
    same solver stopped there reproduces the published values to 1e-3 while the fully
    converged optimum sits where the engine does."""
    published = published_ratings(votes_dir, name)
    counts = count_votes(read_votes_csv(votes_dir / name))
    fit = fit_bradley_terry(counts, prior_sd_points=SKLEARN_C1_PRIOR_SD)
    engine = dict(zip(fit.models, fit.rating, strict=True))
    assert set(engine) == set(published)
    differences = [abs(engine[m] - published[m]) for m in published]
    assert max(differences) < 0.1
    assert sorted(engine, key=engine.get) == sorted(published, key=published.get)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_published_values_are_sklearns_early_stop_of_the_objective_the_engine_solves(
    votes_dir, name
):
    published = published_ratings(votes_dir, name)
    stopped_early = sklearn_style_fit(votes_dir, name, gtol=1e-4)
    converged = sklearn_style_fit(votes_dir, name, gtol=1e-12)
    counts = count_votes(read_votes_csv(votes_dir / name))
    fit = fit_bradley_terry(counts, prior_sd_points=SKLEARN_C1_PRIOR_SD)
    for model, rating in zip(fit.models, fit.rating, strict=True):
        assert stopped_early[model] == pytest.approx(published[model], abs=1e-3)
        assert converged[model] == pytest.approx(rating, abs=0.01)


def test_the_unpenalised_fit_of_the_tiny_editing_set_differs_by_tens_of_points(votes_dir):
    name = "genai_arena_editing_anony.csv"
    published = published_ratings(votes_dir, name)
    fit = fit_bradley_terry(count_votes(read_votes_csv(votes_dir / name)))
    differences = {m: r - published[m] for m, r in zip(fit.models, fit.rating, strict=True)}
    assert max(abs(d) for d in differences.values()) > 20
    assert all(status == "mle" for status in fit.status)


@pytest.mark.parametrize(
    "name",
    [
        "genai_arena_t2i_anony.csv",
        "genai_arena_editing_anony.csv",
        "llmfao.csv",
        "football_1990_min100.csv",
    ],
)
def test_sets_with_a_finite_mle_match_an_independent_per_vote_fit_within_a_hundredth(
    votes_dir, name
):
    votes = read_votes_csv(votes_dir / name)
    counts = count_votes(votes)
    fit = fit_bradley_terry(counts)
    independent = fit_per_vote_logistic(votes)  # per-vote rows, scipy L-BFGS-B
    assert fit.unrated == () and fit.notes == ()
    assert all(status == "mle" for status in fit.status)
    assert np.abs(fit.rating - independent[fit.design.model_index]).max() < 0.01


def test_genai_arena_all_rates_the_text_to_image_group_and_lists_editing_as_disconnected(
    votes_dir,
):
    counts = count_votes(read_votes_csv(votes_dir / "no_mle" / "genai_arena_all_anony.csv"))
    board = rate_counts(counts, bootstrap=200, seed=0)
    unrated = {u.model: u.reason for u in board.unrated}
    assert len(unrated) == 7
    assert all(m.endswith("_edition") and r == "disconnected" for m, r in unrated.items())
    assert len(board.rows) == 6
    assert any(
        "only the group with the most votes (6 models, 1451 votes)" in n for n in board.notes
    )

    alone = fit_bradley_terry(count_votes(read_votes_csv(votes_dir / "genai_arena_t2i_anony.csv")))
    for model, rating in zip(alone.models, alone.rating, strict=True):
        row = board.row(f"imagenhub_{model}_generation")
        assert row.rating == pytest.approx(rating, abs=1e-6)
        assert row.status == "mle"


def test_football_all_rates_the_main_group_and_gives_unbeaten_and_winless_teams_the_prior(
    votes_dir,
):
    frame = pd.read_csv(votes_dir / "no_mle" / "football_all.csv", keep_default_na=False)
    counts = count_votes(read_votes_csv(votes_dir / "no_mle" / "football_all.csv"))
    board = rate_counts(counts, bootstrap=40, seed=0)
    fit = fit_bradley_terry(counts)
    assert np.isfinite([[r.rating, r.ci_low, r.ci_high] for r in board.rows]).all()

    # Rated group: the largest connected group of teams, found here by union-find.
    parent = {}

    def root(team):
        parent.setdefault(team, team)
        while parent[team] != team:
            parent[team] = parent[parent[team]]
            team = parent[team]
        return team

    for a, b in zip(frame["model_a"], frame["model_b"], strict=True):
        parent[root(a)] = root(b)
    groups = pd.Series([root(t) for t in parent], index=list(parent))
    main_group = set(groups[groups == groups.value_counts().idxmax()].index)
    assert {r.model for r in board.rows} == main_group
    assert {u.model for u in board.unrated} == set(parent) - main_group
    assert all(u.reason == "disconnected" for u in board.unrated)

    # Teams that never lost or never won (no draws either) have no finite MLE.
    played = (
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "team": frame["model_a"],
                        "won": frame["winner"] == "model_a",
                        "lost": frame["winner"] == "model_b",
                    }
                ),
                pd.DataFrame(
                    {
                        "team": frame["model_b"],
                        "won": frame["winner"] == "model_b",
                        "lost": frame["winner"] == "model_a",
                    }
                ),
            ]
        )
        .groupby("team")[["won", "lost"]]
        .sum()
    )
    games = pd.concat([frame["model_a"], frame["model_b"]]).value_counts()
    one_sided = {
        t
        for t in main_group
        if played.loc[t, "won"] == games[t] or played.loc[t, "lost"] == games[t]
    }
    prior = {r.model for r in board.rows if r.status == "prior"}
    assert one_sided and one_sided <= prior
    assert len(prior) == 18

    # The rule's outcome: the fit is the exact MLE of the data plus, for each 'prior'
    # team, 2 virtual ties spread over its opponents by votes, and that augmented
    # won-or-tied graph is strongly connected.
    design = fit.design
    cells = design.cells.astype(float)
    n_pair = cells.sum(axis=1)
    m = design.n_models
    votes_per_team = np.bincount(design.pair_i, n_pair, m) + np.bincount(design.pair_j, n_pair, m)
    is_prior = np.array([r == "prior" for r in fit.status])
    virtual = (
        n_pair
        * 2.0
        * (
            is_prior[design.pair_i] / votes_per_team[design.pair_i]
            + is_prior[design.pair_j] / votes_per_team[design.pair_j]
        )
    )
    score_i = cells[:, 0] + 0.5 * (cells[:, 2] + virtual)
    total = n_pair + virtual
    p = expit(fit.theta[design.pair_i] - fit.theta[design.pair_j])
    gradient = np.bincount(design.pair_i, score_i - total * p, m) - np.bincount(
        design.pair_j, score_i - total * p, m
    )
    assert np.abs(gradient).max() < 1e-6
    won_or_tied = np.concatenate([score_i > 0, (total - score_i) > 0])
    rows = np.concatenate([design.pair_i, design.pair_j])[won_or_tied]
    cols = np.concatenate([design.pair_j, design.pair_i])[won_or_tied]
    graph = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(m, m))
    assert connected_components(graph, directed=True, connection="strong")[0] == 1
