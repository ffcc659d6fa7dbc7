"""The votes voter detection reads, without reading every vote.

Only the voters who could be flagged are read, as counts per voter, pair and outcome:
those not left alone (never excluded or re-included) with enough decisive votes for a
rule, and the members of networks with enough. Everyone else enters as counts per pair
and outcome: the day counts (`vote_counts`, brought up to date first) less the
candidates' own counted votes. A full pass finds the candidates with one GROUP BY over
the votes; a routine pass looks only at the voters with votes since a moment, through
the indexes on time and voter, so its cost follows the new votes, not the arena's size.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
from django.db import connection, transaction

from leaderboard import vote_counts
from leaderboard.models import ArenaMode, ImageModel, Vote, VoterExclusion, VoterIdentity
from leaderboard.ratings.detection import MIN_CONSISTENCY_VOTES

DECISIVE = ("a", "b")
# Votes read per query when reading voters one chunk at a time (a bounded IN list).
CHUNK = 1000
# A vote's columns in the order the rows below carry them.
ROW_FIELDS = ("voter", "model_a_id", "model_b_id", "outcome", "is_excluded")


def left_alone() -> set[str]:
    """Voters an admin or an earlier pass excluded or re-included: never tested again."""
    return set(VoterExclusion.objects.values_list("voter", flat=True))


def testable_voters(
    until: datetime, *, min_votes: int, since: datetime | None = None
) -> dict[str, set[str]]:
    """Per arena mode, the voters who could be flagged: with at least min(min_votes, 20)
    decisive votes, or in a network with at least `min_votes`; with `since`, only among
    the voters (and networks) with votes cast from then up to `until`."""
    threshold = min(min_votes, MIN_CONSISTENCY_VOTES)
    skip = left_alone()
    if since is None:
        voters = _enough_votes("v.voter", threshold)
        networks = _enough_votes("i.network_hash", min_votes, join_identity=True)
    else:
        recent = {mode: _recent_voters(mode, since, until) - skip for mode in ArenaMode.values}
        voters = _enough_votes("v.voter", threshold, among=recent)
        near = {mode: _networks_of(found) for mode, found in recent.items()}
        networks = _enough_votes("i.network_hash", min_votes, among=near, join_identity=True)
    testable = {}
    for mode in ArenaMode.values:
        members = set()
        for part in _chunks(networks[mode]):
            members |= set(
                VoterIdentity.objects.filter(network_hash__in=part).values_list("voter", flat=True)
            )
        testable[mode] = (voters[mode] | members) - skip
    return testable


def _recent_voters(mode: str, since: datetime, until: datetime) -> set[str]:
    return set(
        Vote.objects.filter(mode=mode, created_at__gte=since, created_at__lte=until)
        .values_list("voter", flat=True)
        .distinct()
    )


def _networks_of(voters: set[str]) -> set[str]:
    networks = set()
    for part in _chunks(voters):
        networks |= set(
            VoterIdentity.objects.filter(voter__in=part)
            .exclude(network_hash="")
            .values_list("network_hash", flat=True)
        )
    return networks


def _enough_votes(
    key: str,
    threshold: int,
    *,
    among: dict[str, set[str]] | None = None,
    join_identity: bool = False,
) -> dict[str, set[str]]:
    """Per mode, the values of `key` (a voter, or a network) with at least `threshold`
    decisive votes from voters not left alone; all of them, or those in `among`.

    The full pass is one GROUP BY for every mode with no condition on time or voter.
    Per voter it walks the index on (voter, mode, outcome) in order, counting each
    voter's votes as they come, without reading the table.
    """
    vote, identity, exclusion = (m._meta.db_table for m in (Vote, VoterIdentity, VoterExclusion))
    source = f"{vote} v" + (f" JOIN {identity} i ON i.voter = v.voter" if join_identity else "")
    select = f"SELECT v.mode, {key} FROM {source} WHERE "
    where = f"v.outcome IN ('a', 'b') AND v.voter NOT IN (SELECT voter FROM {exclusion}) "
    having = f"GROUP BY {key}, v.mode HAVING COUNT(*) >= %s"
    rows = []
    with transaction.atomic(), connection.cursor() as cursor:
        if among is None:
            if connection.vendor == "postgresql" and not join_identity:
                # PostgreSQL guesses far fewer voters than there are and would hash
                # them all instead (10 s at ten million votes; the walk 2.6 s).
                cursor.execute("SET LOCAL enable_hashagg = off")
            cursor.execute(select + where + having, [threshold])
            rows = cursor.fetchall()
        else:
            for mode, values in among.items():
                for part in _chunks(values):
                    marks = ", ".join(["%s"] * len(part))
                    cursor.execute(
                        f"{select} v.mode = %s AND {key} IN ({marks}) AND {where}{having}",
                        [mode, *part, threshold],
                    )
                    rows += cursor.fetchall()
    found = {mode: set() for mode in ArenaMode.values}
    for mode, value in rows:
        found[mode].add(value)
    return found


def _chunks(values) -> list[list]:
    ordered = sorted(values)
    return [ordered[k : k + CHUNK] for k in range(0, len(ordered), CHUNK)]


def _grouped_rows(mode: str, until: datetime, voters: set[str]) -> list[tuple]:
    """(voter, model_a, model_b, outcome, is_excluded, votes) of `voters`' votes in
    `mode` cast up to `until`."""
    if not voters:
        return []
    fields = ", ".join(ROW_FIELDS)
    sql = (
        f"SELECT {fields}, COUNT(*) FROM {Vote._meta.db_table} "
        f"WHERE mode = %s AND created_at <= %s AND {{voters}} GROUP BY {fields}"
    )
    params = [mode, connection.ops.adapt_datetimefield_value(until)]
    rows = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array for all of them: lists of a thousand took twice as long.
            cursor.execute(sql.format(voters="voter = ANY(%s)"), [*params, sorted(voters)])
            return cursor.fetchall()
        for part in _chunks(voters):
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(sql.format(voters=f"voter IN ({marks})"), [*params, *part])
            rows += cursor.fetchall()
    return rows


def mode_votes(mode: str, until: datetime, testable: set[str]) -> dict[str, np.ndarray]:
    """One mode's votes for detection: the `testable` voters' votes one by one (read as
    counts per voter, pair and outcome, expanded here), everyone else's as counts per
    cell ("base": counted votes; "crowd": decisive votes of voters not left alone).
    The day counts must be up to date to `until` (`vote_counts.update_day_counts`)."""
    slug = dict(ImageModel.objects.values_list("pk", "slug"))
    rows = _grouped_rows(mode, until, testable)
    base = _counted_cells(mode) - _cells(rows)
    # Re-included voters' votes count but are not the crowd's yardstick.
    reincluded = left_alone() - set(vote_counts.active_exclusions())
    crowd = base - _cells(_grouped_rows(mode, until, reincluded))
    if not rows and not base:
        return {}
    # One entry per vote again, but pointing at the same few objects: the statistics
    # work per vote, the memory stays per (voter, pair, outcome).
    repeat = np.repeat(np.arange(len(rows)), [row[5] for row in rows]).astype(np.int64)

    def per_vote(values: list) -> np.ndarray:
        return np.array(values, dtype=object)[repeat] if values else np.zeros(0, dtype=object)

    def columns(cells: Counter, keep=lambda outcome: True) -> tuple | None:
        listed = [(slug[low], slug[high], o, n) for (low, high, o), n in cells.items() if keep(o)]
        return (
            tuple(np.array(c, dtype=object) for c in zip(*listed, strict=True)) if listed else None
        )

    crowd_columns = columns(crowd, keep=lambda outcome: outcome in DECISIVE)
    if crowd_columns is not None:
        crowd_columns = (*crowd_columns[:2], crowd_columns[2] == "a", crowd_columns[3])
    return {
        "voter": per_vote([row[0] for row in rows]),
        "model_a": per_vote([slug[row[1]] for row in rows]),
        "model_b": per_vote([slug[row[2]] for row in rows]),
        "outcome": per_vote([row[3] for row in rows]),
        "is_excluded": per_vote([row[4] for row in rows]).astype(bool),
        "base": columns(base),
        "crowd": crowd_columns,
    }


_SWAP = {"a": "b", "b": "a", "tie": "tie", "both_bad": "both_bad"}


def _counted_cells(mode: str) -> Counter:
    """Counted votes per (lower model id, higher model id, outcome): "a" when the model
    with the lower id won, "b" when the other did."""
    rows = vote_counts.summed_counts(mode, None)
    cells = Counter()
    columns = (rows.low.tolist(), rows.high.tolist(), rows.counts.tolist())
    for low, high, counts in zip(*columns, strict=True):
        for outcome, n in zip(("a", "b", "tie", "both_bad"), counts, strict=True):
            if n:
                cells[(low, high, outcome)] += n
    return cells


def _cells(rows: list[tuple]) -> Counter:
    """The counted votes among `rows` as `_counted_cells` keys them."""
    cells = Counter()
    for _, a, b, outcome, excluded, n in rows:
        if not excluded:
            cells[(a, b, outcome) if a < b else (b, a, _SWAP[outcome])] += n
    return cells
