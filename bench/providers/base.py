"""The adapter interface: a normalized request in, a measured result out.

An adapter speaks one provider protocol. It gets a shared ``httpx.AsyncClient``,
an ``Endpoint`` (base URL, model id, key, pricing) and an ``ImageRequest``, and
returns the image bytes with the timestamps it saw; ``bench.providers.generate``
wraps it with the deadline, the failure classes, image checks and the cost. No
adapter touches a database, so the API gateway can call them too.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import httpx

from bench.capabilities import LIST_REFERENCE_FIELDS, Capabilities
from bench.http import Reply
from bench.pricing import PricingRule
from bench.sizes import SizeRules, normalize_size
from bench.timing import ms_between, parse_retry_after

OK = "ok"
TIMEOUT = "timeout"
RATE_LIMITED = "rate_limited"
HTTP_4XX = "http_4xx"
HTTP_5XX = "http_5xx"
MODERATED = "moderated"
INVALID_IMAGE = "invalid_image"
CONNECTION_ERROR = "connection_error"
SKIPPED = "skipped"
FAILURE_CLASSES = (
    TIMEOUT,
    RATE_LIMITED,
    HTTP_4XX,
    HTTP_5XX,
    MODERATED,
    INVALID_IMAGE,
    CONNECTION_ERROR,
)

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_ERROR_TEXT_LIMIT = 300


@dataclass(frozen=True)
class ReferenceImage:
    """An input image of an edit request: its bytes, MIME type and size in pixels."""

    data: bytes
    content_type: str
    width: int
    height: int

    def data_uri(self) -> str:
        """The image as a ``data:`` URI, the form every provider accepts inline."""
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode()}"

    def b64(self) -> str:
        return base64.b64encode(self.data).decode()


@dataclass(frozen=True)
class ImageRequest:
    """A provider-neutral generation request.

    ``width``/``height`` are the normalized output size in pixels (see
    ``bench.sizes``); ``aspect_ratio`` and ``resolution`` are its ratio and tier
    labels, sent instead of pixels when ``custom_size`` is false (offerings that only
    take labels, and table sizes of those that take both). ``references`` turn the
    request into an edit. ``omit`` names optional fields the endpoint does not take
    (``resolution`` on a single-tier model, ``output_format`` where it has none).
    ``reference_field`` is the endpoint's own name for reference images where one
    protocol's models differ (Replicate); None keeps the protocol's usual name.
    ``tier_param`` is the field the tier label goes in (``Capabilities.tier_param``).
    ``extra`` fields are passed through to the provider unchanged.
    """

    prompt: str
    width: int = 1024
    height: int = 1024
    aspect_ratio: str | None = None
    resolution: str | None = None
    custom_size: bool = True
    seed: int | None = None
    output_format: str = "jpeg"
    references: tuple[ReferenceImage, ...] = ()
    extra: Mapping = field(default_factory=dict)
    omit: frozenset[str] = frozenset()
    reference_field: str | None = None
    tier_param: str = "resolution"

    @property
    def is_edit(self) -> bool:
        return bool(self.references)

    def references_as(self, default_field: str) -> tuple[str, list[str] | str]:
        """The reference images as ``data:`` URIs under the endpoint's field name: a list,
        or the one image where the field takes a single image (Kontext's)."""
        name = self.reference_field or default_field
        images = [ref.data_uri() for ref in self.references]
        return name, images if name in LIST_REFERENCE_FIELDS else images[0]

    @classmethod
    def for_offering(
        cls,
        prompt: str,
        size_rules: SizeRules,
        *,
        size: str | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        capabilities: Capabilities | None = None,
        **fields,
    ) -> ImageRequest:
        """A request sized by ``bench.sizes.normalize_size`` for one offering.

        With ``capabilities``, an output format the endpoint does not take becomes the
        nearest one it does (``Capabilities.output_format``).
        Raises ``bench.sizes.SizeError`` for malformed size parameters.
        """
        image_size = normalize_size(
            size_rules, size=size, aspect_ratio=aspect_ratio, resolution=resolution
        )
        if capabilities is not None:
            if "output_format" in fields:
                fields["output_format"] = capabilities.output_format(fields["output_format"])
            fields.setdefault("omit", capabilities.omitted_fields())
            fields.setdefault("reference_field", capabilities.reference_field())
            fields.setdefault("tier_param", capabilities.tier_param)
        return cls(
            prompt=prompt,
            width=image_size.width,
            height=image_size.height,
            aspect_ratio=image_size.aspect_ratio,
            resolution=image_size.tier,
            custom_size=size_rules.sends_pixels(image_size),
            **fields,
        )


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call one offering.

    ``base_url`` is the protocol's base (see ``bench.providers.protocol_base_url``);
    ``api_key`` may be None for keyless endpoints such as the simulator;
    ``poll_interval_s`` None means the protocol's default; ``deadline_s`` bounds the
    whole request (create, polls and download); a decoded side may differ from the
    requested one by ``size_tolerance_px`` (providers round to multiples of 16 or 32).
    With ``size_rules`` and ``capabilities`` (the offering's), every request is
    checked against them before it is sent (``bench.capabilities.check_body``).
    ``expected_ready_ms`` is the offering's running median time to a ready answer;
    polling is fast around it (``bench.providers.polling``); None learns it in-process.
    """

    base_url: str
    model_id: str
    api_key: str | None = None
    edit_model_id: str | None = None
    poll_interval_s: float | None = None
    deadline_s: float = 300.0
    size_tolerance_px: int = 32
    pricing: PricingRule | None = None
    size_rules: SizeRules | None = None
    capabilities: Capabilities | None = None
    expected_ready_ms: float | None = None

    def __post_init__(self) -> None:
        # A key copied with a trailing newline makes httpx refuse the header (and the
        # refusal quotes it): keys never carry surrounding whitespace.
        if self.api_key is not None:
            object.__setattr__(self, "api_key", self.api_key.strip() or None)

    def model_for(self, request: ImageRequest) -> str:
        """The model id to call: the edit endpoint for edit requests when it differs."""
        return self.edit_model_id if request.is_edit and self.edit_model_id else self.model_id


@dataclass
class Measurement:
    """What an adapter observed while serving one request (monotonic nanoseconds).

    ``sent_ns`` is when the create request went out; ``submit_first_byte_ns`` the first
    byte of its answer; ``image_first_byte_ns``/``image_last_byte_ns`` the first and
    last byte of the image, or of the synchronous body that carried it.
    """

    sent_ns: int | None = None
    started_at: datetime | None = None
    submit_first_byte_ns: int | None = None
    image_first_byte_ns: int | None = None
    image_last_byte_ns: int | None = None
    http_status: int | None = None
    provider_request_id: str = ""
    queue_ms: float | None = None
    processing_ms: float | None = None
    polls: int = 0
    poll_retries: int = 0
    # The completion bracket of polled protocols: the last "not ready" answer's and the
    # first "ready" answer's first byte (a blocking create that returns done is "ready").
    last_pending_ns: int | None = None
    first_ready_ns: int | None = None
    provider_created_at: datetime | None = None
    provider_started_at: datetime | None = None
    provider_completed_at: datetime | None = None
    # How to cancel the job if the deadline passes first: (method, url, headers).
    cancel: tuple[str, str, dict] | None = None

    def pending(self, reply: Reply) -> None:
        """Record a "not ready yet" answer."""
        self.last_pending_ns = reply.first_byte_ns

    def ready(self, reply: Reply) -> None:
        """Record the first answer saying the job is over (success or failure)."""
        if self.first_ready_ns is None:
            self.first_ready_ns = reply.first_byte_ns

    def submitted(self, reply: Reply) -> None:
        """Record the create call's reply: the start of every interval."""
        self.sent_ns = reply.sent_ns
        self.started_at = reply.started_at
        self.submit_first_byte_ns = reply.first_byte_ns
        self.http_status = reply.status

    def carried_image(self, reply: Reply) -> None:
        """Record that ``reply``'s body was (or carried) the image."""
        self.image_first_byte_ns = reply.first_byte_ns
        self.image_last_byte_ns = reply.last_byte_ns


@dataclass(frozen=True)
class FetchedImage:
    """The output image's bytes and the MIME type the provider declared (may be wrong)."""

    data: bytes
    declared_type: str = ""


@dataclass
class GenerationResult:
    """The outcome of one request: status (``ok`` or a failure class), times, image, cost.

    Times are milliseconds after the create request was sent: ``submit_ttfb_ms`` to the
    create call's first response byte, ``ttfb_ms`` to the image's first byte,
    ``generation_ms`` to its last byte. ``queue_ms``/``processing_ms`` are the split
    the provider itself reported, when it does. Polled protocols bracket completion
    between ``last_pending_ms`` (the last "not ready" answer, None when the first
    answer was ready) and ``first_ready_ms``; ``provider_*_at`` are the provider's own
    timestamps (Replicate's created_at/started_at/completed_at). ``error`` is sanitised: it never
    carries a key, a header or a URL. ``cost_usd`` comes from the pricing engine.
    """

    status: str
    started_at: datetime | None = None
    http_status: int | None = None
    submit_ttfb_ms: float | None = None
    ttfb_ms: float | None = None
    generation_ms: float | None = None
    queue_ms: float | None = None
    processing_ms: float | None = None
    requested_width: int | None = None
    requested_height: int | None = None
    width: int | None = None
    height: int | None = None
    content_type: str = ""
    image: bytes | None = field(default=None, repr=False)
    cost_usd: Decimal | None = None
    provider_request_id: str = ""
    error: str = ""
    retry_after_s: float | None = None
    polls: int = 0
    sent_ns: int | None = None
    last_pending_ms: float | None = None
    first_ready_ms: float | None = None
    provider_created_at: datetime | None = None
    provider_started_at: datetime | None = None
    provider_completed_at: datetime | None = None

    @property
    def is_ok(self) -> bool:
        return self.status == OK

    @property
    def bytes(self) -> int | None:
        return None if self.image is None else len(self.image)

    def summary(self) -> dict:
        """A JSON-friendly dict without the image bytes."""
        return {
            "status": self.status,
            "http_status": self.http_status,
            "submit_ttfb_ms": _round(self.submit_ttfb_ms),
            "ttfb_ms": _round(self.ttfb_ms),
            "generation_ms": _round(self.generation_ms),
            "queue_ms": _round(self.queue_ms),
            "processing_ms": _round(self.processing_ms),
            "last_pending_ms": _round(self.last_pending_ms),
            "first_ready_ms": _round(self.first_ready_ms),
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "cost_usd": None if self.cost_usd is None else str(self.cost_usd),
            "provider_request_id": self.provider_request_id,
            "error": self.error,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class Failure(Exception):
    """A request that did not produce a valid image, with its failure class."""

    def __init__(
        self,
        status: str,
        message: str,
        *,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http_status = http_status
        self.retry_after_s = retry_after_s


class Adapter(Protocol):
    """One provider protocol. ``fetch`` returns the image or raises ``Failure``."""

    name: str
    default_poll_interval_s: float

    async def fetch(
        self,
        client: httpx.AsyncClient,
        endpoint: Endpoint,
        request: ImageRequest,
        measurement: Measurement,
    ) -> FetchedImage: ...

    def body(self, request: ImageRequest, model: str) -> dict:
        """The provider-native input this adapter sends for ``request`` (checked before sending)."""
        ...


def http_failure(reply: Reply, step: str, *, is_moderation: bool = False) -> Failure:
    """The failure class of a non-2xx reply: 429 rate_limited, else moderated/4xx/5xx."""
    detail = error_detail(reply.body)
    message = f"HTTP {reply.status} on {step}" + (f": {detail}" if detail else "")
    if reply.status == 429 and b"insufficient_quota" in reply.body:
        # OpenAI reports exhausted billing as a 429 with code insufficient_quota: no
        # wait makes it pass (https://platform.openai.com/docs/guides/error-codes).
        return Failure(HTTP_4XX, f"{message} (insufficient_quota: billing)", http_status=429)
    if reply.status == 429:
        return Failure(
            RATE_LIMITED,
            message,
            http_status=reply.status,
            retry_after_s=parse_retry_after(reply.headers) or retry_hint_in_body(detail),
        )
    if is_moderation:
        return Failure(MODERATED, message, http_status=reply.status)
    status = HTTP_5XX if reply.status >= 500 else HTTP_4XX
    return Failure(status, message, http_status=reply.status)


_RESETS_IN = re.compile(r"resets in ~?\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\b", re.IGNORECASE)


def retry_hint_in_body(detail: str) -> float | None:
    """Seconds to wait from a 429 text such as Replicate's "Your rate limit resets in ~30s".

    Replicate sends the hint only in the body, no Retry-After header
    (https://replicate.com/docs/topics/predictions/rate-limits).
    """
    match = _RESETS_IN.search(detail or "")
    if not match:
        return None
    value = float(match[1])
    return {"ms": value / 1000, "s": value, "m": value * 60}[match[2].lower()]


def error_detail(body: bytes) -> str:
    """The human message of a provider's error body, whatever its shape (not sanitised)."""
    try:
        data = __import__("json").loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        detail = data.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return str(detail[0].get("msg") or detail[0].get("type") or detail[0])
        for key in ("detail", "message", "title"):
            if data.get(key):
                return str(data[key])
    return str(data)[:200]


def parse_json(reply: Reply, step: str):
    """A 2xx reply's JSON body; a body that is not JSON is an invalid answer."""
    try:
        return reply.json()
    except (ValueError, UnicodeDecodeError):
        raise Failure(
            INVALID_IMAGE, f"{step} answered {reply.status} with a body that is not JSON"
        ) from None


def decode_data_uri(uri: str) -> FetchedImage:
    """The bytes and MIME type of a ``data:<type>;base64,<payload>`` URI."""
    head, _, payload = uri.partition(",")
    declared = head[5:].split(";")[0]
    try:
        return FetchedImage(base64.b64decode(payload, validate=True), declared)
    except (binascii.Error, ValueError):
        raise Failure(INVALID_IMAGE, "the data URI does not hold valid base64") from None


def inspect_image(data: bytes) -> tuple[int, int, str]:
    """(width, height, MIME type) of fully decoded image bytes; Failure if they do not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            content_type = Image.MIME.get(image.format or "", "")
            return image.width, image.height, content_type
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise Failure(
            INVALID_IMAGE, f"the output is not a decodable image ({type(error).__name__})"
        ) from None


def ms_after(measurement: Measurement, end_ns: int | None) -> float | None:
    return ms_between(measurement.sent_ns, end_ns)


_URL = re.compile(r"\b(?:https?|wss?)://[^\s\"'<>]+", re.IGNORECASE)
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]{16,}")
_BEARER = re.compile(r"(?i)\b(bearer|key|token|x-key)\s*[:=]?\s+[A-Za-z0-9._~+/=:-]{8,}")


def _url_host(match: re.Match) -> str:
    try:
        host = httpx.URL(match.group(0)).host
    except (httpx.InvalidURL, ValueError):
        host = ""
    return f"<url on {host or 'a host'}>"


def _secret_forms(secrets: tuple[str, ...]) -> list[str]:
    """Each secret as it may appear in an error text: raw, stripped, and escaped the
    ways Python and JSON print it (httpx quotes a bad header value as bytes' repr,
    so a key ending in a newline shows up as ``...\\n``), longest first."""
    forms = set()
    for secret in secrets:
        for value in {secret, secret.strip()} if secret else ():
            forms |= {value, repr(value)[1:-1], json.dumps(value)[1:-1],
                      value.encode("unicode_escape").decode("ascii"),
                      repr(value.encode())[2:-1]}  # fmt: skip
    return sorted((form for form in forms if len(form) >= 4), key=len, reverse=True)


def sanitize(text: str, secrets: tuple[str, ...] = ()) -> str:
    """An error text safe to log and store: no secret, no URL, no credentials, short.

    Removes every occurrence of each secret (and of its halves, which providers
    echo masked), replaces URLs by their host (signed URLs carry tokens in the path
    and query), data URIs and anything shaped like an auth header value.
    """
    forms = _secret_forms(secrets)
    for form in forms:  # every whole form first: a half of one may cut into another
        text = text.replace(form, "[redacted]")
    for form in forms:
        if len(form) >= 16:
            half = len(form) // 2
            text = text.replace(form[:half], "[redacted]").replace(form[half:], "[redacted]")
    text = _DATA_URI.sub("data:[...]", text)
    text = _URL.sub(_url_host, text)
    text = _BEARER.sub(lambda match: f"{match.group(1)} [redacted]", text)
    text = " ".join(text.split())
    if len(text) > _ERROR_TEXT_LIMIT:
        text = text[: _ERROR_TEXT_LIMIT - 1] + "…"
    return text
