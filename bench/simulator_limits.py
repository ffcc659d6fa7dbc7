"""What the real providers refuse, for the simulator: per model family, from their own documents.

Written from the providers' documentation, schemas and official clients, never from
our catalog or adapters (a fake that reads our own data cannot catch our mistakes).
Each check takes the request's input as the provider would parse it and returns
``None`` (accepted) or a ``Refusal``: the real status code and the real error body.
Models whose family is not listed here are accepted as before, so simulated ids of
unknown families stay lenient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Refusal:
    status: int
    body: dict
    content_type: str = "application/json"


# --- OpenAI -----------------------------------------------------------------------------

# openai-python 3.60 types/image_model.py and image_generate_params.py: gpt-image-1 was
# shut down on 2026-10-23, dall-e-2/3 retired on 2026-05-12; GPT image models take
# 1024x1024, 1536x1024, 1024x1536 or auto; gpt-image-2 and later also any WxH in
# multiples of 16, ratio 1:3..3:1, at most 3840x2160.
OPENAI_SHUT_DOWN = {"gpt-image-1", "dall-e-2", "dall-e-3"}
OPENAI_STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
OPENAI_FORMATS = ("png", "jpeg", "webp")
_OPENAI_FIXED = re.compile(r"gpt-image-1(\.5|-mini)?(-\d{4}-\d{2}-\d{2})?|chatgpt-image-latest")
_OPENAI_FREE = re.compile(r"gpt-image-2(\.\d+)?(-[a-z]+)?(-\d{4}-\d{2}-\d{2})?")


def openai_refusal(fields: dict) -> Refusal | None:
    """A 404 for a shut-down model, a 400 for a size or format the model does not take."""
    model = str(fields.get("model") or "")
    if model in OPENAI_SHUT_DOWN:
        return _openai(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "model",
            "model_not_found",
        )
    size = str(fields.get("size") or "auto")
    if _OPENAI_FIXED.fullmatch(model) and size not in OPENAI_STANDARD_SIZES:
        return _openai(
            400,
            f"Invalid value: '{size}'. Supported values are: '1024x1024', '1024x1536', "
            "'1536x1024', and 'auto'.",
            "size",
            "invalid_value",
        )
    if _OPENAI_FREE.fullmatch(model) and size != "auto":
        match = re.fullmatch(r"(\d+)x(\d+)", size)
        problem = None
        if not match:
            problem = "Sizes look like '1536x864'."
        else:
            width, height = int(match[1]), int(match[2])
            if width % 16 or height % 16:
                problem = "Width and height must both be divisible by 16."
            elif not Fraction(1, 3) <= Fraction(width, height) <= 3:
                problem = "The aspect ratio must be between 1:3 and 3:1."
            elif max(width, height) > 3840 or width * height > 3840 * 2160:
                problem = "The maximum supported resolution is 3840x2160."
        if problem:
            return _openai(400, f"Invalid value: '{size}'. {problem}", "size", "invalid_value")
    fmt = fields.get("output_format")
    if fmt is not None and model.startswith(("gpt-image", "chatgpt-image")):
        if fmt not in OPENAI_FORMATS:
            return _openai(
                400,
                f"Invalid value: '{fmt}'. Supported values are: 'png', 'jpeg', and 'webp'.",
                "output_format",
                "invalid_value",
            )
    return None


def openai_insufficient_quota() -> Refusal:
    # Billing exhaustion is a 429 with code insufficient_quota
    # (https://platform.openai.com/docs/guides/error-codes#api-errors).
    return _openai(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        None,
        "insufficient_quota",
        kind="insufficient_quota",
    )


def _openai(status, message, param, code, *, kind="invalid_request_error") -> Refusal:
    error = {"message": message, "type": kind, "param": param, "code": code}
    return Refusal(status, {"error": error})


# --- BFL --------------------------------------------------------------------------------

_BFL_FLUX2 = re.compile(r"flux[-.]?2", re.IGNORECASE)
_BFL_KONTEXT = re.compile(r"kontext", re.IGNORECASE)
BFL_FORMATS = ("jpeg", "png", "webp")


def bfl_refusal(model: str, data: dict) -> Refusal | None:
    """FLUX.2: width/height >= 64 in multiples of 16 (https://docs.bfl.ai/flux_2/flux2_text_to_image,
    OpenAPI ``Flux2Inputs``). Kontext: aspect_ratio from 3:7 to 7:3
    (https://docs.bfl.ai/kontext/kontext_text_to_image). 422 in FastAPI's shape."""
    fmt = data.get("output_format")
    if fmt is not None and fmt not in BFL_FORMATS:
        return _fastapi("output_format", "Input should be 'jpeg', 'png' or 'webp'", fmt)
    if _BFL_FLUX2.search(model):
        for side in ("width", "height"):
            value = data.get(side)
            if value in (None, 0):
                continue
            if not isinstance(value, int) or value < 64:
                return _fastapi(side, "Input should be greater than or equal to 64", value)
            if value % 16:
                return _fastapi(side, "Value must be a multiple of 16", value)
        width, height = data.get("width") or 0, data.get("height") or 0
        if width * height > 4 * 1024 * 1024 + 64 * 1024:
            return _fastapi("width", "Output must be at most 4 megapixels", width)
    if _BFL_KONTEXT.search(model) and data.get("aspect_ratio") is not None:
        ratio = _ratio(data["aspect_ratio"])
        if ratio is None or not Fraction(3, 7) <= ratio <= Fraction(7, 3):
            return _fastapi(
                "aspect_ratio", "Aspect ratio must be between 3:7 and 7:3", data["aspect_ratio"]
            )
    return None


def bfl_output_size(model: str, data: dict, default: tuple[int, int]) -> tuple[int, int]:
    """What BFL renders: Kontext ignores width/height and renders its aspect_ratio
    (default 1:1) at about one megapixel in multiples of 32; others ``default``."""
    if not _BFL_KONTEXT.search(model):
        return default
    ratio = _ratio(data.get("aspect_ratio") or "1:1") or Fraction(1)
    height = (1024 * 1024 / ratio) ** 0.5
    width = height * ratio
    return _multiple(width, 32), _multiple(height, 32)


# --- Replicate --------------------------------------------------------------------------

# black-forest-labs/flux-2-pro input schema (https://replicate.com/black-forest-labs/flux-2-pro/api/schema):
# aspect_ratio enum incl. "custom" and "match_input_image"; resolution megapixel enum;
# width/height 256..2048, only with aspect_ratio="custom"; output_format webp/jpg/png.
_REPLICATE_FLUX2 = re.compile(r"flux[-.]?2", re.IGNORECASE)
REPLICATE_FLUX2_RATIOS = ("match_input_image", "custom", "1:1", "16:9", "3:2", "2:3", "4:5",
                          "5:4", "9:16", "3:4", "4:3", "21:9", "9:21")  # fmt: skip
REPLICATE_FLUX2_RESOLUTIONS = ("match_input_image", "0.5 MP", "1 MP", "2 MP", "4 MP")
REPLICATE_FORMATS = ("webp", "jpg", "png")


# Seedream 4 on Replicate takes its tier in ``size`` (1K, 2K by default, 4K, or custom
# with width/height 1024..4096) and has no ``resolution`` field: Replicate drops unknown
# inputs, so a ``resolution`` is silently ignored and the image comes at 2K
# (https://replicate.com/bytedance/seedream-4/versions/e6cff243d7a5e551e1ca2b4bf291413d649c9f1417f9a52c1c0a4fbc36027b83/api).
_REPLICATE_SEEDREAM4 = re.compile(r"seedream-4$")
REPLICATE_SEEDREAM4_SIZES = ("1K", "2K", "4K", "custom")
_REPLICATE_SEEDREAM4_INPUT = frozenset(
    {"prompt", "image_input", "size", "aspect_ratio", "width", "height", "max_images",
     "sequential_image_generation", "enhance_prompt"}
)  # fmt: skip


# Ideogram 3 on Replicate: ``resolution`` is an enum of pixel sizes ("1024x1024", ...,
# or "None") that overrides aspect_ratio, never a tier label like "1K"
# (https://replicate.com/ideogram-ai/ideogram-v3-quality/versions/03944eb99122997251eaa29263ada2fbc2cc943ccd8c27d3c8af453acde737c8/api).
_REPLICATE_IDEOGRAM3 = re.compile(r"ideogram-v3")
_PIXELS = re.compile(r"\d{3,4}x\d{3,4}")


def replicate_refusal(model: str, data: dict) -> Refusal | None:
    """A 422 "Input validation failed" with ``invalid_fields``, as Replicate answers."""
    if _REPLICATE_SEEDREAM4.search(model):
        return _seedream4_refusal(data)
    if _REPLICATE_IDEOGRAM3.search(model):
        resolution = data.get("resolution", "None")
        if resolution != "None" and not _PIXELS.fullmatch(str(resolution)):
            return _replicate("input.resolution", "enum", "resolution must be one of the listed")
        return None
    if not _REPLICATE_FLUX2.search(model):
        return None
    ratio = data.get("aspect_ratio", "1:1")
    if ratio not in REPLICATE_FLUX2_RATIOS:
        return _replicate("input.aspect_ratio", "enum", "aspect_ratio must be one of the listed")
    resolution = data.get("resolution")
    if resolution is not None and resolution not in REPLICATE_FLUX2_RESOLUTIONS:
        return _replicate("input.resolution", "enum", "resolution must be one of the listed")
    fmt = data.get("output_format")
    if fmt is not None and fmt not in REPLICATE_FORMATS:
        return _replicate(
            "input.output_format", "enum", "output_format must be one of webp, jpg, png"
        )
    for side in ("width", "height"):
        value = data.get(side)
        if value is None:
            continue
        if not isinstance(value, int) or value > 2048:
            return _replicate(
                f"input.{side}", "number_lte", f"{side} must be less than or equal to 2048"
            )
        if value < 256:
            return _replicate(
                f"input.{side}", "number_gte", f"{side} must be greater than or equal to 256"
            )
    return None


def _seedream4_refusal(data: dict) -> Refusal | None:
    size = data.get("size", "2K")
    if size not in REPLICATE_SEEDREAM4_SIZES:
        return _replicate("input.size", "enum", "size must be one of 1K, 2K, 4K, custom")
    for side in ("width", "height"):
        value = data.get(side)
        if value is not None and (not isinstance(value, int) or not 1024 <= value <= 4096):
            kind = "number_gte" if isinstance(value, int) and value < 1024 else "number_lte"
            return _replicate(f"input.{side}", kind, f"{side} must be within 1024..4096")
    return None


def replicate_known_input(model: str, data: dict) -> dict:
    """The input as the model reads it: Replicate drops fields its schema does not have."""
    if _REPLICATE_SEEDREAM4.search(model):
        data = {key: value for key, value in data.items() if key in _REPLICATE_SEEDREAM4_INPUT}
        size = data.get("size", "2K")
        return {**data, "aspect_ratio": "custom"} if size == "custom" else {**data, "size": size}
    return data


def replicate_output_size(data: dict, default: tuple[int, int], model: str = "") -> tuple[int, int]:
    """Custom sizes are rounded to multiples of 32 (the FLUX.2 [pro] schema says so)."""
    if data.get("aspect_ratio") == "custom" and not _REPLICATE_SEEDREAM4.search(model):
        return _multiple(default[0], 32), _multiple(default[1], 32)
    return default


def _replicate(field: str, kind: str, description: str) -> Refusal:
    return Refusal(
        422,
        {
            "title": "Input validation failed",
            "status": 422,
            "detail": f"- {field}: {description}\n",
            "invalid_fields": [{"type": kind, "field": field, "description": description}],
        },
        "application/problem+json",
    )


# --- fal --------------------------------------------------------------------------------

# FLUX.2 endpoints on fal take output_format jpeg or png only
# (fal-js libs/client/src/types/endpoints.ts, Flux2ProInput / Flux2MaxInput / Flux2FlexInput).
_FAL_FLUX2 = re.compile(r"flux[-.]?2", re.IGNORECASE)
FAL_FLUX2_FORMATS = ("jpeg", "png")


# Ideogram 3 and Recraft 3 (text-to-image) on fal take their size as ``image_size`` (a
# preset or {width, height}, square_hd by default) and have no ``aspect_ratio``; fal's
# schemas drop unknown fields, so an aspect_ratio is ignored and the image comes square
# (fal-js endpoints.ts at 381105e, IdeogramV3Input and RecraftV3TextToImageInput).
_FAL_IMAGE_SIZE_ONLY = re.compile(r"ideogram|recraft", re.IGNORECASE)


def fal_known_input(model: str, data: dict) -> dict:
    """The input as the endpoint reads it: fields its schema does not have are dropped."""
    if _FAL_IMAGE_SIZE_ONLY.search(model):
        data = {
            key: value for key, value in data.items() if key not in ("aspect_ratio", "resolution")
        }
        data.setdefault("image_size", "square_hd")
    return data


def fal_refusal(model: str, data: dict) -> Refusal | None:
    """A 422 in pydantic's shape for an input the endpoint's schema refuses."""
    fmt = data.get("output_format")
    if _FAL_FLUX2.search(model) and fmt is not None and fmt not in FAL_FLUX2_FORMATS:
        return Refusal(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "output_format"],
                        "msg": "Input should be 'jpeg' or 'png'",
                        "type": "literal_error",
                        "ctx": {"expected": "'jpeg' or 'png'"},
                        "input": fmt,
                    }
                ]
            },
        )
    return None


# --- helpers ----------------------------------------------------------------------------


def _fastapi(field: str, message: str, value) -> Refusal:
    return Refusal(
        422,
        {
            "detail": [
                {"loc": ["body", field], "msg": message, "type": "value_error", "input": value}
            ]
        },  # fmt: skip
    )


def _ratio(text) -> Fraction | None:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", str(text))
    if not match or float(match[2]) == 0:
        return None
    return Fraction(match[1]) / Fraction(match[2])


def _multiple(side: float, multiple: int) -> int:
    return max(multiple, int(side / multiple + 0.5) * multiple)
