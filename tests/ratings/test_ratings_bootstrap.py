"""Bootstrap intervals: exact multinomial resampling, recovery and coverage, ranks."""

import numpy as np
import pytest

from leaderboard.ratings import (
    bootstrap_intervals,
    confident_ranks,
    count_votes,
    fit_bradley_terry,
    rate_counts,
)
from leaderboard.ratings.bootstrap import _MultinomialSampler
from leaderboard.ratings.simulate import simulate_votes


def centred(truth):
    return truth - truth.mean() + 1000.0


def test_resampled_cell_counts_are_multinomial_with_the_observed_total():
    counts = np.array([1, 2, 3, 7, 40, 40, 250, 1200])
    n = counts.sum()
    p = counts / n
    draws = _MultinomialSampler(counts).draw(20_000, np.random.default_rng(0))
    assert (draws.sum(axis=1) == n).all()
    assert draws.min() >= 0
    assert draws.mean(axis=0) == pytest.approx(counts, rel=0.02)
    assert draws.var(axis=0) == pytest.approx(n * p * (1 - p), rel=0.05)
    covariance = np.cov(draws[:, 6], draws[:, 7])[0, 1]
    assert covariance == pytest.approx(-n * p[6] * p[7], rel=0.1)
    # P(count = 0) for the cell with one vote: (1 - 1/n)^n ~ e^-1.
    assert np.mean(draws[:, 0] == 0) == pytest.approx((1 - 1 / n) ** n, abs=0.01)


def test_the_same_seed_gives_the_same_intervals_and_another_seed_nearly_the_same():
    rng = np.random.default_rng(11)
    counts = count_votes(simulate_votes(1000 + rng.normal(0, 100, 5), 2000, rng))
    fit = fit_bradley_terry(counts)
    first = bootstrap_intervals(counts, fit, rounds=300, seed=3)
    again = bootstrap_intervals(counts, fit, rounds=300, seed=3)
    other = bootstrap_intervals(counts, fit, rounds=300, seed=4)
    assert np.array_equal(first.samples, again.samples)
    assert not np.array_equal(first.samples, other.samples)
    width = first.ci_high - first.ci_low
    assert np.abs(other.ci_low - first.ci_low).max() < 0.2 * width.min()


def test_simulated_ratings_are_recovered_within_their_intervals():
    rng = np.random.default_rng(2024)
    truth = np.array([1250.0, 1150.0, 1080.0, 1000.0, 990.0, 900.0, 820.0, 700.0])
    votes = simulate_votes(truth, 20_000, rng)
    board = rate_counts(count_votes(votes), bootstrap=1000, seed=0)
    expected = dict(zip(votes.models, centred(truth), strict=True))
    for row in board.rows:
        assert row.ci_low <= expected[row.model] <= row.ci_high, row
        assert abs(row.rating - expected[row.model]) < 15
    assert [row.model for row in board.rows] == list(votes.models)


def test_95_percent_intervals_cover_the_true_ratings_90_to_98_percent_of_the_time():
    """150 simulations of 6 models and 800 votes, 300 bootstrap rounds each: 900 intervals.

    Truth is centred like the ratings (mean 1000). A binomial 95% band for 900 intervals
    at a true 95% is about +-1.4 points; the 90-98% window allows for the percentile
    bootstrap's known slight under-coverage in small samples.
    """
    rng = np.random.default_rng(7)
    covered, total = 0, 0
    for _ in range(150):
        truth = 1000 + rng.normal(0, 100, 6)
        votes = simulate_votes(truth, 800, rng)
        counts = count_votes(votes)
        fit = fit_bradley_terry(counts)
        intervals = bootstrap_intervals(counts, fit, rounds=300, seed=int(rng.integers(1 << 31)))
        target = centred(truth)[fit.design.model_index]
        covered += int(((intervals.ci_low <= target) & (target <= intervals.ci_high)).sum())
        total += target.size
    coverage = covered / total
    print(f"measured coverage of 95% intervals: {coverage:.3f} ({covered}/{total})")
    assert 0.90 <= coverage <= 0.98


def test_rank_counts_only_models_better_with_confidence():
    low = np.array([1100.0, 1050.0, 990.0, 900.0])
    high = np.array([1200.0, 1120.0, 1060.0, 980.0])
    # Model 2's upper bound 1060 is below model 0's lower bound 1100 only.
    assert confident_ranks(low, high).tolist() == [1, 1, 2, 4]


def test_bootstrap_of_a_large_arena_is_fast_and_runs_the_batched_path():
    rng = np.random.default_rng(5)
    counts = count_votes(simulate_votes(1000 + rng.normal(0, 150, 60), 300_000, rng))
    fit = fit_bradley_terry(counts)
    intervals = bootstrap_intervals(counts, fit, rounds=300, seed=1)
    assert intervals.newton_rounds == 0
    assert np.isfinite(intervals.samples).all()
    assert (intervals.ci_low < fit.rating).all() and (fit.rating < intervals.ci_high).all()


def test_resampled_counts_are_multinomial_whether_tabled_or_drawn_by_numpy():
    # Many cells sharing small counts (inversion tables) and a few large counts of a
    # board with millions of votes (numpy's sampler).
    counts = np.array([1, 1, 2, 3, 3, 3, 7, 40_000, 125_000, 9_500], dtype=np.int64)
    sampler = _MultinomialSampler(counts)
    assert sampler.table_cells.size and sampler.direct_cells.size
    rounds = 4000
    draws = sampler.draw(rounds, np.random.default_rng(5))
    n = counts.sum()
    assert (draws.sum(axis=1) == n).all()
    p = counts / n
    mean, var = draws.mean(axis=0), draws.var(axis=0)
    standard_error = np.sqrt(n * p * (1 - p) / rounds)
    assert (np.abs(mean - n * p) < 4.5 * standard_error).all()
    assert np.allclose(var, n * p * (1 - p), rtol=0.12)
