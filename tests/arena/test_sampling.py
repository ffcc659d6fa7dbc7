"""The sampling policy, checked over many draws without a database."""

import random
from collections import Counter

import pytest
from scipy.stats import chisquare

from leaderboard.arena.sampling import (
    SETTLED_PAIR_WEIGHT,
    PairTable,
    Pool,
    Sampler,
    Standing,
    is_order_uncertain,
    matchup_key,
    pair_weight,
)


def full_pool(models: int, challenges: int) -> Pool:
    """Every model has one image (generation id = challenge * 100 + model) per challenge."""
    return Pool(
        {c: {m: (c * 100 + m,) for m in range(1, models + 1)} for c in range(1, challenges + 1)}
    )


def catalog_like_standings() -> dict[int, Standing]:
    """13 models: some settled far apart, some overlapping, two brand new."""
    standings = {}
    for m in range(1, 12):
        rating = 900 + 30 * m
        half_width = 10 if m % 2 else 60
        standings[m] = Standing(
            votes=50 * m, rating=rating, ci_low=rating - half_width, ci_high=rating + half_width
        )
    standings[12] = Standing(votes=3)
    return standings  # model 13 is absent: no votes, no rating


def test_pairs_with_overlapping_intervals_or_no_rating_count_as_undecided():
    a = Standing(votes=10, rating=1000, ci_low=980, ci_high=1020)
    overlapping = Standing(votes=10, rating=1030, ci_low=1010, ci_high=1050)
    far = Standing(votes=10, rating=1100, ci_low=1080, ci_high=1120)
    assert is_order_uncertain(a, overlapping)
    assert not is_order_uncertain(a, far)
    assert is_order_uncertain(a, Standing())


def test_pair_weight_follows_the_written_formula():
    new = Standing(votes=0)
    assert pair_weight(new, new) == pytest.approx(2.0)
    settled_a = Standing(votes=100, rating=1000, ci_low=990, ci_high=1010)
    settled_b = Standing(votes=400, rating=1100, ci_low=1090, ci_high=1110)
    assert pair_weight(settled_a, settled_b) == pytest.approx(SETTLED_PAIR_WEIGHT * 1.5)
    close_b = Standing(votes=300, rating=1005, ci_low=995, ci_high=1015)
    assert pair_weight(close_b, close_b) == pytest.approx(1.25)


def test_over_10000_matchups_every_model_is_on_the_left_half_the_time():
    table = PairTable(full_pool(13, 26), catalog_like_standings())
    sampler = Sampler(random.Random(2024))
    left, shown = Counter(), Counter()
    for _ in range(10_000):
        pick = sampler.pick(table)
        left[pick.model_a_id] += 1
        shown[pick.model_a_id] += 1
        shown[pick.model_b_id] += 1
    assert set(shown) == set(range(1, 14))
    for model, times in shown.items():
        assert 0.48 <= left[model] / times <= 0.52, (model, left[model], times)


def test_pair_frequencies_follow_the_policy_weights():
    table = PairTable(full_pool(13, 4), catalog_like_standings())
    sampler = Sampler(random.Random(7))
    draws = 20_000
    counts = Counter(
        tuple(sorted((p.model_a_id, p.model_b_id)))
        for p in (sampler.pick(table) for _ in range(draws))
    )
    observed = [counts[pair] for pair in table.pairs]
    expected = [draws * table.probability(pair) for pair in table.pairs]
    assert sum(observed) == draws
    # A goodness-of-fit test against the policy's own probabilities.
    assert chisquare(observed, expected).pvalue > 0.001


def test_undecided_pairs_and_new_models_are_shown_more_often_than_settled_pairs():
    standings = catalog_like_standings()
    table = PairTable(full_pool(13, 2), standings)
    sampler = Sampler(random.Random(11))
    counts = Counter(
        tuple(sorted((p.model_a_id, p.model_b_id)))
        for p in (sampler.pick(table) for _ in range(20_000))
    )
    settled = (1, 11)  # far apart, narrow intervals
    undecided = (2, 4)  # wide, overlapping intervals
    assert not is_order_uncertain(standings[1], standings[11])
    assert is_order_uncertain(standings[2], standings[4])
    assert counts[undecided] > 3 * counts[settled]
    appearances = Counter()
    for (x, y), n in counts.items():
        appearances[x] += n
        appearances[y] += n
    # Model 13 (never voted on) appears more than any well-voted model.
    assert appearances[13] > max(appearances[m] for m in range(1, 12))


def test_a_model_is_never_paired_with_itself():
    pool = Pool({1: {7: (71, 72, 73), 8: (81,)}})  # one model with several images
    sampler = Sampler(random.Random(3))
    for _ in range(500):
        pick = sampler.pick(PairTable(pool, {}))
        assert pick.model_a_id != pick.model_b_id


def test_only_models_that_share_a_challenge_are_paired():
    pool = Pool({1: {1: (11,), 2: (12,)}, 2: {3: (23,), 4: (24,)}})
    table = PairTable(pool, {})
    assert set(table.pairs) == {(1, 2), (3, 4)}
    sampler = Sampler(random.Random(5))
    for _ in range(200):
        pick = sampler.pick(table)
        challenge_models = set(pool.challenges[pick.challenge_id])
        assert {pick.model_a_id, pick.model_b_id} <= challenge_models


def test_a_voter_sees_every_matchup_once_before_any_repeats():
    pool = full_pool(3, 2)  # 3 pairs x 2 challenges = 6 distinct image pairs
    table = PairTable(pool, {})
    sampler = Sampler(random.Random(9))
    seen = set()
    for _ in range(6):
        pick = sampler.pick(table, seen)
        key = matchup_key(pick.generation_a_id, pick.generation_b_id)
        assert key not in seen
        seen.add(key)
    # Everything seen: the voter still gets a matchup (a repeat), not nothing.
    assert sampler.pick(table, seen) is not None


def test_an_arena_without_two_models_on_one_challenge_has_no_matchups():
    assert Sampler(random.Random(1)).pick(PairTable(Pool({1: {1: (11,)}}), {})) is None
    assert Sampler(random.Random(1)).pick(PairTable(Pool({}), {})) is None
