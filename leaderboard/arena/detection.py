"""Find voters whose votes the current ratings cannot explain, and exclude them.

Run by `manage.py ratings` before the fit (and alone by `manage.py detect_voters`).
Per arena mode, on the votes that count today, with the tests of
leaderboard/ratings/detection.py at p < 1e-4:

1. a voter with at least ARENA_DETECT_MIN_VOTES decisive votes involving one model that
   went that model's way far more (or far less) often than the ratings predict;
2. a voter with at least 20 decisive votes far less consistent with the ratings than
   the crowd (log-likelihood of their votes against the crowd's at the same pairs);
3. a network (where identities were issued: an IP, or a /24 or /64 when configured)
   whose votes taken together favour one model like rule 1: each of its voters whose
   votes went that model's way more often than the ratings predict.

Rules 1 and 3 test each voter and network against the ratings fitted without its own
votes, and flag one at a time, most extreme first, refitting after each: a stuffer
with a large share of the votes would otherwise drag the ratings towards itself, look
ordinary, and make honest voters look odd. Rule 2 uses the ratings without the voters
rules 1 and 3 flagged. Rule 3 catches a bot that spreads its votes over many fresh
identities from one place, each too small for rule 1.

A routine pass (each `manage.py ratings`) tests the voters with votes since the last
pass; a full pass, at least every ARENA_DETECT_FULL_EVERY_H hours, tests everyone
(leaderboard/arena/suspect_votes.py reads the votes either way).

Flagged voters are excluded with the reason and the evidence (for a network, also its
velocity: identities and votes in its busiest hour); their votes are kept, and an
admin can re-include them. Voters an admin has excluded or re-included before are
left alone.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncHour
from django.utils import timezone

from leaderboard import vote_counts
from leaderboard.arena import suspect_votes
from leaderboard.arena.services import AUTOMATIC, exclude_voter
from leaderboard.arena.suspect_votes import DECISIVE
from leaderboard.models import ArenaMode, DetectionState, Vote, VoterIdentity
from leaderboard.ratings import detection
from leaderboard.ratings.detection import MIN_CONSISTENCY_VOTES, P_THRESHOLD, consistency

# A routine pass also re-reads the voters of the hour before the last pass: a vote is
# stamped a few milliseconds before its transaction commits, never an hour.
LATE_VOTE_MARGIN = timedelta(hours=1)


@dataclass
class DetectionSummary:
    voters_tested: int = 0
    networks_tested: int = 0
    flagged: dict[str, dict] = field(default_factory=dict)  # voter -> evidence
    excluded_votes: int = 0
    seconds: float = 0.0
    since: datetime | None = None  # a routine pass: voters with votes from then on

    def rule_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for evidence in self.flagged.values():
            counts[evidence["rule"]] += 1
        return dict(counts)

    def __str__(self):
        rules = ", ".join(f"{n} {rule}" for rule, n in sorted(self.rule_counts().items()))
        scope = f"votes since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else "full pass"
        return (
            f"detection ({scope}): {self.voters_tested:,} voters and "
            f"{self.networks_tested:,} networks tested, {len(self.flagged)} flagged "
            f"({rules or 'none'}), {self.excluded_votes:,} votes excluded, {self.seconds:.1f} s"
        )


def _p(value: float) -> str:
    return f"{value:.1e}"


def _favouritism_reason(finding, where: str) -> str:
    return (
        f"{where}{finding.wins} of {finding.votes} decisive votes went "
        f"{finding.model}'s way where the ratings expected {finding.expected:.1f} "
        f"(favouritism {finding.direction}, p = {_p(finding.p_value)} < {_p(P_THRESHOLD)})."
    )


def network_velocity(network_hash: str) -> dict:
    """New identities and votes of one network: in total and in its busiest hour."""
    identities = VoterIdentity.objects.filter(network_hash=network_hash)
    voters = identities.values("voter")
    busiest_identities = (
        identities.annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    busiest_votes = (
        Vote.objects.filter(voter__in=voters)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return {
        "identities": identities.count(),
        "identities_busiest_hour": busiest_identities["n"] if busiest_identities else 0,
        "votes": Vote.objects.filter(voter__in=voters).count(),
        "votes_busiest_hour": busiest_votes["n"] if busiest_votes else 0,
    }


def find_suspects(
    mode: str, until: datetime, *, min_votes: int, testable: set[str]
) -> tuple[dict, set, set]:
    """{voter: evidence} for one arena mode's suspects among the `testable` voters; also
    the voters and networks tested. Reads the votes, writes nothing.

    Long on purpose: one pass over the same vote arrays builds the candidates, the
    crowd they are compared with and the networks; split, it would hand those arrays
    between helpers that each make sense only in this order.
    """
    votes = suspect_votes.mode_votes(mode, until, testable)
    if not votes:
        return {}, set(), set()
    voter, model_a, model_b, outcome = (
        votes[k] for k in ("voter", "model_a", "model_b", "outcome")
    )
    counted = ~votes["is_excluded"]
    left_alone = suspect_votes.left_alone()
    candidate = np.array([v not in left_alone for v in voter], dtype=bool)
    network_of = dict(
        VoterIdentity.objects.filter(voter__in=set(voter[candidate])).values_list(
            "voter", "network_hash"
        )
    )
    network = np.array([network_of.get(v, "") for v in voter], dtype=object)
    base_cells, crowd = votes["base"], votes["crowd"]
    base_votes = int(base_cells[3].sum()) if base_cells is not None else 0
    base = {
        "mode": mode,
        "threshold": P_THRESHOLD,
        "ratings_votes": int(counted.sum()) + base_votes,
    }
    suspects: dict[str, dict] = {}
    found = detection.find_suspects(
        voter,
        network,
        model_a,
        model_b,
        outcome,
        counted,
        candidate,
        min_votes=min_votes,
        base=base_cells,
    )
    for suspect in found:
        finding = suspect.finding
        if suspect.kind == "voter":
            suspects[finding.group] = {
                **base,
                "rule": "favouritism",
                "reason": _favouritism_reason(finding, ""),
                **_finding_evidence(finding),
            }
            continue
        velocity = network_velocity(finding.group)
        for member in suspect.voters:
            suspects[member] = {
                **base,
                "rule": "network",
                "reason": _favouritism_reason(finding, "Votes from this voter's network: "),
                **_finding_evidence(finding),
                "network": finding.group[:12],
                "network_voters_excluded": len(suspect.voters),
                "velocity": velocity,
            }

    # Consistency, against the ratings without the suspects found so far.
    decisive = np.isin(outcome, DECISIVE) & candidate
    kept = counted & ~np.isin(voter, list(suspects))
    cells = detection.CellCounts(model_a, model_b, outcome, base_cells)
    current = cells.ratings(cells.totals(kept) + cells.base)
    tested = decisive & ~np.isin(voter, list(suspects))
    scores = consistency(
        voter[tested],
        model_a[tested],
        model_b[tested],
        outcome[tested] == "a",
        current,
        min_votes=MIN_CONSISTENCY_VOTES,
        crowd=crowd,
    )
    for c in scores:
        if c.p_value >= P_THRESHOLD:
            break
        suspects[c.group] = {
            **base,
            "rule": "consistency",
            "reason": (
                f"{c.votes} decisive votes averaged {c.log_likelihood:.2f} nats per vote "
                f"under the ratings, the crowd {c.crowd_log_likelihood:.2f} at the same "
                f"pairs (z = {c.z:.1f}, p = {_p(c.p_value)} < {_p(P_THRESHOLD)})."
            ),
            "votes": c.votes,
            "log_likelihood": round(c.log_likelihood, 4),
            "crowd_log_likelihood": round(c.crowd_log_likelihood, 4),
            "z": round(c.z, 2),
            "p_value": c.p_value,
        }
    return suspects, set(voter[decisive]), set(network[decisive & (network != "")])


def _finding_evidence(finding) -> dict:
    return {
        "model": finding.model,
        "direction": finding.direction,
        "votes": finding.votes,
        "wins": finding.wins,
        "expected": round(finding.expected, 2),
        "p_value": finding.p_value,
    }


def detect_voters(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    min_votes: int | None = None,
    full: bool | None = None,
) -> DetectionSummary:
    """Test voters against the current ratings and exclude the flagged ones (with the
    reason and evidence), unless `dry_run`. Safe to run twice: an excluded voter is not
    tested again.

    A full pass tests every voter; a routine one only those with votes since the last
    pass (less LATE_VOTE_MARGIN), against the same ratings and crowd as a full pass.
    `full` None: full when there was none in the last ARENA_DETECT_FULL_EVERY_H hours
    (the ratings move, slowly, under voters who stopped voting).
    """
    started = time.monotonic()
    now = now or timezone.now()
    min_votes = min_votes or settings.ARENA_DETECT_MIN_VOTES
    states = {state.mode: state for state in DetectionState.objects.all()}
    if full is None:
        due = now - timedelta(hours=settings.ARENA_DETECT_FULL_EVERY_H)
        full = len(states) < len(ArenaMode.values) or any(s.full_at <= due for s in states.values())
    since = None if full else min(s.tested_until for s in states.values()) - LATE_VOTE_MARGIN
    summary = DetectionSummary(since=since)
    vote_counts.update_day_counts(now)
    testable = suspect_votes.testable_voters(now, min_votes=min_votes, since=since)
    voters, networks = set(), set()
    for mode in ArenaMode.values:
        suspects, mode_voters, mode_networks = find_suspects(
            mode, now, min_votes=min_votes, testable=testable[mode]
        )
        voters |= mode_voters
        networks |= mode_networks
        for voter, evidence in suspects.items():
            summary.flagged.setdefault(voter, evidence)
    summary.voters_tested, summary.networks_tested = len(voters), len(networks)
    if not dry_run:
        for voter, evidence in summary.flagged.items():
            try:
                exclusion = exclude_voter(
                    voter, evidence["reason"], by=AUTOMATIC, now=now, evidence=evidence
                )
            except ValueError:  # excluded meanwhile (another run, or an admin)
                continue
            summary.excluded_votes += exclusion.excluded_votes
        for mode in ArenaMode.values:
            last_full = states[mode].full_at if mode in states else now
            DetectionState.objects.update_or_create(
                mode=mode, defaults={"tested_until": now, "full_at": now if full else last_full}
            )
    summary.seconds = time.monotonic() - started
    return summary
