"""OpenAPI 3.1 documents of the data API (/api/openapi.json) and the image API
(/openai/v1/openapi.json), for client generators and API fuzzers.

Written by hand from the views: the parameters, statuses and error shapes here are the
ones the views and leaderboard/errors.py produce (tests/site/test_openapi.py checks
that every documented path answers and every routed API path is documented).
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_safe

from leaderboard.models import ArenaMode, RatingWindow

DATA_ERROR = {
    "type": "object",
    "required": ["error", "param", "message"],
    "properties": {
        "error": {"type": "string", "examples": ["invalid_parameter", "not_found"]},
        "param": {"type": ["string", "null"]},
        "message": {"type": "string"},
    },
}
OPENAI_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def _errors(schema_ref: str, *statuses: int) -> dict:
    content = {"application/json": {"schema": {"$ref": schema_ref}}}
    texts = {
        400: "A bad parameter or body",
        401: "Missing, wrong or revoked API key",
        404: "Unknown slug, model or path",
        405: "Method not allowed",
        413: "Request too large (the connection is closed)",
        429: "Over the key's rate limit (Retry-After)",
        502: "Every provider failed",
        503: "Database unreachable or no provider configured (Retry-After)",
        504: "Every provider timed out",
    }
    return {str(status): {"description": texts[status], "content": content} for status in statuses}


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


BOARD_PARAMETERS = [
    _query("mode", {"type": "string", "enum": list(ArenaMode.values)}, "Arena (default t2i)"),
    _query("category", {"type": "string"}, "Category slug; empty = overall"),
    _query("window", {"type": "string", "enum": list(RatingWindow.values)}, "Time window"),
]
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}


def _get(summary: str, content_type: str, parameters=(), errors=(400, 404, 405, 503)) -> dict:
    return {
        "get": {
            "summary": summary,
            "parameters": list(parameters),
            "responses": {
                "200": {"description": "OK", "content": {content_type: {}}},
                **_errors("#/components/schemas/Error", *errors),
            },
        }
    }


def data_api_document() -> dict:
    paths = {
        "/api/leaderboard": _get("A leaderboard as JSON", "application/json", BOARD_PARAMETERS),
        "/api/leaderboard.csv": _get("A leaderboard as CSV", "text/csv", BOARD_PARAMETERS),
        "/api/models/{slug}": _get("One model", "application/json", [SLUG]),
        "/api/models/{slug}.csv": _get("One model's leaderboards as CSV", "text/csv", [SLUG]),
        "/api/serving/{slug}": _get(
            "One model's offerings rated by the serving arena", "application/json", [SLUG]
        ),
        "/api/serving/{slug}.csv": _get("One model's serving board as CSV", "text/csv", [SLUG]),
        "/api/providers/stats": _get(
            "Provider statistics per offering",
            "application/json",
            [_query("model", {"type": "string"}, "Model slug")],
        ),
        "/api/providers/stats.csv": _get(
            "Provider statistics per offering as CSV",
            "text/csv",
            [_query("model", {"type": "string"}, "Model slug")],
        ),
        "/exports/votes-{mode}.csv": _get(
            "The votes the current boards were fitted on",
            "text/csv",
            [
                {
                    "name": "mode",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": list(ArenaMode.values)},
                }
            ],
            errors=(404, 405, 503),
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pairwise data API", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"Error": DATA_ERROR}},
    }


IMAGE_FIELDS = {
    "model": {"type": "string"},
    "prompt": {"type": "string"},
    "n": {"type": "integer", "minimum": 1, "maximum": 10},
    "size": {"type": "string", "examples": ["1024x1024", "16:9", "auto"]},
    "aspect_ratio": {"type": "string"},
    "resolution": {"type": "string", "examples": ["1K", "2K", "0.25"]},
    "response_format": {"type": "string", "enum": ["url", "b64_json"]},
    "output_format": {"type": "string", "enum": ["png", "jpeg", "webp", "gif", "avif"]},
    "output_compression": {"type": "integer", "minimum": 0, "maximum": 100},
    "seed": {"type": "integer", "minimum": 0},
}
IMAGES_RESPONSE = {
    "type": "object",
    "properties": {
        "created": {"type": "integer"},
        "data": {"type": "array", "items": {"type": "object"}},
        "output_format": {"type": "string"},
        "size": {"type": "string"},
    },
}
BEARER = [{"bearer": []}]


def _image_call(summary: str, content_type: str, schema: dict) -> dict:
    return {
        "post": {
            "summary": summary,
            "security": BEARER,
            "requestBody": {"required": True, "content": {content_type: {"schema": schema}}},
            "responses": {
                "200": {
                    "description": "Images",
                    "content": {"application/json": {"schema": IMAGES_RESPONSE}},
                },
                **_errors(
                    "#/components/schemas/Error", 400, 401, 404, 405, 413, 429, 502, 503, 504
                ),
            },
        }
    }


def gateway_document() -> dict:
    generation = {
        "type": "object",
        "required": ["model", "prompt"],
        "properties": IMAGE_FIELDS,
        "additionalProperties": True,
    }
    edit = {
        "type": "object",
        "required": ["model", "prompt", "image"],
        "properties": {
            **IMAGE_FIELDS,
            "image": {
                "type": "array",
                "maxItems": 9,
                "items": {"type": "string", "format": "binary"},
            },
        },
        "additionalProperties": True,
    }
    model_errors = _errors("#/components/schemas/Error", 401, 404, 405, 429, 503)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pairwise OpenAI-compatible image API", "version": "1"},
        "servers": [{"url": "/openai/v1"}],
        "paths": {
            "/images/generations": _image_call("Generate images", "application/json", generation),
            "/images/edits": _image_call("Edit images", "multipart/form-data", edit),
            "/models": {
                "get": {
                    "summary": "Models",
                    "security": BEARER,
                    "responses": {"200": {"description": "OK"}, **model_errors},
                }
            },
            "/models/{slug}": {
                "get": {
                    "summary": "One model",
                    "security": BEARER,
                    "parameters": [SLUG],
                    "responses": {"200": {"description": "OK"}, **model_errors},
                }
            },
        },
        "components": {
            "schemas": {"Error": OPENAI_ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@require_safe
def data_api_openapi(request):
    response = JsonResponse(data_api_document())
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def gateway_openapi(request):
    return JsonResponse(gateway_document())
