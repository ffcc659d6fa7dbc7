"""Parameter normalization: an OpenAI-style request in, one ImageRequest per offering out.

Each parameter is handled in one of four ways (the reference page's vocabulary):

- passthrough: sent as-is to the provider (``prompt``; ``seed`` everywhere but
  OpenAI's own JSON, where it rides along as an extra field; ``safety_tolerance`` to
  BFL, Replicate and OpenAI-compatible gateways; fal's ``enable_safety_checker`` and
  ``sync_mode`` and Replicate's ``output_quality`` only to those protocols; every
  parameter we do not recognise, to every protocol).
- renamed: ``model`` becomes the offering's own model id (URL path or ``model``
  field); ``output_compression`` becomes Replicate's ``output_quality``.
- converted: ``size``/``aspect_ratio``/``resolution`` go through
  ``bench.sizes.normalize_size`` to each offering's nearest supported size and
  leave as BFL ``width``/``height``, fal ``image_size`` or ``aspect_ratio`` +
  ``resolution``, Replicate ``aspect_ratio="custom"`` + ``width``/``height`` or its
  ratio and megapixel tier, OpenAI ``size="WxH"``; ``safety_tolerance`` becomes the
  string fal expects; Replicate's ``width``/``height`` are read as ``size="WxH"``.
- emulated: ``n`` (parallel upstream requests of one image each),
  ``response_format`` (the gateway always fetches the bytes, then stores them or
  base64-encodes them), ``output_format`` gif/avif (and any format a provider
  answers differently: the gateway re-encodes), ``output_compression`` where the
  provider has no such field.

Multipart forms (edits) carry text only: known fields are parsed to their types;
an unknown field whose text is ``true``/``false`` or a number is sent as that JSON
value, anything else as a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from PIL import features

from bench.capabilities import check_body
from bench.pricing import PricingError, request_cost_usd
from bench.providers import ADAPTERS, ImageRequest, ReferenceImage
from bench.sizes import ImageSize, SizeError, SizeRules, normalize_size
from leaderboard.gateway.errors import BadRequest
from leaderboard.models import EndpointKind, Offering

MAX_PROMPT_CHARS = 32_000
MAX_SEED = 2**63 - 1
RESPONSE_FORMATS = ("url", "b64_json")
NATIVE_FORMATS = ("png", "jpeg", "webp")  # every adapter can ask its provider for these
LOSSY_FORMATS = ("jpeg", "webp", "avif")
FAL_KINDS = (EndpointKind.FAL_QUEUE, EndpointKind.FAL_SYNC)
# Provider-native spellings of what the gateway itself controls: a request using
# them would fight the gateway's own fields, so it is told which parameter to use.
RESERVED = {
    "num_images": "n",
    "num_outputs": "n",
    "image_size": "size",
    "image_urls": "image",
    "input_images": "image",
    "input_image": "image",
}
_RESERVED_RE = re.compile(r"input_image_\d+")
# Accepted and used by the gateway only; never forwarded (``user`` and
# ``safety_identifier`` name the client's own end users).
CONSUMED = {"model", "prompt", "n", "size", "aspect_ratio", "resolution", "response_format",
            "output_format", "output_compression", "seed", "stream", "partial_images", "user",
            "safety_identifier", "image", "image[]", "mask",
            "safety_tolerance", "enable_safety_checker", "sync_mode", "width", "height",
            "output_quality"}  # fmt: skip


FAL_BOOLEAN_FIELDS = ("enable_safety_checker", "sync_mode")  # sent to fal endpoints only
MAX_SIDE = 14142  # px, the longest side a WxH request may name (sqrt of 200 MP)


def integer_limits() -> dict[str, tuple[int, int]]:
    """Inclusive ranges of the integer parameters, as parse_params enforces them.

    The model page's parameter reference reads them from here too.
    """
    return {
        "n": (1, settings.GATEWAY_MAX_IMAGES),
        "seed": (0, MAX_SEED),
        "output_compression": (0, 100),
        "safety_tolerance": (0, 6),
        "width": (1, MAX_SIDE),
        "height": (1, MAX_SIDE),
        "output_quality": (0, 100),
    }


def output_formats() -> tuple[str, ...]:
    """The formats the gateway can return: the native three, gif, and avif if Pillow writes it."""
    extra = ("gif", "avif") if features.check("avif") else ("gif",)
    return NATIVE_FORMATS + extra


@dataclass(frozen=True)
class ImageParams:
    """A validated API request, before any offering is chosen."""

    model: str
    prompt: str
    n: int = 1
    size: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    response_format: str = "url"
    output_format: str = "png"
    output_compression: int | None = None
    seed: int | None = None
    safety_tolerance: int | None = None
    fal_fields: Mapping = field(default_factory=dict)
    replicate_width_height: tuple[int, int] | None = None
    replicate_output_quality: int | None = None
    passthrough: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """How one offering would serve one image of the request, and what it would cost."""

    offering: Offering
    request: ImageRequest
    size: ImageSize
    price_usd: Decimal | None
    is_compression_native: bool


def parse_params(data: Mapping, *, is_form: bool = False) -> ImageParams:
    """Validate a generations JSON object or an edits form; BadRequest names the bad param."""
    reader = _Reader(data, is_form)
    model = reader.text("model", required=True)
    prompt = reader.text("prompt", required=True)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(
            f"prompt is {len(prompt)} characters long; the limit is {MAX_PROMPT_CHARS}.",
            param="prompt",
        )
    if reader.boolean("stream"):
        raise BadRequest("Streaming is not supported: leave stream unset or false.", param="stream")
    for name, instead in RESERVED.items():
        if name in data:
            raise BadRequest(f"Use {instead!r} instead of the provider field {name!r}.", param=name)
    for name in data:
        if _RESERVED_RE.fullmatch(name):
            raise BadRequest(f"Upload images with 'image' instead of {name!r}.", param=name)
    if "mask" in data:
        raise BadRequest("mask is not supported; describe the edit in the prompt.", param="mask")

    formats = output_formats()
    output_format = (reader.text("output_format") or "png").lower()
    output_format = "jpeg" if output_format == "jpg" else output_format
    if output_format not in formats:
        raise BadRequest(
            f"output_format must be one of {', '.join(formats)}; got {output_format!r}.",
            param="output_format",
        )
    response_format = reader.text("response_format") or "url"
    if response_format not in RESPONSE_FORMATS:
        raise BadRequest(
            f"response_format must be 'url' or 'b64_json'; got {response_format!r}.",
            param="response_format",
        )
    size = reader.text("size")
    aspect_ratio = reader.text("aspect_ratio")
    resolution = reader.text("resolution")
    try:  # syntax only; each offering's own limits are checked when planning
        normalize_size(SizeRules(), size=size, aspect_ratio=aspect_ratio, resolution=resolution)
    except SizeError as error:
        raise BadRequest(str(error), param=error.param) from None

    limits = integer_limits()
    width, height = (
        reader.integer("width", *limits["width"]),
        reader.integer("height", *limits["height"]),
    )
    if (width is None) != (height is None):
        missing = "height" if height is None else "width"
        raise BadRequest(f"width and height go together; {missing} is missing.", param=missing)
    fal_fields = {
        name: value for name in FAL_BOOLEAN_FIELDS if (value := reader.boolean(name)) is not None
    }
    passthrough = {
        name: _form_value(value) if is_form else value
        for name, value in data.items()
        if name not in CONSUMED and not (is_form and value == "")
    }
    return ImageParams(
        model=model,
        prompt=prompt,
        n=reader.integer("n", *limits["n"]) or 1,
        size=size,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        response_format=response_format,
        output_format=output_format,
        output_compression=reader.integer("output_compression", *limits["output_compression"]),
        seed=reader.integer("seed", *limits["seed"]),
        safety_tolerance=reader.integer("safety_tolerance", *limits["safety_tolerance"]),
        fal_fields=fal_fields,
        replicate_width_height=None if width is None else (width, height),
        replicate_output_quality=reader.integer("output_quality", *limits["output_quality"]),
        passthrough=passthrough,
    )


def plan(params: ImageParams, offering: Offering, references: tuple[ReferenceImage, ...]) -> Plan:
    """The ImageRequest for ``offering``; SizeError when the size does not fit its rules.

    The request is converted to what the offering's endpoint takes (its capabilities:
    nearest output format, optional fields it lacks left out) and then checked the way
    ``bench.providers.generate`` checks it; what still breaks them is a SizeError, so
    the offering is skipped, or the request refused, before anything is paid.
    """
    kind = offering.endpoint_kind
    size = params.size
    if size is None and kind == EndpointKind.REPLICATE and params.replicate_width_height:
        size = "{}x{}".format(*params.replicate_width_height)
    rules = offering.size_rules
    capabilities = offering.capability_rules
    image_size = normalize_size(
        rules, size=size, aspect_ratio=params.aspect_ratio, resolution=params.resolution
    )
    upstream_format = params.output_format if params.output_format in NATIVE_FORMATS else "png"
    # The gateway re-encodes whatever comes back, so a format the endpoint lacks is
    # asked as the nearest one it has (fal's FLUX.2 takes jpeg and png only).
    upstream_format = capabilities.output_format(upstream_format)
    extra, is_compression_native = _provider_fields(params, kind, upstream_format)
    request = ImageRequest(
        prompt=params.prompt,
        width=image_size.width,
        height=image_size.height,
        aspect_ratio=image_size.aspect_ratio,
        resolution=image_size.tier,
        custom_size=rules.sends_pixels(image_size),
        seed=None if kind == EndpointKind.OPENAI_IMAGES else params.seed,
        output_format=upstream_format,
        references=references,
        extra=extra,
        omit=capabilities.omitted_fields(),
    )
    problems = check_body(
        kind,
        ADAPTERS[kind].body(request, offering.provider_model_id),
        rules,
        capabilities,
        passthrough=tuple(extra),
    )
    if problems:
        raise SizeError("size", f"{offering.key} cannot take this request: " + "; ".join(problems))
    try:
        price_usd = request_cost_usd(
            offering.pricing_rule,
            image_size.width,
            image_size.height,
            [(ref.width, ref.height) for ref in references],
            tier=image_size.tier,
        )
    except PricingError:
        price_usd = None
    return Plan(offering, request, image_size, price_usd, is_compression_native)


def _provider_fields(params: ImageParams, kind: str, upstream_format: str) -> tuple[dict, bool]:
    """The extra provider fields for ``kind``, and whether it applies output_compression."""
    extra = dict(params.passthrough)
    is_native = False
    if params.safety_tolerance is not None:
        # fal's schema takes the tolerance as a string enum ("1".."5").
        tolerance = params.safety_tolerance
        extra["safety_tolerance"] = str(tolerance) if kind in FAL_KINDS else tolerance
    if kind in FAL_KINDS:
        extra.update(params.fal_fields)
    compression = params.output_compression
    is_lossy_native = upstream_format == params.output_format and upstream_format != "png"
    if kind == EndpointKind.REPLICATE:
        if params.replicate_output_quality is not None:
            extra["output_quality"] = params.replicate_output_quality
        elif compression is not None and is_lossy_native:
            extra["output_quality"] = compression
            is_native = True
    if kind == EndpointKind.OPENAI_IMAGES:
        if params.seed is not None:
            extra["seed"] = params.seed
        if compression is not None and is_lossy_native:
            extra["output_compression"] = compression
            is_native = True
    return extra, is_native


class _Reader:
    """Typed access to a JSON object or a form, raising BadRequest that names the field."""

    def __init__(self, data: Mapping, is_form: bool) -> None:
        self.data, self.is_form = data, is_form

    def _raw(self, name: str):
        value = self.data.get(name)
        return None if value is None or (self.is_form and value == "") else value

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self._raw(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise BadRequest(
                    f"Missing required parameter: {name!r}.",
                    param=name,
                    code="missing_required_parameter",
                )
            return None
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string, got {type(value).__name__}.", param=name)
        return value.strip()

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self._raw(name)
        if value is None:
            return None
        if self.is_form and isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,20}\s*", value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise BadRequest(
                f"{name} must be an integer from {low} to {high}; got {value!r}.", param=name
            )
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._raw(name)
        if value is None:
            return None
        if self.is_form and isinstance(value, str):
            value = {"true": True, "1": True, "false": False, "0": False}.get(value.lower(), value)
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false; got {value!r}.", param=name)
        return value


def _form_value(text: str):
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"-?\d{1,18}", text.strip()):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text.strip()):
        return float(text)
    return text
