"""The proof of work a new voter identity costs, in ALTCHA's challenge format.

The server hands out a challenge (https://altcha.org/docs/proof-of-work/): a salt, the
SHA-256 of salt + a secret number below `maxNumber`, and an HMAC signature of that
hash. The browser finds the number by trying them all (static/js/arena.js, with
crypto.subtle) and sends back a base64 JSON payload. The `altcha` package (MIT) makes
and verifies challenges; no outside service is involved.

Each challenge names the identity it was issued to (a tag in the salt's parameters),
expires after ARENA_POW_EXPIRY_S, and proves one identity once: its nonce is stored
unique with the identity. The work is per new identity, never per vote.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta

import altcha
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leaderboard.arena.errors import ProofInvalid, RateLimited
from leaderboard.arena.ratelimit import check_rate
from leaderboard.arena.voters import Voter, salted_hash
from leaderboard.models import VoterIdentity

ALGORITHM = "SHA-256"
MAX_PAYLOAD_CHARS = 2000


def _hmac_key() -> str:
    return salted_hash("altcha", "hmac-key")


def _identity_tag(voter: Voter) -> str:
    # Binds a challenge to the identity it was issued to; reveals nothing about the token.
    return salted_hash("altcha-voter", voter.id)[:24]


def new_challenge(voter: Voter) -> dict:
    """A fresh challenge for `voter`'s identity, as the JSON the browser solves."""
    challenge = altcha.create_challenge_v1(
        algorithm=ALGORITHM,
        max_number=settings.ARENA_POW_MAX_NUMBER,
        salt_length=12,
        hmac_key=_hmac_key(),
        salt="",
        number=None,
        expires=timezone.now() + timedelta(seconds=settings.ARENA_POW_EXPIRY_S),
        params={"v": _identity_tag(voter)},
    )
    return challenge.to_dict()


def _read_payload(payload: str) -> dict:
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD_CHARS:
        raise ProofInvalid()
    try:
        data = json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ProofInvalid() from None
    if not isinstance(data, dict) or data.get("algorithm") != ALGORITHM:
        raise ProofInvalid()
    if not isinstance(data.get("number"), int) or not isinstance(data.get("salt"), str):
        raise ProofInvalid()
    return data


def prove_identity(voter: Voter, payload: str) -> Voter:
    """Verify `payload` (a solved challenge) for `voter` and record the new identity.

    Raises ProofInvalid for a malformed, forged, expired, foreign or used solution and
    RateLimited when the voter's network has had its share of new identities. Returns
    the voter, now proven (its cookie must be set again). A voter already proven is
    returned as it is.
    """
    if voter.is_proven:
        return voter
    data = _read_payload(payload)
    is_valid, _ = altcha.verify_solution_v1(data, _hmac_key(), check_expires=True)
    params = altcha.extract_params_v1(data)
    if not is_valid or params.get("v") != [_identity_tag(voter)]:
        raise ProofInvalid()
    nonce = data["salt"].split("?", 1)[0]
    if VoterIdentity.objects.filter(challenge_nonce=nonce).exists():
        raise ProofInvalid("This check was already used. Reload the page for a new one.")
    # Counted only for solved challenges, so failed attempts cost the network nothing.
    try:
        check_rate("identity", voter=voter.id, ip_hash=voter.network_hash)
    except RateLimited as error:
        raise RateLimited(
            error.retry_after_s,
            "Many new voters came from your network just now. Try again in a minute.",
        ) from None
    try:
        with transaction.atomic():
            VoterIdentity.objects.create(
                voter=voter.id,
                network_hash=voter.network_hash,
                challenge_nonce=nonce,
                created_at=timezone.now(),
            )
    except IntegrityError:
        # The same identity proven twice at once (two tabs): one row; a used nonce fails.
        others = VoterIdentity.objects.filter(voter=voter.id).exclude(challenge_nonce=nonce)
        if not others.exists():
            raise ProofInvalid(
                "This check was already used. Reload the page for a new one."
            ) from None
    return voter.proven()
