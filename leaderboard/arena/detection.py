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

Flagged voters are excluded with the reason and the evidence (for a network, also its
velocity: identities and votes in its busiest hour); their votes are kept, and an
admin can re-include them. Voters an admin has excluded or re-included before are
left alone.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncHour
from django.utils import timezone

from leaderboard.arena.services import AUTOMATIC, exclude_voter
from leaderboard.models import ArenaMode, ImageModel, Vote, VoterExclusion, VoterIdentity
from leaderboard.ratings import detection
from leaderboard.ratings.detection import MIN_CONSISTENCY_VOTES, P_THRESHOLD, consistency

DECISIVE = ("a", "b")


@dataclass
class DetectionSummary:
    voters_tested: int = 0
    networks_tested: int = 0
    flagged: dict[str, dict] = field(default_factory=dict)  # voter -> evidence
    excluded_votes: int = 0
    seconds: float = 0.0

    def rule_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for evidence in self.flagged.values():
            counts[evidence["rule"]] += 1
        return dict(counts)

    def __str__(self):
        rules = ", ".join(f"{n} {rule}" for rule, n in sorted(self.rule_counts().items()))
        return (
            f"detection: {self.voters_tested:,} voters and {self.networks_tested:,} networks "
            f"tested, {len(self.flagged)} flagged ({rules or 'none'}), "
            f"{self.excluded_votes:,} votes excluded, {self.seconds:.1f} s"
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


def _testable_voters(mode: str, until: datetime, *, min_votes: int) -> set[str]:
    """Voters who could be flagged: not left alone, with enough decisive votes for a
    rule (counted in SQL), and the candidate members of networks with enough."""
    decisive = Vote.objects.filter(mode=mode, created_at__lte=until, outcome__in=DECISIVE).exclude(
        voter__in=VoterExclusion.objects.values("voter")
    )
    threshold = min(min_votes, MIN_CONSISTENCY_VOTES)
    voters = set(
        decisive.values("voter")
        .annotate(n=Count("id"))
        .filter(n__gte=threshold)
        .values_list("voter", flat=True)
    )
    vote, identity, exclusion = (m._meta.db_table for m in (Vote, VoterIdentity, VoterExclusion))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.network_hash FROM {vote} v JOIN {identity} i ON i.voter = v.voter "
            "WHERE v.mode = %s AND v.created_at <= %s AND v.outcome IN ('a', 'b') "
            f"AND v.voter NOT IN (SELECT voter FROM {exclusion}) "
            "GROUP BY i.network_hash HAVING COUNT(*) >= %s",
            [mode, connection.ops.adapt_datetimefield_value(until), min_votes],
        )
        networks = [row[0] for row in cursor.fetchall()]
    members = VoterIdentity.objects.filter(network_hash__in=networks).exclude(
        voter__in=VoterExclusion.objects.values("voter")
    )
    return voters | set(members.values_list("voter", flat=True))


def _cells_of_the_rest(votes, rows: list[tuple]) -> list[tuple]:
    """Counts per (model_a, model_b, outcome, is_excluded, left alone) of the votes
    not in `rows` (one GROUP BY over all, less the counts of `rows`)."""
    left_alone = Exists(VoterExclusion.objects.filter(voter=OuterRef("voter")))
    grouped = (
        votes.annotate(left_alone=left_alone)
        .values_list("model_a_id", "model_b_id", "outcome", "is_excluded", "left_alone")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = Counter({tuple(row[:5]): row[5] for row in grouped})
    # Every vote read one by one is a candidate's (not left alone).
    for _, a, b, o, excluded, n in rows:
        counts[(a, b, o, excluded, False)] -= n
    return [(*key, n) for key, n in counts.items() if n > 0]


def _mode_votes(mode: str, until: datetime, *, min_votes: int) -> dict[str, np.ndarray]:
    """One mode's votes for detection without reading every vote: the votes of the
    voters who could be flagged (read as counts per voter, pair and outcome, expanded
    here), everyone else's as counts per cell ("base": counted votes; "crowd":
    decisive votes of voters not left alone)."""
    testable = _testable_voters(mode, until, min_votes=min_votes)
    votes = Vote.objects.filter(mode=mode, created_at__lte=until)
    slug = dict(ImageModel.objects.values_list("pk", "slug"))
    rows = []  # (voter, model_a, model_b, outcome, is_excluded, votes)
    ordered = sorted(testable)
    for chunk in range(0, len(ordered), 1000):
        part = ordered[chunk : chunk + 1000]
        rows += (
            votes.filter(voter__in=part)
            .values_list("voter", "model_a_id", "model_b_id", "outcome", "is_excluded")
            .annotate(n=Count("id"))
            .order_by()
        )
    cells = _cells_of_the_rest(votes, rows)
    base = [(slug[a], slug[b], o, n) for a, b, o, excluded, _, n in cells if not excluded]
    crowd = [
        (slug[a], slug[b], o == "a", n)
        for a, b, o, _, left_alone, n in cells
        if not left_alone and o in DECISIVE
    ]
    if not rows and not base:
        return {}
    # One entry per vote again, but pointing at the same few objects: the statistics
    # work per vote, the memory stays per (voter, pair, outcome).
    repeat = np.repeat(np.arange(len(rows)), [row[5] for row in rows]).astype(np.int64)

    def per_vote(values: list) -> np.ndarray:
        return np.array(values, dtype=object)[repeat] if values else np.zeros(0, dtype=object)

    return {
        "voter": per_vote([row[0] for row in rows]),
        "model_a": per_vote([slug[row[1]] for row in rows]),
        "model_b": per_vote([slug[row[2]] for row in rows]),
        "outcome": per_vote([row[3] for row in rows]),
        "is_excluded": per_vote([row[4] for row in rows]).astype(bool),
        "base": tuple(np.array(c, dtype=object) for c in zip(*base, strict=True)) if base else None,
        "crowd": tuple(np.array(c, dtype=object) for c in zip(*crowd, strict=True))
        if crowd
        else None,
    }


def find_suspects(mode: str, until: datetime, *, min_votes: int) -> tuple[dict, set, set]:
    """{voter: evidence} for one arena mode's suspects; also the voters and networks
    tested. Reads the votes, writes nothing.

    Long on purpose: one pass over the same vote arrays builds the candidates, the
    crowd they are compared with and the networks; split, it would hand those arrays
    between helpers that each make sense only in this order.
    """
    votes = _mode_votes(mode, until, min_votes=min_votes)
    if not votes:
        return {}, set(), set()
    voter, model_a, model_b, outcome = (
        votes[k] for k in ("voter", "model_a", "model_b", "outcome")
    )
    counted = ~votes["is_excluded"]
    left_alone = set(VoterExclusion.objects.values_list("voter", flat=True))
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
    *, now: datetime | None = None, dry_run: bool = False, min_votes: int | None = None
) -> DetectionSummary:
    """Test every voter against the current ratings and exclude the flagged ones (with
    the reason and evidence), unless `dry_run`. Safe to run twice: an excluded voter is
    not tested again."""
    started = time.monotonic()
    now = now or timezone.now()
    min_votes = min_votes or settings.ARENA_DETECT_MIN_VOTES
    summary = DetectionSummary()
    voters, networks = set(), set()
    for mode in ArenaMode.values:
        suspects, mode_voters, mode_networks = find_suspects(mode, now, min_votes=min_votes)
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
    summary.seconds = time.monotonic() - started
    return summary
