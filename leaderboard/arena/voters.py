"""Who is voting: an anonymous voter session and the client's IP, both stored only hashed.

The voter session is a random token in the `pw_voter` cookie (HttpOnly, SameSite=Lax);
the database sees sha256(salt, token). IPs are hashed the same way and never stored
in clear. X-Forwarded-For is believed only when the direct peer is a configured proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

VOTER_COOKIE = "pw_voter"
VOTER_COOKIE_MAX_AGE_S = 365 * 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class Voter:
    """The voter behind one request: `id` and `ip_hash` are what the database stores."""

    id: str
    ip_hash: str
    token: str
    is_new: bool


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


def voter_for(request) -> Voter:
    """The request's voter; a new token is made (and must be set as a cookie) if absent."""
    token = request.COOKIES.get(VOTER_COOKIE, "")
    is_new = not _TOKEN.match(token)
    if is_new:
        token = secrets.token_urlsafe(32)
    return Voter(
        id=voter_id_for_token(token),
        ip_hash=salted_hash("ip", client_ip(request.META)),
        token=token,
        is_new=is_new,
    )


def remember_voter(response, voter: Voter):
    """Set the voter cookie on a response when the voter is new. Returns the response."""
    if voter.is_new:
        response.set_cookie(
            VOTER_COOKIE,
            voter.token,
            max_age=VOTER_COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response
