"""Detection with the voters who cannot be flagged given as counts, not votes: the same
suspects and the same consistency scores as with every vote one by one."""

from collections import Counter

import numpy as np
import pytest

from leaderboard.ratings.detection import consistency, find_suspects

RATINGS = {"top": 1200.0, "mid": 1000.0, "low": 800.0, "new": 950.0}


def crowd(seed=4):
    """Many small honest voters, a few busy honest ones, one stuffer for "low"."""
    rng = np.random.default_rng(seed)
    models = list(RATINGS)
    rows = []
    sizes = [("small", 600, 3), ("busy", 12, 60), ("stuffer", 1, 40)]
    for kind, voters, each in sizes:
        for v in range(voters):
            for _ in range(each):
                a, b = rng.choice(models, size=2, replace=False)
                if kind == "stuffer":
                    a, b = "low", rng.choice(["top", "mid"])
                p_a = 1 / (1 + 10 ** ((RATINGS[b] - RATINGS[a]) / 400))
                draw = rng.random()
                outcome = "tie" if draw < 0.1 else "a" if rng.random() < p_a else "b"
                if kind == "stuffer":
                    outcome = "a"
                rows.append((f"{kind}-{v}", a, b, outcome))
    return [np.array(c, dtype=object) for c in zip(*rows, strict=True)]


def split(voter, model_a, model_b, outcome, readable):
    """The votes of `readable` voters, and everyone else's as counts per cell."""
    keep = np.isin(voter, list(readable))
    cells = Counter(zip(model_a[~keep], model_b[~keep], outcome[~keep], strict=True))
    base = tuple(
        np.array(c, dtype=object) for c in zip(*((*k, n) for k, n in cells.items()), strict=True)
    )
    return keep, base


def test_suspects_are_the_same_with_the_small_voters_as_counts():
    voter, model_a, model_b, outcome = crowd()
    everyone = np.ones(voter.size, dtype=bool)
    network = np.array([""] * voter.size, dtype=object)
    full = find_suspects(voter, network, model_a, model_b, outcome, everyone, everyone)
    assert [s.voters for s in full] == [("stuffer-0",)]
    readable = {v for v, n in Counter(voter[np.isin(outcome, ("a", "b"))]).items() if n >= 10}
    keep, base = split(voter, model_a, model_b, outcome, readable)
    counted = find_suspects(
        voter[keep],
        network[keep],
        model_a[keep],
        model_b[keep],
        outcome[keep],
        everyone[keep],
        everyone[keep],
        base=base,
    )
    assert [(s.kind, s.voters) for s in counted] == [(s.kind, s.voters) for s in full]
    for mine, theirs in zip(counted, full, strict=True):
        assert mine.finding.p_value == pytest.approx(theirs.finding.p_value, rel=1e-9)
        assert mine.ratings == pytest.approx(theirs.ratings, abs=1e-6)


def test_consistency_is_the_same_with_the_crowd_as_counts():
    voter, model_a, model_b, outcome = crowd(seed=5)
    decisive = np.isin(outcome, ("a", "b"))
    voter, model_a, model_b, a_won = (
        voter[decisive],
        model_a[decisive],
        model_b[decisive],
        outcome[decisive] == "a",
    )
    full = consistency(voter, model_a, model_b, a_won, RATINGS, min_votes=20)
    keep = np.isin(voter, [v for v, n in Counter(voter).items() if n >= 20])
    cells = Counter(zip(model_a[~keep], model_b[~keep], a_won[~keep], strict=True))
    extra = tuple(
        np.array(c, dtype=object) for c in zip(*((*k, n) for k, n in cells.items()), strict=True)
    )
    counted = consistency(
        voter[keep], model_a[keep], model_b[keep], a_won[keep], RATINGS, min_votes=20, crowd=extra
    )
    assert [c.group for c in counted] == [c.group for c in full]
    for mine, theirs in zip(counted, full, strict=True):
        assert mine.z == pytest.approx(theirs.z, rel=1e-9)
        assert mine.crowd_log_likelihood == pytest.approx(theirs.crowd_log_likelihood, rel=1e-9)
