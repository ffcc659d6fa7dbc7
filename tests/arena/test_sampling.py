"""The sampling policy, checked over many draws without a database."""

import random
from collections import Counter

import pytest
from scipy.stats import chisquare

from leaderboard.arena.sampling import (
    GENERATION_MEMORY,
    PAIR_PROMPT_MEMORY,
    SETTLED_PAIR_WEIGHT,
    History,
    PairTable,
    Pool,
    Sampler,
    Standing,
    is_order_uncertain,
    pair_prompt_key,
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


def rich_pool(models: int, challenges: int, images: int) -> Pool:
    """`images` images per model and challenge (id = challenge*10000 + model*100 + n)."""
    return Pool(
        {
            c: {m: tuple(c * 10000 + m * 100 + n for n in range(images)) for m in range(models)}
            for c in range(1, challenges + 1)
        }
    )


def as_row(pick):
    return (
        pick.generation_a_id,
        pick.generation_b_id,
        pick.challenge_id,
        pick.model_a_id,
        pick.model_b_id,
    )


def test_one_voter_never_sees_an_image_twice_or_a_pair_on_a_prompt_twice():
    # 13 models x 20 prompts x 5 images: 1,300 images, 1,560 pair-prompt combinations.
    table = PairTable(rich_pool(13, 20, 5), {})
    sampler = Sampler(random.Random(17))
    shown = []  # newest first, as the services read them
    for _ in range(600):
        pick = sampler.pick(table, History.from_matchups(shown))
        assert pick is not None
        shown.insert(0, as_row(pick))
    for n, (a, b, challenge, x, y) in enumerate(shown):
        later = shown[max(0, n - GENERATION_MEMORY + 1) : n]  # the 499 served after it
        assert not {a, b} & {g for row in later for g in row[:2]}
        recent = shown[max(0, n - PAIR_PROMPT_MEMORY + 1) : n]
        assert pair_prompt_key(challenge, x, y) not in {pair_prompt_key(*row[2:]) for row in recent}


def test_the_history_remembers_500_matchups_of_images_and_100_of_pair_prompts():
    rows = [(2 * n, 2 * n + 1, n, 1, 2) for n in range(700)]  # newest first
    history = History.from_matchups(rows)
    assert history.generations == frozenset(range(2 * GENERATION_MEMORY))
    assert history.pair_prompts == {(n, 1, 2) for n in range(PAIR_PROMPT_MEMORY)}


def test_a_pair_without_fresh_images_gives_way_to_another_pair():
    pool = Pool({1: {1: (11,), 2: (12,), 3: (13, 14)}})
    # Image 12 is retired, so model 2 has nothing live: every pick is model 1 against 3.
    table = PairTable(pool, {})
    sampler = Sampler(random.Random(4))
    for _ in range(200):
        pick = sampler.pick(table, unavailable={12})
        assert {pick.model_a_id, pick.model_b_id} == {1, 3}
        assert 12 not in (pick.generation_a_id, pick.generation_b_id)


def test_when_nothing_is_fresh_for_the_voter_there_is_no_matchup_rather_than_a_repeat():
    table = PairTable(full_pool(3, 2), {})  # 3 pairs x 2 challenges, one image each
    sampler = Sampler(random.Random(9))
    shown = []
    while (pick := sampler.pick(table, History.from_matchups(shown))) is not None:
        shown.insert(0, as_row(pick))
    # Each challenge has 3 images: one matchup uses 2, the third cannot be paired fresh.
    assert len(shown) == 2
    assert len({g for row in shown for g in row[:2]}) == 4
    assert sampler.pick(table, unavailable={101, 102, 103, 201, 202, 203}) is None


def test_an_arena_without_two_models_on_one_challenge_has_no_matchups():
    assert Sampler(random.Random(1)).pick(PairTable(Pool({1: {1: (11,)}}), {})) is None
    assert Sampler(random.Random(1)).pick(PairTable(Pool({}), {})) is None
