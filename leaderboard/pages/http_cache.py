"""HTTP caching: validators and shared-cache lifetimes for the public pages and data API.

A public page or data answer is the same for every visitor until the snapshot changes
(leaderboard/pages/cache.py), so a reverse proxy or CDN can carry the read load:
`Cache-Control: public, max-age=..., s-maxage=...`, an `ETag` made of the snapshot
version and a hash of the body (the same on every worker and host, and new after a
catalog edit in the admin, which changes no snapshot), and `Last-Modified` from the
snapshot's newest ratings, stats or generation. Conditional requests (If-None-Match,
If-Modified-Since) get a 304 without a body.

Everything else (the arena, votes, the admin, the API gateway) is per visitor or per key:
a response that names no caching policy of its own leaves as `private, no-store`.
"""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.utils.cache import get_conditional_response
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import http_date

from leaderboard.pages.cache import current_snapshot

# Browsers re-check a page after this long; shared caches after PAGES_SHARED_MAX_AGE_S.
BROWSER_MAX_AGE_S = 30
PRIVATE = "private, no-store"


def public_cache_control() -> str:
    return f"public, max-age={BROWSER_MAX_AGE_S}, s-maxage={settings.PAGES_SHARED_MAX_AGE_S}"


def snapshot_validated(view):
    """Validators and a public Cache-Control on ``view``'s 200 answers; 304 when current.

    A Cache-Control the view sets itself (the charts' immutable one) is kept.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != 200 or response.streaming:
            return response
        snapshot = current_snapshot()
        digest = hashlib.blake2b(response.content, digest_size=8).hexdigest()
        response["ETag"] = f'"{snapshot.version}-{digest}"'
        # Whole seconds, as HTTP dates carry them, or If-Modified-Since never matches.
        last_modified = snapshot.modified_at and int(snapshot.modified_at.timestamp())
        if last_modified:
            response["Last-Modified"] = http_date(last_modified)
        if "Cache-Control" not in response:
            response["Cache-Control"] = public_cache_control()
        return (
            get_conditional_response(
                request, etag=response["ETag"], last_modified=last_modified, response=response
            )
            or response
        )

    return wrapper


class PrivateByDefaultMiddleware(MiddlewareMixin):
    """Nothing is shared by a proxy unless its view says so: ``private, no-store``."""

    def process_response(self, request, response):
        if "Cache-Control" not in response:
            response["Cache-Control"] = PRIVATE
        return response
