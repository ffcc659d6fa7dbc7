"""Benchmark the rating engine against the classic per-vote method, on synthetic votes.

`python -m tests.benchmarks.rating_engine [--sizes 100000,1000000] [--models 100]`

Votes are simulated from known ratings (`simulate_votes`). For each size it times
aggregation, the fit and the bootstrap, measures peak memory (tracemalloc, separate
run), then runs the classic method of the first public LMSYS arena notebooks on the
same votes: logistic regression on the per-vote design matrix (each vote written twice,
a tie as one win each way; scikit-learn is not a dependency, so scipy's L-BFGS fits it),
bootstrapped by resampling vote rows and refitting. The classic bootstrap runs only a
few rounds and is extrapolated linearly to the full count (printed as such).

Runs on one core: it re-executes itself with BLAS threads set to 1 and, where the OS
allows, pins itself to one CPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit

from leaderboard.ratings.bootstrap import bootstrap_intervals
from leaderboard.ratings.bradley_terry import fit_bradley_terry
from leaderboard.ratings.simulate import simulate_votes
from leaderboard.ratings.votes import A_WINS, Votes, count_votes, encode_votes
from tests.benchmarks.harness import REPO

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_CHILD_FLAG = "PAIRWISE_BENCHMARK_CHILD"


def fit_per_vote_logistic(
    votes: Votes, *, center: float = 1000.0, gtol: float = 1e-10
) -> np.ndarray:
    """Classic fit: logistic regression on the per-vote design matrix (LMSYS notebook style).

    Each vote is written as two rows with x = +ln(10) at model A and -ln(10) at model B
    and no intercept; y is 1 on both rows for an A win, on neither for a B win and on
    one of the two for a tie or "both bad" (half a win each way). Minimises the mean
    log-loss with scipy's L-BFGS-B (analytic gradient, no penalty) to `gtol`. Returns
    ratings 400 * w, shifted to mean `center`, in `votes.models` order.
    """
    n_votes, n_models = len(votes), len(votes.models)
    rows = np.arange(2 * n_votes)
    model_a = np.tile(votes.model_a, 2)
    model_b = np.tile(votes.model_b, 2)
    design = sparse.csr_matrix(
        (
            np.concatenate(
                [np.full(2 * n_votes, np.log(10.0)), np.full(2 * n_votes, -np.log(10.0))]
            ),
            (np.concatenate([rows, rows]), np.concatenate([model_a, model_b])),
        ),
        shape=(2 * n_votes, n_models),
    )
    a_wins = votes.outcome == A_WINS
    undecided = votes.outcome >= 2
    target = np.concatenate([a_wins | undecided, a_wins]).astype(np.float64)
    design_t = design.T.tocsr()

    def loss_and_gradient(w):
        z = design @ w
        loss = np.mean(np.logaddexp(0.0, z) - target * z)
        gradient = design_t @ (expit(z) - target) / z.size
        return loss, gradient

    result = minimize(
        loss_and_gradient,
        np.zeros(n_models),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 10_000, "gtol": gtol, "ftol": 0.0},
    )
    rating = 400.0 * result.x
    return rating - rating.mean() + center


def _subset(votes: Votes, index: np.ndarray) -> Votes:
    return Votes(votes.models, votes.model_a[index], votes.model_b[index], votes.outcome[index])


def _engine(votes: Votes, rounds: int, seed: int):
    counts = count_votes(votes)
    fit = fit_bradley_terry(counts)
    intervals = bootstrap_intervals(counts, fit, rounds=rounds, seed=seed)
    return counts, fit, intervals


def run(sizes: list[int], n_models: int, rounds: int, classic_rounds: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    true_ratings = 1000.0 + rng.normal(0.0, 150.0, n_models)
    _engine(simulate_votes(true_ratings, 5_000, rng), 20, seed)  # warm-up: imports, first calls
    print(
        f"{n_models} models, true ratings ~ N(1000, 150^2), pairs uniform, 20% of even "
        f"matches undecided (a quarter of those 'both bad'); bootstrap {rounds} rounds."
    )
    header = (
        f"{'votes':>10}  {'encode names':>12}  {'aggregate':>9}  {'fit':>7}  "
        f"{'bootstrap':>9}  {'agg+fit+boot':>12}  {'peak MB':>7}  {'max |R-true|':>12}  "
        f"{'95% cover':>9}"
    )
    print(header)
    classic_lines = []
    for n_votes in sizes:
        votes = simulate_votes(true_ratings, n_votes, rng)
        names = np.asarray(votes.models)
        outcomes = np.asarray(["a", "b", "tie", "both_bad"])
        name_a, name_b, outcome = (
            names[votes.model_a],
            names[votes.model_b],
            outcomes[votes.outcome],
        )

        started = time.perf_counter()
        encode_votes(name_a, name_b, outcome)
        encode_s = time.perf_counter() - started
        started = time.perf_counter()
        counts = count_votes(votes)
        aggregate_s = time.perf_counter() - started
        started = time.perf_counter()
        fit = fit_bradley_terry(counts)
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        intervals = bootstrap_intervals(counts, fit, rounds=rounds, seed=seed)
        bootstrap_s = time.perf_counter() - started
        engine_s = aggregate_s + fit_s + bootstrap_s

        tracemalloc.start()
        _engine(votes, rounds, seed)
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        truth = true_ratings - true_ratings.mean() + 1000.0
        error = np.abs(fit.rating - truth).max()
        cover = np.mean((intervals.ci_low <= truth) & (truth <= intervals.ci_high))
        print(
            f"{n_votes:>10,}  {encode_s:>11.3f}s  {aggregate_s:>8.3f}s  {fit_s:>6.3f}s  "
            f"{bootstrap_s:>8.3f}s  {engine_s:>11.3f}s  {peak_bytes / 2**20:>7.1f}  "
            f"{error:>12.2f}  {cover:>9.0%}"
        )

        if classic_rounds:
            started = time.perf_counter()
            classic = fit_per_vote_logistic(votes)
            classic_fit_s = time.perf_counter() - started
            boot_rng = np.random.default_rng(seed)
            started = time.perf_counter()
            for _ in range(classic_rounds):
                fit_per_vote_logistic(_subset(votes, boot_rng.integers(0, n_votes, n_votes)))
            classic_boot_s = time.perf_counter() - started
            classic_total_s = classic_fit_s + classic_boot_s * rounds / classic_rounds
            difference = np.abs(classic - fit.rating).max()
            classic_lines.append(
                f"{n_votes:>10,}  {classic_fit_s:>7.2f}s  {classic_boot_s:>12.2f}s  "
                f"{classic_total_s:>14.1f}s  {classic_total_s / engine_s:>10.0f}x  "
                f"{difference:>14.1e}"
            )
    if classic_lines:
        print()
        print(
            "Classic per-vote logistic regression (scipy L-BFGS-B on the 2n x models sparse "
            f"design; bootstrap: {classic_rounds} rounds of resampled vote rows, timed, then "
            f"extrapolated x{rounds / classic_rounds:g} to {rounds} rounds):"
        )
        print(
            f"{'votes':>10}  {'fit':>8}  {f'{classic_rounds} rounds':>13}  "
            f"{f'fit+{rounds} (est.)':>15}  {'slower by':>11}  {'max |diff| pts':>14}"
        )
        for line in classic_lines:
            print(line)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak RSS of the whole benchmark process: {peak_rss_mb:.0f} MB.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.rating_engine")
    parser.add_argument("--sizes", default="100000,1000000", help="vote counts, comma-separated")
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1000, help="bootstrap rounds")
    parser.add_argument("--classic-rounds", type=int, default=20, help="0 skips the classic method")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    if os.environ.get(_CHILD_FLAG) != "1":
        # BLAS picks its thread count at import, so one core needs a fresh interpreter.
        env = dict(os.environ, **{name: "1" for name in _THREAD_VARIABLES}, **{_CHILD_FLAG: "1"})
        command = [sys.executable, "-m", "tests.benchmarks.rating_engine", *(argv or sys.argv[1:])]
        return subprocess.run(command, env=env, cwd=REPO, check=False).returncode

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        cpus = os.sched_getaffinity(0)
    else:
        cpus = "not pinned"
    print(f"One core: BLAS threads 1, CPU affinity {cpus}.")
    run(sizes, args.models, args.rounds, args.classic_rounds, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
