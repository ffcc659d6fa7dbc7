"""Who is voting: a voter identity the server issued and signed, and the client's IP.

The voter identity is a random token in the `pw_voter` cookie (HttpOnly, SameSite=Lax),
signed by the server (django.core.signing) together with its state: "new" until the
browser has solved a proof-of-work challenge (leaderboard/arena/proof.py), "ok" after.
A cookie the client wrote itself fails the signature and is replaced by a new identity,
so nobody votes under an identity the server did not issue. The database sees only
sha256(salt, token). IPs are hashed the same way and never stored in clear;
X-Forwarded-For is believed only when the direct peer is a configured proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, replace
from functools import lru_cache

from django.conf import settings
from django.core import signing

VOTER_COOKIE = "pw_voter"
VOTER_COOKIE_MAX_AGE_S = 365 * 24 * 3600
_SIGNER_SALT = "pairwise.arena.voter"
_IDENTITY = re.compile(r"^([A-Za-z0-9_-]{43})\.(new|ok)$")
NEW, PROVEN = "new", "ok"


@dataclass(frozen=True)
class Voter:
    """The voter behind one request: `id`, `ip_hash` and `network_hash` are what the
    database stores (`ip` never is); `is_proven` once the identity's proof of work was
    accepted."""

    id: str
    ip_hash: str
    ip: str
    token: str
    is_proven: bool
    needs_cookie: bool

    @property
    def network_hash(self) -> str:
        # Only new identities need it: computed on demand, off the vote path.
        return salted_hash("network", network_of(self.ip))

    def proven(self) -> Voter:
        """The same identity after its proof of work (its cookie must be set again)."""
        return replace(self, is_proven=True, needs_cookie=True)


def salted_hash(kind: str, value: str) -> str:
    """HMAC-SHA256 of `value` under the arena salt, as 64 hex characters."""
    key = settings.ARENA_IP_HASH_SALT.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def voter_id_for_token(token: str) -> str:
    return salted_hash("voter", token)


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]):
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.ARENA_TRUSTED_PROXIES)))


def client_ip(meta: dict) -> str:
    """The client's IP for a request's META.

    REMOTE_ADDR, unless it is a trusted proxy: then X-Forwarded-For is read from the
    right, skipping further trusted proxies, and the first other address is the client
    (entries left of it could have been written by the client itself).
    """
    remote = meta.get("REMOTE_ADDR", "") or ""
    if not _is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else remote


def network_of(ip: str) -> str:
    """The network `ip` belongs to for per-network limits and detection: the address
    itself, or its /ARENA_NETWORK_PREFIX_V4 (IPv4) or /ARENA_NETWORK_PREFIX_V6 (IPv6)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = (
        settings.ARENA_NETWORK_PREFIX_V4
        if address.version == 4
        else (settings.ARENA_NETWORK_PREFIX_V6)
    )
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def read_identity(cookie: str) -> tuple[str, bool] | None:
    """(token, is_proven) from a voter cookie the server signed; None for anything else."""
    try:
        value = signing.Signer(salt=_SIGNER_SALT).unsign(cookie)
    except signing.BadSignature:
        return None
    match = _IDENTITY.match(value)
    return (match.group(1), match.group(2) == PROVEN) if match else None


def voter_for(request) -> Voter:
    """The request's voter. Without a cookie the server signed, a new, unproven identity
    is made (and must be set as a cookie with remember_voter)."""
    identity = read_identity(request.COOKIES.get(VOTER_COOKIE, ""))
    token, is_proven = identity or (secrets.token_urlsafe(32), False)
    ip = client_ip(request.META)
    return Voter(
        id=voter_id_for_token(token),
        ip_hash=salted_hash("ip", ip),
        ip=ip,
        token=token,
        is_proven=is_proven,
        needs_cookie=identity is None,
    )


def identity_cookie(voter: Voter) -> str:
    state = PROVEN if voter.is_proven else NEW
    return signing.Signer(salt=_SIGNER_SALT).sign(f"{voter.token}.{state}")


def remember_voter(response, voter: Voter):
    """Set the voter cookie on a response when the identity is new or was just proven.
    Returns the response."""
    if voter.needs_cookie:
        response.set_cookie(
            VOTER_COOKIE,
            identity_cookie(voter),
            max_age=VOTER_COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response
