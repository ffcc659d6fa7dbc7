"""How long voter detection takes on a large arena (pure statistics, no database).

    python -m tests.benchmarks.detection                       # 1M votes, 20,000 voters
    python -m tests.benchmarks.detection --votes 200000 --voters 5000

Simulates honest voters choosing by Bradley-Terry on hidden ratings (heavy-tailed
activity: a few voters cast many votes, most cast few) plus stuffers, then times
leaderboard/ratings/detection.find_suspects (leave-one-out favouritism, one suspect at
a time) and consistency, and prints how many honest voters and stuffers were flagged.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from leaderboard.ratings.detection import consistency, find_suspects


def simulate(votes: int, voters: int, models: int, stuffers: int, seed: int):
    rng = np.random.default_rng(seed)
    names = np.array([f"model-{k:02d}" for k in range(models)], dtype=object)
    truth = 1000 + 120 * rng.standard_normal(models)
    activity = rng.pareto(1.2, voters) + 1
    voter = rng.choice(voters, size=votes, p=activity / activity.sum())
    a = rng.integers(0, models, votes)
    b = (a + rng.integers(1, models, votes)) % models
    p_a = 1 / (1 + 10 ** ((truth[b] - truth[a]) / 400))
    draw = rng.random(votes)
    outcome = np.where(draw < 0.1, "tie", np.where(rng.random(votes) < p_a, "a", "b"))
    voter_keys = np.array([f"voter-{v}" for v in voter], dtype=object)
    target = int(np.argmin(truth))
    rows = []
    for s in range(stuffers):
        for _ in range(30):
            opponent = (target + 1 + rng.integers(0, models - 1)) % models
            rows.append((f"stuffer-{s}", names[target], names[opponent], "a"))
    if rows:
        extra = [np.array(column, dtype=object) for column in zip(*rows, strict=True)]
        voter_keys = np.concatenate([voter_keys, extra[0]])
        model_a = np.concatenate([names[a], extra[1]])
        model_b = np.concatenate([names[b], extra[2]])
        outcome = np.concatenate([outcome.astype(object), extra[3]])
    else:
        model_a, model_b, outcome = names[a], names[b], outcome.astype(object)
    return voter_keys, model_a, model_b, outcome


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--voters", type=int, default=20_000)
    parser.add_argument("--models", type=int, default=14)
    parser.add_argument("--stuffers", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    voter, model_a, model_b, outcome = simulate(
        args.votes, args.voters, args.models, args.stuffers, args.seed
    )
    everyone = np.ones(len(voter), dtype=bool)
    network = np.array([""] * len(voter), dtype=object)
    started = time.perf_counter()
    suspects = find_suspects(voter, network, model_a, model_b, outcome, everyone, everyone)
    favouritism_s = time.perf_counter() - started
    flagged = {v for s in suspects for v in s.voters}
    ratings = suspects[-1].ratings if suspects else {}
    started = time.perf_counter()
    decisive = np.isin(outcome, ("a", "b")) & ~np.isin(voter, list(flagged))
    scores = consistency(
        voter[decisive], model_a[decisive], model_b[decisive], outcome[decisive] == "a", ratings
    ) if ratings else []  # fmt: skip
    consistency_s = time.perf_counter() - started
    inconsistent = {c.group for c in scores if c.p_value < 1e-4}
    honest_flagged = {v for v in flagged | inconsistent if v.startswith("voter-")}
    stuffers = {v for v in flagged if v.startswith("stuffer-")}
    print(
        f"votes              {len(voter):,} from {len(set(voter)):,} voters, {args.models} models"
    )
    print(f"favouritism        {favouritism_s:.1f} s (leave-one-out, one suspect at a time)")
    print(f"consistency        {consistency_s:.1f} s ({len(scores):,} voters with >= 20 votes)")
    print(f"stuffers flagged   {len(stuffers)} of {args.stuffers}")
    print(f"honest flagged     {len(honest_flagged)} of {args.voters:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
