"""Which two images a voter sees next: the arena's sampling policy, as plain Python.

The policy, in one sentence: pick a pair of distinct active models with probability
proportional to `pair_weight` (1 when their 95% intervals overlap or either is
unrated, SETTLED_PAIR_WEIGHT when the order is already clear, times a bonus of up to
2x for the pair's less-voted model), then a challenge both have live images for,
uniformly; sides are balanced per pair by permuted blocks so that every model is on
the left half the time.

A voter never sees the same image twice within their last GENERATION_MEMORY
matchups, nor the same two models on the same prompt within PAIR_PROMPT_MEMORY;
retired images are never drawn. A pair with nothing fresh left gives way to another
pair; when no pair has, there is no matchup (rather than a repeat).

No Django here: the services build a `Pool` and `Standing`s from the database and
hand them in, which keeps this testable over tens of thousands of draws.
"""

from __future__ import annotations

import bisect
import itertools
import random
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

# A pair whose order the leaderboard already knows is still shown (ratings drift,
# new voters disagree), just five times less often than an undecided one.
SETTLED_PAIR_WEIGHT = 0.2
# Votes at which the few-votes bonus has halved: 1 + V / (V + n) for the pair's
# less-voted model, i.e. 2x for a new model, 1.5x at V votes, towards 1x after.
FEW_VOTES_HALF_LIFE = 100
# Sides come in shuffled blocks of this many serves per pair (half with each model on
# the left), the permuted-block randomisation of clinical trials: balanced, yet the
# side of any one serve stays unpredictable.
SIDE_BLOCK = 4
# Weighted draws of a pair before going through every pair for one with fresh images.
MAX_PAIR_ATTEMPTS = 12
# How far back (in the voter's matchups) "never the same image" and "never the same
# two models on the same prompt" look.
GENERATION_MEMORY = 500
PAIR_PROMPT_MEMORY = 100


@dataclass(frozen=True)
class Standing:
    """What the current leaderboard says about one model (rating and 95% interval in Elo)."""

    votes: int = 0
    rating: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def is_rated(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None


UNRATED = Standing()


def is_order_uncertain(a: Standing, b: Standing) -> bool:
    """True when the leaderboard cannot yet say which of the two is better.

    That is when either model lacks an interval, or the two 95% intervals overlap.
    """
    if not (a.is_rated and b.is_rated):
        return True
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


def pair_weight(a: Standing, b: Standing) -> float:
    """The relative chance that the pair (a, b) is the next matchup.

    weight = uncertainty * (1 + V / (V + n_min)), where uncertainty is 1 for an
    undecided pair and SETTLED_PAIR_WEIGHT otherwise, n_min is the smaller vote count
    of the two models and V is FEW_VOTES_HALF_LIFE.
    """
    uncertainty = 1.0 if is_order_uncertain(a, b) else SETTLED_PAIR_WEIGHT
    fewest_votes = max(0, min(a.votes, b.votes))
    return uncertainty * (1.0 + FEW_VOTES_HALF_LIFE / (FEW_VOTES_HALF_LIFE + fewest_votes))


@dataclass(frozen=True)
class Pick:
    """One sampled matchup: a challenge and the generation shown on each side."""

    challenge_id: int
    generation_a_id: int
    generation_b_id: int
    model_a_id: int
    model_b_id: int


def pair_prompt_key(challenge_id: int, model_x: int, model_y: int) -> tuple[int, int, int]:
    """What "the same pair on the same prompt" means: challenge and models, either side."""
    return (challenge_id, min(model_x, model_y), max(model_x, model_y))


@dataclass(frozen=True)
class History:
    """What one voter was shown lately: images (by id) and (challenge, model pair) keys."""

    generations: Collection[int] = frozenset()
    pair_prompts: Collection[tuple[int, int, int]] = frozenset()

    @classmethod
    def from_matchups(cls, rows) -> History:
        """From the voter's matchups, newest first, as
        (generation_a_id, generation_b_id, challenge_id, model_a_id, model_b_id) rows."""
        generations = set()
        pair_prompts = set()
        for n, (generation_a, generation_b, challenge, model_a, model_b) in enumerate(rows):
            if n >= GENERATION_MEMORY:
                break
            generations.add(generation_a)
            generations.add(generation_b)
            if n < PAIR_PROMPT_MEMORY and model_a is not None and model_b is not None:
                pair_prompts.add(pair_prompt_key(challenge, model_a, model_b))
        return cls(frozenset(generations), frozenset(pair_prompts))


NO_HISTORY = History()


@dataclass
class Pool:
    """The images the arena can show: challenge id -> model id -> generation ids.

    Only active models with at least one image belong here; a challenge with fewer than
    two models is ignored. Pairs are models that share at least one challenge.
    """

    challenges: Mapping[int, Mapping[int, tuple[int, ...]]]
    pairs: dict[tuple[int, int], tuple[int, ...]] = field(init=False)

    def __post_init__(self):
        pairs: dict[tuple[int, int], list[int]] = {}
        for challenge_id, by_model in sorted(self.challenges.items()):
            models = sorted(m for m, generations in by_model.items() if generations)
            for pair in itertools.combinations(models, 2):
                pairs.setdefault(pair, []).append(challenge_id)
        self.pairs = {pair: tuple(ids) for pair, ids in pairs.items()}

    @property
    def model_ids(self) -> set[int]:
        return {model for pair in self.pairs for model in pair}

    def __bool__(self) -> bool:
        return bool(self.pairs)


class PairTable:
    """The pool's pairs with their policy weights, ready for fast weighted draws."""

    def __init__(self, pool: Pool, standings: Mapping[int, Standing]):
        self.pool = pool
        self.pairs = list(pool.pairs)
        self.weights = [
            pair_weight(standings.get(x, UNRATED), standings.get(y, UNRATED)) for x, y in self.pairs
        ]
        self.cumulative = list(itertools.accumulate(self.weights))
        self.total = self.cumulative[-1] if self.cumulative else 0.0

    def probability(self, pair: tuple[int, int]) -> float:
        """The policy's probability of drawing `pair` (ids in ascending order)."""
        return self.weights[self.pairs.index(pair)] / self.total

    def draw_pair(self, rng: random.Random) -> tuple[int, int]:
        index = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.pairs[min(index, len(self.pairs) - 1)]

    def weighted_order(self, rng: random.Random) -> list[tuple[int, int]]:
        """Every pair once, in a random order drawn by the policy weights.

        Weighted sampling without replacement (Efraimidis and Spirakis, 2006): sort by
        u ** (1 / weight) with u uniform on (0, 1), largest first.
        """
        keys = [rng.random() ** (1.0 / weight) for weight in self.weights]
        return [pair for _, pair in sorted(zip(keys, self.pairs, strict=True), reverse=True)]


class SideBalancer:
    """Decides which model of a pair goes on the left, in shuffled blocks per pair."""

    def __init__(self, rng: random.Random, block: int = SIDE_BLOCK):
        self.rng = rng
        self.block = block
        self._pending: dict[tuple[int, int], list[bool]] = {}

    def first_on_left(self, pair: tuple[int, int]) -> bool:
        pending = self._pending.get(pair)
        if not pending:
            pending = [True] * (self.block // 2) + [False] * (self.block - self.block // 2)
            self.rng.shuffle(pending)
            self._pending[pair] = pending
        return pending.pop()


class Sampler:
    """Draws matchups from a PairTable for one web worker (it keeps the side blocks).

    Without an `rng`, pairs and challenges come from a Mersenne Twister seeded from the
    OS (the voter sees them anyway), and sides from the OS's own generator, so which
    model is on the left cannot be predicted from earlier matchups.
    """

    def __init__(self, rng: random.Random | None = None):
        self.rng = rng or random.Random(secrets.randbits(128))
        self.sides = SideBalancer(rng or random.SystemRandom())

    def pick(
        self,
        table: PairTable,
        history: History = NO_HISTORY,
        unavailable: Collection[int] = (),
    ) -> Pick | None:
        """One matchup by the policy, fresh for a voter with this `history`.

        `unavailable` names generations that left the pool since `table` was built
        (retired). Returns None when no pair has fresh images for this voter.
        """
        if not table.pairs:
            return None
        for _ in range(MAX_PAIR_ATTEMPTS):
            pair = table.draw_pair(self.rng)
            choice = self._fresh_images(table.pool, pair, history, unavailable)
            if choice is not None:
                return self._place(pair, *choice)
        # Many pairs are used up for this voter: try each once, still by weight.
        for pair in table.weighted_order(self.rng):
            choice = self._fresh_images(table.pool, pair, history, unavailable)
            if choice is not None:
                return self._place(pair, *choice)
        return None

    def _fresh_images(self, pool: Pool, pair, history: History, unavailable):
        x, y = pair
        challenge_ids = list(pool.pairs[pair])
        self.rng.shuffle(challenge_ids)
        seen = history.generations
        for challenge_id in challenge_ids:
            if (challenge_id, x, y) in history.pair_prompts:
                continue
            by_model = pool.challenges[challenge_id]
            images_x = [g for g in by_model[x] if g not in seen and g not in unavailable]
            if not images_x:
                continue
            images_y = [g for g in by_model[y] if g not in seen and g not in unavailable]
            if images_y:
                return challenge_id, self.rng.choice(images_x), self.rng.choice(images_y)
        return None

    def _place(self, pair, challenge_id, generation_x, generation_y) -> Pick:
        x, y = pair
        if self.sides.first_on_left(pair):
            return Pick(challenge_id, generation_x, generation_y, x, y)
        return Pick(challenge_id, generation_y, generation_x, y, x)
