"""The API's views: authenticate, count the call against the key's limit, parse, serve.

Bearer-authenticated and JSON only, so CSRF does not apply (csrf_exempt); every
error, ours or a provider's, leaves in OpenAI's error shape. The views are async: under
the ASGI server (gunicorn.conf.py) a call waiting on a provider holds no worker and no
thread, so slow providers cannot starve the pages and the arena; the database work runs
in threads (leaderboard/gateway/blocking.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import FileResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from leaderboard.errors import DATABASE_OUTAGES
from leaderboard.gateway import auth, images
from leaderboard.gateway.blocking import blocking
from leaderboard.gateway.errors import (
    ApiError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    ModelNotFound,
    NotFound,
    ServiceUnavailable,
    TooLarge,
    error_response,
)
from leaderboard.gateway.params import parse_params
from leaderboard.gateway.service import create_images
from leaderboard.gateway.uploads import check_declared_length, read_edit_form
from leaderboard.models import ArenaMode, ImageModel

logger = logging.getLogger(__name__)


def api_view(endpoint: str, method: str):
    """Method check, bearer key, rate limit, usage record and OpenAI-shaped errors."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        async def wrapper(request, *args, **kwargs):
            # A client that hangs up makes Django cancel the view; the call goes on to its
            # end regardless, so the provider requests already paid for are recorded.
            call = asyncio.ensure_future(respond(request, *args, **kwargs))
            return await asyncio.shield(call)

        async def respond(request, *args, **kwargs):
            started = time.monotonic()
            key, usage, headers = None, auth.Usage(endpoint=endpoint, status_code=200), {}
            try:
                if request.method != method:
                    raise MethodNotAllowed(f"Use {method} for this endpoint.")
                key = await blocking(auth.authenticate)(request)
                headers = await blocking(auth.check_rate_limit)(key)
                response = await view(request, usage, *args, **kwargs)
            except ApiError as error:
                response, usage.error_code = error_response(error), error.code
            except DATABASE_OUTAGES:
                logger.exception("database unavailable on %s", endpoint)
                error = ServiceUnavailable("The database is unavailable; try again shortly.")
                response, usage.error_code = error_response(error), error.code
            except Exception:
                logger.exception("gateway error on %s", endpoint)
                error = InternalError("The server had an error processing the request.")
                response, usage.error_code = error_response(error), error.code
            for name, value in headers.items():
                response.setdefault(name, value)
            usage.status_code = response.status_code
            usage.duration_ms = (time.monotonic() - started) * 1000
            if key is not None:
                await blocking(_record_usage)(key, usage)
            logger.info(
                "gateway %s %s key=%s status=%s images=%s providers=%s %.0f ms",
                request.method, endpoint, key.prefix if key else "-", response.status_code,
                usage.images_returned, usage.providers or "-", usage.duration_ms,
            )  # fmt: skip
            return response

        return wrapper

    return decorate


def _record_usage(key, usage: auth.Usage) -> None:
    try:
        auth.record_usage(key, usage)
    except DatabaseError:  # the answer (perhaps paid images) still goes out
        logger.exception("usage of key %s not recorded", key.prefix)


@api_view("generations", "POST")
async def generations(request, usage: auth.Usage):
    check_declared_length(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE, param="prompt")
    try:
        data = json.loads(request.body or b"null")
    except RequestDataTooBig:
        raise TooLarge("The request body is too large.") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body must be a JSON object.") from None
    except RecursionError:  # "[[[[..." a thousand deep exhausts the parser's stack
        raise BadRequest("The JSON body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    params = parse_params(data)
    return await _serve(request, usage, params, ArenaMode.TEXT_TO_IMAGE, ())


@api_view("edits", "POST")
async def edits(request, usage: auth.Usage):
    fields, references = await blocking(read_edit_form)(request)
    params = parse_params(fields, is_form=True)
    return await _serve(request, usage, params, ArenaMode.EDIT, tuple(references))


async def _serve(request, usage: auth.Usage, params, mode: str, references: tuple):
    usage.images_requested = params.n
    outcome = await create_images(params, mode, references, absolute_url=request.build_absolute_uri)
    usage.image_model_id = outcome.image_model_id
    usage.images_returned = outcome.images_returned
    usage.attempts = outcome.attempts
    usage.providers = ",".join(outcome.providers)
    usage.cost_usd = outcome.cost_usd
    if outcome.error is not None:
        raise outcome.error
    response = JsonResponse(outcome.body)
    for name, value in outcome.headers.items():
        response[name] = value
    return response


def image_file(request, file_name: str):
    """A stored output image: public to whoever holds its unguessable URL, like OpenAI's."""
    if request.method not in ("GET", "HEAD"):
        return error_response(MethodNotAllowed("Use GET for image files."))
    try:
        stored, content_type = images.open_stored(file_name)
    except FileNotFoundError:
        return error_response(NotFound("No such image."))
    response = FileResponse(stored, content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@api_view("models", "GET")
async def models(request, usage: auth.Usage, slug: str | None = None):
    return await blocking(_models_response)(slug)


def _models_response(slug: str | None) -> JsonResponse:
    rows = ImageModel.objects.filter(
        is_active=True, offerings__is_active=True, offerings__provider__is_active=True
    ).distinct()
    if slug is not None:
        rows = rows.filter(slug=slug)
    data = [_model_json(row) for row in rows.order_by("slug")]
    if slug is None:
        return JsonResponse({"object": "list", "data": data})
    if not data:
        raise ModelNotFound(f"The model {slug!r} does not exist.", param="model")
    return JsonResponse(data[0])


def _model_json(row: ImageModel) -> dict:
    modes = [name for name, ok in (("generations", row.does_text_to_image),
                                   ("edits", row.does_edit)) if ok]  # fmt: skip
    return {
        "id": row.slug,
        "object": "model",
        "created": int(row.created_at.timestamp()),
        "owned_by": row.vendor,
        "name": row.name,
        "modes": modes,
        "max_reference_images": row.max_reference_images if row.does_edit else 0,
    }
