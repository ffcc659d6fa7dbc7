"""The one module that writes arena rows: matchups served, votes cast, voters excluded.

Views, the admin and the demo crowd call these functions; none of them writes arena
rows itself. Each write runs inside transaction.atomic().

Serving and voting are the arena's hot path (hundreds of requests a second). Building
their few statements with the ORM on every request cost ten times the database work
itself (about 300 us against 20 us per statement), so those statements are written
below in plain SQL that SQLite (>= 3.35, for RETURNING) and PostgreSQL both run; the
tests run on both. Everything off the hot path uses the ORM.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from bench.pools import ARENA, RETIRED
from leaderboard.arena.errors import (
    AlreadyVoted,
    ArenaError,
    InvalidVote,
    MatchupExpired,
    MatchupNotFound,
    MatchupNotVoted,
)
from leaderboard.arena.history import voter_histories
from leaderboard.arena.pool import arena_catalog
from leaderboard.arena.sampling import Pick, Sampler
from leaderboard.models import Matchup, MatchupKind, Vote, VoteOutcome, VoterExclusion

MATCHUP_CODE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Picks tried when the picked images turn out to have just been retired by another worker.
MAX_CLAIM_ATTEMPTS = 4
AUTOMATIC = "automatic"

# The matchup with its challenge's arena mode and category (what a vote records).
MATCHUP_COLUMNS = (
    "id", "code", "challenge_id", "generation_a_id", "generation_b_id", "model_a_id",
    "model_b_id", "voter", "ip_hash", "served_at", "expires_at", "voted_at", "kind",
)  # fmt: skip
FIND_MATCHUP = f"""
    SELECT {", ".join(f"m.{column}" for column in MATCHUP_COLUMNS)}, c.mode, c.category_id
    FROM leaderboard_matchup m JOIN leaderboard_challenge c ON c.id = m.challenge_id
    WHERE m.code = %s
"""
# One impression for each of the two images, only while both are live; the one that
# reaches ARENA_MAX_IMPRESSIONS is retired by the same statement. SQLite's write lock
# serialises serves, so a plain UPDATE is exact there (a half-counted pair is undone).
_RETIRING = f"""
    impressions = impressions + 1,
    pool = CASE WHEN impressions + 1 >= %s THEN '{RETIRED}' ELSE pool END,
    retired_at = CASE WHEN impressions + 1 >= %s THEN %s ELSE retired_at END
"""
COUNT_IMPRESSIONS = f"""
    UPDATE leaderboard_generation SET {_RETIRING}
    WHERE id IN (%s, %s) AND pool = '{ARENA}' AND impressions < %s
    RETURNING id, pool
"""
UNCOUNT_IMPRESSION = f"""
    UPDATE leaderboard_generation SET impressions = impressions - 1, pool = '{ARENA}',
        retired_at = NULL
    WHERE id = %s
"""
# PostgreSQL: lock both rows in id order first (two serves locking a pair in opposite
# orders would deadlock), then count both or neither. NO KEY UPDATE leaves the key-share
# locks of inserts that reference the rows (matchups, samples) unblocked.
COUNT_IMPRESSIONS_LOCKED = f"""
    WITH live AS (
        SELECT id FROM leaderboard_generation
        WHERE id IN (%s, %s) AND pool = '{ARENA}' AND impressions < %s
        ORDER BY id FOR NO KEY UPDATE
    )
    UPDATE leaderboard_generation SET {_RETIRING}
    WHERE id IN (SELECT id FROM live) AND (SELECT count(*) FROM live) = 2
    RETURNING id, pool
"""
NOT_LIVE = f"""
    SELECT id FROM leaderboard_generation
    WHERE id IN (%s, %s) AND (pool <> '{ARENA}' OR impressions >= %s)
"""
INSERT_MATCHUP = """
    INSERT INTO leaderboard_matchup (code, challenge_id, generation_a_id, generation_b_id,
        model_a_id, model_b_id, voter, ip_hash, served_at, expires_at, kind)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""
# The claim: one conditional UPDATE, so two submits at the same instant cannot both win.
CLAIM_MATCHUP = """
    UPDATE leaderboard_matchup SET voted_at = %s
    WHERE id = %s AND voter = %s AND voted_at IS NULL AND expires_at > %s
"""
ACTIVE_EXCLUSION = """
    SELECT reason FROM leaderboard_voterexclusion WHERE voter = %s AND lifted_at IS NULL
"""
INSERT_VOTE = """
    INSERT INTO leaderboard_vote (matchup_id, model_a_id, model_b_id, outcome, mode,
        category_id, challenge_id, voter, created_at, decision_ms, is_flagged,
        is_excluded, exclusion_reason, is_demo)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""

# One sampler per worker process: it holds the side-balancing blocks.
_sampler = Sampler()


def _db_time(moment: datetime):
    """A datetime as the database backend stores it (SQLite: UTC text, as the ORM does)."""
    return connection.ops.adapt_datetimefield_value(moment)


def _aware(moment: datetime | None) -> datetime | None:
    """A datetime read by a plain cursor: SQLite gives naive UTC, PostgreSQL aware."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _loaded(model, row: dict):
    """The instance of `model` for a row read or written by the plain SQL above, made by
    Django's own row loader (`Model.from_db`, what a queryset calls), so it is a saved
    row on this connection. Columns missing from `row` are deferred, not defaulted."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in row]
    return model.from_db(connection.alias, names, [row[name] for name in names])


def serve_matchup(
    *,
    voter: str,
    mode: str,
    category: str | None = None,
    ip_hash: str = "",
    now: datetime | None = None,
    sampler: Sampler | None = None,
) -> Matchup | None:
    """Store and return a new matchup for `voter` in arena `mode` (optionally one category).

    Returns None when the arena has no two models with live images for any challenge,
    or nothing this voter has not been shown lately (see sampling's History). Both
    images get an impression; one that reaches ARENA_MAX_IMPRESSIONS is retired. The
    matchup carries `mode` and `category_id` of its challenge, as found ones do.
    """
    with transaction.atomic():
        return _serve(voter, mode, category, ip_hash, now or timezone.now(), sampler or _sampler)


def _serve(voter, mode, category, ip_hash, now, sampler) -> Matchup | None:
    """serve_matchup's work, in the caller's transaction."""
    catalog = arena_catalog(mode)
    table = catalog.table(category)
    if not table.pairs:
        return None
    with connection.cursor() as cursor:
        history = voter_histories.history(cursor, voter, to_db=_db_time, from_db=_aware)
        for _ in range(MAX_CLAIM_ATTEMPTS):
            pick = sampler.pick(table, history, catalog.retired)
            if pick is None:
                return None
            if _count_impressions(cursor, pick, catalog.retired, now):
                break
        else:
            return None
        matchup = _insert_matchup(cursor, pick, voter, ip_hash, now, MatchupKind.MODELS)
    matchup.mode = mode
    matchup.category_id = catalog.challenges[pick.challenge_id].category_id
    return matchup


def _insert_matchup(cursor, pick: Pick, voter: str, ip_hash: str, now: datetime, kind: str):
    """Store the matchup of `pick` for `voter` (a fresh opaque code) and return it."""
    row = {
        "code": secrets.token_urlsafe(32),
        "challenge_id": pick.challenge_id,
        "generation_a_id": pick.generation_a_id,
        "generation_b_id": pick.generation_b_id,
        "model_a_id": pick.model_a_id,
        "model_b_id": pick.model_b_id,
        "voter": voter,
        "ip_hash": ip_hash,
        "served_at": now,
        "expires_at": now + timedelta(seconds=settings.ARENA_MATCHUP_EXPIRY_S),
        "kind": str(kind),
    }
    # In INSERT_MATCHUP's column order; the plain cursor needs times as the database wants.
    cursor.execute(
        INSERT_MATCHUP,
        [_db_time(value) if isinstance(value, datetime) else value for value in row.values()],
    )
    row.update(id=cursor.fetchone()[0], voted_at=None)
    return _loaded(Matchup, row)


def _count_impressions(cursor, pick: Pick, retired: set[int], now: datetime) -> bool:
    """Count one impression for both images of `pick`; False (and nothing counted) when
    one of them is no longer live. `retired` learns which ones are used up."""
    cap = settings.ARENA_MAX_IMPRESSIONS
    pair = (pick.generation_a_id, pick.generation_b_id)
    if connection.vendor == "postgresql":
        # A savepoint, so that a failed attempt lets go of the row it locked before the
        # sampler picks again (holding it could deadlock with another serve).
        savepoint = transaction.savepoint()
        cursor.execute(COUNT_IMPRESSIONS_LOCKED, [*pair, cap, cap, cap, _db_time(now)])
        counted = cursor.fetchall()
        if len(counted) == 2:
            transaction.savepoint_commit(savepoint)
        else:
            transaction.savepoint_rollback(savepoint)
            cursor.execute(NOT_LIVE, [*pair, cap])
            retired.update(generation for (generation,) in cursor.fetchall())
            return False
    else:
        cursor.execute(COUNT_IMPRESSIONS, [cap, cap, _db_time(now), *pair, cap])
        counted = cursor.fetchall()
        if len(counted) != 2:
            # Retired meanwhile (by another worker): undo the other image's impression.
            for generation, _ in counted:
                cursor.execute(UNCOUNT_IMPRESSION, [generation])
            retired.update(set(pair) - {generation for generation, _ in counted})
            return False
    retired.update(generation for generation, pool in counted if pool == RETIRED)
    return True


def _find(code: str, voter: str, kind: str | None) -> Matchup:
    if not isinstance(code, str) or not MATCHUP_CODE.match(code):
        raise MatchupNotFound()
    # A plain cursor, not Matchup.objects.raw(): this runs on every vote and raw()'s
    # per-query set-up cost more than the statement itself.
    with connection.cursor() as cursor:
        cursor.execute(FIND_MATCHUP, [code])
        row = cursor.fetchone()
    # Constant-time comparison: a foreign voter learns nothing, not even by timing.
    if row is None or not secrets.compare_digest(row[MATCHUP_COLUMNS.index("voter")], voter):
        raise MatchupNotFound()
    # A serving matchup is voted through the serving arena only, and the other way round.
    if kind is not None and row[MATCHUP_COLUMNS.index("kind")] != kind:
        raise MatchupNotFound()
    values = dict(zip(MATCHUP_COLUMNS, row, strict=False))
    for column in ("served_at", "expires_at", "voted_at"):
        values[column] = _aware(values[column])
    matchup = _loaded(Matchup, values)
    matchup.mode, matchup.category_id = row[len(MATCHUP_COLUMNS) :]
    return matchup


def get_open_matchup(
    code: str,
    voter: str,
    *,
    allow_voted: bool = False,
    now: datetime | None = None,
    kind: str | None = MatchupKind.MODELS,
) -> Matchup:
    """The matchup `code` if it was served to `voter` and can still be voted on.

    Raises MatchupNotFound for malformed, unknown or someone else's codes (404),
    AlreadyVoted once it has a vote (409) and MatchupExpired after expiry (410).
    With `allow_voted` (for its images) a voted matchup is returned at any age. `kind`
    None accepts a matchup of either arena (their images are served alike).
    """
    matchup = _find(code, voter, kind)
    if matchup.voted_at is not None:
        if allow_voted:
            return matchup
        raise AlreadyVoted()
    if matchup.expires_at <= (now or timezone.now()):
        raise MatchupExpired()
    return matchup


def get_voted_matchup(code: str, voter: str, kind: str = MatchupKind.MODELS) -> Matchup:
    """The matchup `code` of `voter` once voted on: the only way to see who was who."""
    matchup = _find(code, voter, kind)
    if matchup.voted_at is None:
        raise MatchupNotVoted()
    return matchup


def record_vote(
    matchup: Matchup,
    outcome: str,
    *,
    voter: str,
    now: datetime | None = None,
    is_demo: bool = False,
) -> Vote:
    """Store `voter`'s vote on `matchup`, exactly once, or raise without storing anything.

    The matchup is claimed with one conditional UPDATE (not voted, not expired, same
    voter) before the vote is inserted, so of two submissions arriving at the same
    instant one claims it and the other finds it voted. A vote cast sooner than
    ARENA_MIN_VOTE_MS after serving is stored flagged; a voter whose flagged share
    passes the threshold is excluded from the ratings.
    """
    if outcome not in VoteOutcome.values:
        raise InvalidVote()
    with transaction.atomic():
        return _record(matchup, outcome, voter, now or timezone.now(), is_demo)


def record_vote_and_serve_next(
    matchup: Matchup,
    outcome: str,
    *,
    voter: str,
    category: str | None = None,
    ip_hash: str = "",
) -> tuple[Vote, Matchup | None]:
    """Record a vote and serve the voter's next matchup of the same arena, together.

    This is what the page's script asks for: the reveal and the next matchup in one
    answer. One transaction means one commit (and one write lock on SQLite); a
    failure stores neither, and the open matchup can be voted on again.
    """
    if outcome not in VoteOutcome.values:
        raise InvalidVote()
    now = timezone.now()
    with transaction.atomic():
        vote = _record(matchup, outcome, voter, now, False)
        upcoming = _serve(voter, matchup.mode, category, ip_hash, now, _sampler)
    return vote, upcoming


def _record(matchup: Matchup, outcome: str, voter: str, now: datetime, is_demo: bool) -> Vote:
    """record_vote's work, in the caller's transaction."""
    decision_ms = max(0, int((now - matchup.served_at).total_seconds() * 1000))
    if not hasattr(matchup, "mode"):  # a Matchup loaded by other means than these services
        matchup.mode, matchup.category_id = matchup.challenge.mode, matchup.challenge.category_id
    row = {
        "matchup_id": matchup.pk,
        "model_a_id": matchup.model_a_id,
        "model_b_id": matchup.model_b_id,
        "outcome": outcome,
        "mode": matchup.mode,
        "category_id": matchup.category_id,
        "challenge_id": matchup.challenge_id,
        "voter": voter,
        "created_at": now,
        "decision_ms": decision_ms,
        "is_flagged": decision_ms < settings.ARENA_MIN_VOTE_MS,
        "is_demo": is_demo,
    }
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_MATCHUP, [_db_time(now), matchup.pk, voter, _db_time(now)])
        if cursor.rowcount != 1:
            raise _why_unclaimable(matchup.pk, voter)
        cursor.execute(ACTIVE_EXCLUSION, [voter])
        exclusion = cursor.fetchone()
        row["is_excluded"] = exclusion is not None
        row["exclusion_reason"] = exclusion[0] if exclusion else ""
        cursor.execute(
            INSERT_VOTE,
            [
                row["matchup_id"],
                row["model_a_id"],
                row["model_b_id"],
                outcome,
                row["mode"],
                row["category_id"],
                row["challenge_id"],
                voter,
                _db_time(now),
                decision_ms,
                row["is_flagged"],
                row["is_excluded"],
                row["exclusion_reason"],
                is_demo,
            ],
        )
        row["id"] = cursor.fetchone()[0]
    if row["is_flagged"] and exclusion is None:
        _exclude_if_mostly_flagged(voter, now)
    matchup.voted_at = now
    return _loaded(Vote, row)


def _why_unclaimable(matchup_id: int, voter: str) -> ArenaError:
    state = Matchup.objects.filter(pk=matchup_id, voter=voter).values("voted_at").first()
    if state is None:
        return MatchupNotFound()
    return AlreadyVoted() if state["voted_at"] is not None else MatchupExpired()


def _exclude_if_mostly_flagged(voter: str, now: datetime) -> None:
    # A voter an admin has excluded or re-included before is left to the admin.
    if VoterExclusion.objects.filter(voter=voter).exists():
        return
    totals = Vote.objects.filter(voter=voter).aggregate(
        total=Count("id"), flagged=Count("id", filter=Q(is_flagged=True))
    )
    total, flagged = totals["total"], totals["flagged"]
    threshold = settings.ARENA_FLAGGED_SHARE_PERCENT
    if total >= settings.ARENA_FLAG_MIN_VOTES and flagged * 100 > threshold * total:
        exclude_voter(
            voter,
            f"{flagged} of {total} votes ({flagged / total:.0%}) came faster than "
            f"{settings.ARENA_MIN_VOTE_MS} ms after serving; the limit is {threshold}%.",
            by=AUTOMATIC,
            now=now,
        )


def exclude_voter(
    voter: str,
    reason: str,
    *,
    by: str = "",
    now: datetime | None = None,
    evidence: dict | None = None,
) -> VoterExclusion:
    """Leave all of `voter`'s votes (past and future) out of the ratings, with a reason
    (and, from detection, the `evidence` behind it).

    The votes stay in the database, marked excluded with the reason. Raises ValueError
    without a reason or when the voter is already excluded.
    """
    reason = reason.strip()[:200]
    if not reason:
        raise ValueError("An exclusion needs a reason.")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            exclusion = VoterExclusion.objects.create(
                voter=voter,
                reason=reason,
                is_automatic=by == AUTOMATIC,
                created_at=now,
                created_by=by,
                evidence=evidence or {},
            )
            exclusion.excluded_votes = Vote.objects.filter(voter=voter).update(
                is_excluded=True, exclusion_reason=reason
            )
            exclusion.save(update_fields=["excluded_votes"])
    except IntegrityError:
        raise ValueError("This voter is already excluded.") from None
    return exclusion


def include_voter(voter: str, reason: str, *, by: str = "", now: datetime | None = None) -> int:
    """Lift `voter`'s active exclusion: their votes count again. Returns the votes restored."""
    reason = reason.strip()[:200]
    if not reason:
        raise ValueError("Re-including a voter needs a reason.")
    with transaction.atomic():
        lifted = VoterExclusion.objects.filter(voter=voter, lifted_at__isnull=True).update(
            lifted_at=now or timezone.now(), lifted_by=by, lift_reason=reason
        )
        if not lifted:
            return 0
        return Vote.objects.filter(voter=voter).update(is_excluded=False, exclusion_reason="")
