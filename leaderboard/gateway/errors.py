"""Errors of the API, in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.

Every failure the client can see is an ApiError raised somewhere below the view and
turned into JSON here; nothing from a provider's error body is ever copied into it.
"""

from __future__ import annotations

from django.http import JsonResponse


class ApiError(Exception):
    """A failure with the HTTP status and OpenAI error fields the client gets."""

    status = 400
    type = "invalid_request_error"
    code = "invalid_value"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def as_json(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class BadRequest(ApiError):
    """400: a parameter is missing or wrong; ``param`` names it."""


class Unauthorized(ApiError):
    status, code = 401, "invalid_api_key"


class ModelNotFound(ApiError):
    status, code = 404, "model_not_found"


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class TooLarge(ApiError):
    status, code = 413, "request_too_large"


class RateLimited(ApiError):
    status, type, code = 429, "rate_limit_error", "rate_limit_exceeded"


class Moderated(ApiError):
    """400 like OpenAI's safety rejection: the provider refused the prompt or the output."""

    type, code = "image_generation_user_error", "moderation_blocked"


class NoProvider(ApiError):
    status, type, code = 503, "server_error", "no_provider_available"


class ServiceUnavailable(ApiError):
    """503: our database is away; the client may retry after Retry-After seconds."""

    status, type, code = 503, "server_error", "service_unavailable"

    def __init__(self, message: str, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", "30")


class UpstreamFailed(ApiError):
    """502: every offering tried failed (5xx, connection errors, 429s, broken images)."""

    status, type, code = 502, "server_error", "upstream_error"


class UpstreamTimeout(ApiError):
    """504: every offering tried ran out of time."""

    status, type, code = 504, "server_error", "upstream_timeout"


class InternalError(ApiError):
    status, type, code = 500, "server_error", "internal_error"


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.as_json(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response
