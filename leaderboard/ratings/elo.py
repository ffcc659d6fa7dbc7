"""Online Elo over votes in time order, for rating-over-time charts.

The leaderboard itself uses the Bradley-Terry fit; online Elo depends on vote order and
its last value drifts with K, so it is only kept as history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .votes import BOTH_BAD, Votes, check_both_bad_rule

# Score of side A per outcome code: A better, B better, tie, both bad (as a tie).
_SCORE_A = (1.0, 0.0, 0.5, 0.5)


@dataclass(frozen=True)
class EloHistory:
    """Online Elo ratings sampled over time.

    `rating[s]` holds every model's rating (Elo points) after the first `vote_count[s]`
    votes; `timestamp_s[s]` is that vote's time when known. `final` is the rating after
    the last vote. `first_vote[m]` is the 1-based position of model m's first vote
    (0 if it never played): before it, the chart should show no line for m.
    """

    models: tuple[str, ...]
    vote_count: np.ndarray
    timestamp_s: np.ndarray | None
    rating: np.ndarray
    final: np.ndarray
    first_vote: np.ndarray


def online_elo(
    votes: Votes,
    *,
    k: float = 4.0,
    initial: float = 1000.0,
    both_bad: str = "tie",
    snapshots: int = 1000,
    start: EloHistory | None = None,
    start_position: int = 0,
    total_votes: int | None = None,
) -> EloHistory:
    """Sequential Elo (Elo 1978) over the votes in the order given (time order).

    For a vote between A and B with A's score S (1 win, 0 loss, 0.5 tie; "both bad" is
    a tie, or skipped with both_bad="drop"):

        E = 1 / (1 + 10 ** ((R_B - R_A) / 400));  R_A += k (S - E);  R_B -= k (S - E)

    Every model starts at `initial`. The ratings are recorded after every
    ceil(votes / snapshots)-th vote and after the last one, so a chart of 1M votes holds
    at most `snapshots` + 1 points per model. A plain Python loop: the updates are
    inherently sequential (about 1 s per million votes).

    To go on where an earlier call stopped (votes in chunks, or new votes since), pass
    its result as `start` (same `models`), the votes it had seen as `start_position`,
    and the number of votes of the whole run as `total_votes`: ratings, first votes and
    positions go on, the snapshots are spaced for the whole run and only this call's
    are returned, so the chunks' snapshots together equal one call's.
    """
    check_both_bad_rule(both_bad)
    if snapshots < 1:
        raise ValueError("snapshots must be >= 1")
    n_models = len(votes.models)
    model_a = votes.model_a.tolist()
    model_b = votes.model_b.tolist()
    outcome = votes.outcome.tolist()
    offset = start_position
    n_votes = offset + len(outcome)
    run_votes = n_votes if total_votes is None else total_votes
    every = max(1, math.ceil(run_votes / snapshots))
    ratings = start.final.tolist() if start is not None else [float(initial)] * n_models
    first_vote = start.first_vote.tolist() if start is not None else [0] * n_models
    recorded_ratings: list[list[float]] = []
    recorded_at: list[int] = []
    skip_both_bad = both_bad == "drop"
    voted = zip(model_a, model_b, outcome, strict=True)
    for position, (a, b, code) in enumerate(voted, start=offset + 1):
        if not (skip_both_bad and code == BOTH_BAD) and a != b:
            if not first_vote[a]:
                first_vote[a] = position
            if not first_vote[b]:
                first_vote[b] = position
            expected = 1.0 / (1.0 + 10.0 ** ((ratings[b] - ratings[a]) / 400.0))
            change = k * (_SCORE_A[code] - expected)
            ratings[a] += change
            ratings[b] -= change
        if position % every == 0 or position == run_votes:
            recorded_ratings.append(ratings.copy())
            recorded_at.append(position)
    vote_count = np.asarray(recorded_at, dtype=np.int64)
    timestamps = None
    if votes.timestamp_s is not None and vote_count.size:
        timestamps = votes.timestamp_s[vote_count - offset - 1]
    return EloHistory(
        models=votes.models,
        vote_count=vote_count,
        timestamp_s=timestamps,
        rating=np.asarray(recorded_ratings, dtype=np.float64).reshape(-1, n_models),
        final=np.asarray(ratings, dtype=np.float64),
        first_vote=np.asarray(first_vote, dtype=np.int64),
    )
