"""One error policy for the whole site: what a client gets when a request fails.

Under /openai/ errors are OpenAI's shape ({"error": {"message", "type", "param",
"code"}}), under /api/ and /exports/ the data API's ({"error", "param", "message"}),
elsewhere the HTML error page. A database outage is a 503 with Retry-After, never a
500. The Django error handlers (handler400/403/404/500 in leaderboard/urls.py) and
`JsonErrorMiddleware` both answer through `error_response`, so errors raised by the
URL resolver, by method decorators, by other middleware or by Django's request
parsing (too many fields, too big a body) all come out the same way.
"""

from __future__ import annotations

import logging
import sys
from html import escape

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.handlers.wsgi import LimitedStream
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Seconds a client should wait after a 503 from a database outage.
DATABASE_RETRY_AFTER_S = 30
# Errors of a database that is away (refused, restarting, locked), not of a query: an
# IntegrityError or a ProgrammingError stays a 500 (a bug), never a 503.
DATABASE_OUTAGES = (OperationalError, InterfaceError)

# Headers of an error answer that describe its body, so not kept when it is rewritten.
REPLACED_HEADERS = {"content-type", "content-length", "content-disposition", "content-encoding"}
OPENAI_PREFIX = "/openai/"
DATA_API_PREFIXES = ("/api/", "/exports/")

TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    500: "Server error",
    503: "Temporarily unavailable",
}
CODES = {
    400: "invalid_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    500: "internal_error",
    503: "service_unavailable",
}
MESSAGES = {
    400: "The request could not be understood.",
    403: "You may not do that.",
    404: "There is nothing at this address.",
    405: "This method is not allowed here.",
    413: "The request is too large.",
    500: "The server had an error processing the request.",
    503: "The database is unavailable; try again shortly.",
}


def json_flavour(path: str) -> str | None:
    """'openai' or 'data' when errors at ``path`` must be JSON, else None."""
    if path.startswith(OPENAI_PREFIX):
        return "openai"
    if path.startswith(DATA_API_PREFIXES):
        return "data"
    return None


def error_response(
    request, status: int, message: str | None = None, *, code: str | None = None
) -> HttpResponse:
    """The error answer for ``request``'s path: JSON in its API's shape, or the HTML page."""
    message = message or MESSAGES.get(status, "The request failed.")
    code = code or CODES.get(status, "error")
    flavour = json_flavour(request.path)
    if flavour == "openai":
        kind = "server_error" if status >= 500 else "invalid_request_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        response = JsonResponse(body, status=status)
    elif flavour == "data":
        response = JsonResponse({"error": code, "param": None, "message": message}, status=status)
        response["Access-Control-Allow-Origin"] = "*"
    else:
        response = _html_error(status, message)
    if status == 503:
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    return response


def _html_error(status: int, message: str) -> HttpResponse:
    title = TITLES.get(status, "Error")
    try:
        # error.html needs no database: URLs and static paths only.
        error = {"status": status, "message": message, "title": title}
        body = render_to_string("error.html", {"error": error})
    except Exception:  # a broken template must not turn an error page into a traceback
        logger.exception("error page failed to render")
        body = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{escape(message)}</p>"
    return HttpResponse(body, status=status)


def status_for_exception(exception: BaseException) -> int | None:
    """The status a request-level exception stands for, or None when it is a bug."""
    if isinstance(exception, DATABASE_OUTAGES):
        return 503
    if isinstance(exception, RequestDataTooBig):
        return 413
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent | SuspiciousOperation):
        return 400
    if isinstance(exception, PermissionDenied):
        return 403
    if isinstance(exception, Http404):
        return 404
    return None


def _exception_message(exception: BaseException | None, status: int) -> str:
    if isinstance(exception, Http404) and exception.args and isinstance(exception.args[0], str):
        return exception.args[0]  # our views' own 404 sentences
    if isinstance(exception, TooManyFieldsSent):
        return "The request has too many form fields."
    if isinstance(exception, TooManyFilesSent):
        return "The request has too many files."
    if isinstance(exception, RequestDataTooBig):
        return "The request body is too large."
    return MESSAGES.get(status, "The request failed.")


# Django's error handlers (leaderboard/urls.py) -----------------------------------------


def bad_request(request, exception=None):
    status = status_for_exception(exception) if exception is not None else None
    status = status if status in (400, 413) else 400
    return error_response(request, status, _exception_message(exception, status))


def permission_denied(request, exception=None):
    return error_response(request, 403)


def page_not_found(request, exception=None):
    return error_response(request, 404)


def server_error(request):
    # Django calls this inside its `except`: the exception is still current.
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_OUTAGES):
        return error_response(request, 503)
    return error_response(request, 500)


def close_after_refusal(request, response: HttpResponse) -> HttpResponse:
    """A 413 leaves the refused body unread, so the connection cannot carry another
    request: answer without a Content-Length, which makes Django's server (runserver,
    the demo, the test live server) close it and say ``Connection: close`` (WSGI
    applications may not send that header themselves).

    Django's own server would first read the whole refused body (gigabytes, if the
    client claimed so) to keep the connection alive; its input stream is cut short.
    """
    stream = getattr(request, "environ", {}).get("wsgi.input")  # WSGI only
    if not isinstance(stream, LimitedStream) or response.streaming:
        # Not Django's server: gunicorn drops an application's Connection header and
        # decides itself (an oversized body is best refused by the proxy in front).
        return response
    stream.limit = 0
    closing = StreamingHttpResponse(iter([response.content]), status=response.status_code)
    for name, value in response.items():
        if name.lower() != "content-length":
            closing[name] = value
    return closing


class JsonErrorMiddleware:
    """Errors as their path promises: JSON under /api/, /exports/ and /openai/.

    A view's database error becomes a 503 with Retry-After on any path (the page is
    not broken, the database is away); any other error answer without a JSON body on
    a JSON path (404 from the URL resolver, 405 from a method decorator, Django's
    debug pages) is rewritten into the API's shape with the same status.
    """

    sync_capable = async_capable = True  # async under the ASGI server, so no thread hop

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._rewrite(request, self.get_response(request))

    async def _acall(self, request):
        return self._rewrite(request, await self.get_response(request))

    def _rewrite(self, request, response):
        if response.status_code == 413:
            return close_after_refusal(request, response)
        if response.status_code < 400 or json_flavour(request.path) is None:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        rewritten = error_response(request, response.status_code)
        for name, value in response.items():  # Allow, Retry-After, the security headers
            if name.lower() not in REPLACED_HEADERS:
                rewritten[name] = value
        return rewritten

    def process_exception(self, request, exception):
        status = status_for_exception(exception)
        if status == 503:
            logger.error("database unavailable on %s: %s", request.path, exception)
        if status is None:
            return None  # a bug: Django logs it and answers through server_error
        return error_response(request, status, _exception_message(exception, status))
