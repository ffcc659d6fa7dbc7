"""Provider adapters, one module per protocol, behind ``generate``.

``generate(kind, endpoint, request)`` runs one request through the adapter for an
offering's ``endpoint_kind`` (replicate, fal_queue, fal_sync, bfl, openai_images)
and returns a ``GenerationResult``: the deadline, the failure classes, the image
checks (decodes, requested size) and the cost live here, once for all protocols.
"""

from __future__ import annotations

import asyncio

import httpx

from bench.capabilities import check_body
from bench.http import exchange, make_client
from bench.pricing import PricingError, request_cost_usd
from bench.providers import bfl, fal, openai_images, polling, replicate
from bench.providers.base import (
    CONNECTION_ERROR,
    FAILURE_CLASSES,
    INVALID_IMAGE,
    OK,
    SKIPPED,
    TIMEOUT,
    Adapter,
    Endpoint,
    Failure,
    GenerationResult,
    ImageRequest,
    Measurement,
    ReferenceImage,
    inspect_image,
    ms_after,
    sanitize,
)

__all__ = [
    "ADAPTERS",
    "FAILURE_CLASSES",
    "OK",
    "SKIPPED",
    "Endpoint",
    "GenerationResult",
    "ImageRequest",
    "ReferenceImage",
    "generate",
    "protocol_base_url",
    "resolve_kind",
]

ADAPTERS: dict[str, Adapter] = {
    "replicate": replicate.ReplicateAdapter(),
    "fal_queue": fal.FalQueueAdapter(),
    "fal_sync": fal.FalSyncAdapter(),
    "bfl": bfl.BflAdapter(),
    "openai_images": openai_images.OpenAIImagesAdapter(),
}
PROTOCOL_ALIASES = {"openai": "openai_images", "fal": "fal_queue", "fal-sync": "fal_sync"}
DEFAULT_KEY_ENV = {
    "replicate": "REPLICATE_API_TOKEN",
    "fal_queue": "FAL_KEY",
    "fal_sync": "FAL_KEY",
    "bfl": "BFL_API_KEY",
    "openai_images": "OPENAI_API_KEY",
}
_CANCEL_TIMEOUT_S = 5.0
# Decoding an image takes up to milliseconds; off the event loop it cannot delay the
# requests and timestamps of others in flight (Pillow releases the GIL while decoding).
_DECODE_IN_THREAD_BYTES = 0


def resolve_kind(name: str) -> str:
    """The endpoint kind for a protocol name (``openai`` -> ``openai_images``, ``fal`` -> queue)."""
    kind = PROTOCOL_ALIASES.get(name, name)
    if kind not in ADAPTERS:
        known = ", ".join(sorted(set(ADAPTERS) | set(PROTOCOL_ALIASES)))
        raise ValueError(f"unknown protocol {name!r} (known: {known})")
    return kind


def protocol_base_url(kind: str, provider_base_url: str) -> str:
    """The base URL an adapter is given, from the provider's base URL.

    OpenAI-compatible bases without a path get ``/v1`` (the OpenAI client's
    convention). fal serves the same paths on two hosts, ``fal.run`` (synchronous)
    and ``queue.fal.run``; a real fal base URL is mapped to the right host, any other
    base (the simulator, a proxy) serves them under ``/fal/run`` and ``/fal/queue``.
    Bases that already name their protocol's path are kept as they are.
    """
    base = provider_base_url.rstrip("/")
    url = httpx.URL(base)
    if kind == "openai_images" and url.path in ("", "/"):
        return base + "/v1"
    if kind in ("fal_queue", "fal_sync"):
        if url.host == "fal.run" or url.host.endswith(".fal.run"):
            return "https://queue.fal.run" if kind == "fal_queue" else "https://fal.run"
        if url.path.endswith(("/fal/queue", "/fal/run")):
            return base
        return base + ("/fal/queue" if kind == "fal_queue" else "/fal/run")
    return base


async def generate(
    kind: str,
    endpoint: Endpoint,
    request: ImageRequest,
    *,
    client: httpx.AsyncClient | None = None,
    inspect=None,
) -> GenerationResult:
    """Run one measured request on the adapter for ``kind``; never raises for provider faults.

    A request that breaks the endpoint's stated limits (``endpoint.size_rules`` and
    ``endpoint.capabilities``) is never sent: it comes back ``skipped`` with the reasons.
    The whole exchange (create, polls, download) is bounded by ``endpoint.deadline_s``;
    a job still running at the deadline is cancelled where the protocol allows. The
    paid create call is never retried; free status polls are, as the official clients
    do (``bench.providers.polling``). Success means a 2xx answer, an image that fully decodes, and
    sides within ``endpoint.size_tolerance_px`` of the requested size. The cost is the
    pricing engine's for the output size and the reference images, on success only
    (what a failed request is billed is not knowable in general). ``inspect``, an
    async ``bytes -> (width, height, MIME type)``, replaces the decoding thread (the
    runner decodes in its child process, ``bench.offloop``).
    """
    adapter = ADAPTERS[resolve_kind(kind)]
    if client is None:
        async with make_client(read_timeout_s=endpoint.deadline_s) as own_client:
            return await generate(kind, endpoint, request, client=own_client, inspect=inspect)

    measurement = Measurement()
    result = GenerationResult(
        status=OK, requested_width=request.width, requested_height=request.height
    )
    refusal = refuse_before_sending(kind, endpoint, request)
    if refusal:
        result.status, result.error = SKIPPED, refusal
        return result
    try:
        async with asyncio.timeout(endpoint.deadline_s):
            fetched = await adapter.fetch(client, endpoint, request, measurement)
        if inspect is not None:
            width, height, content_type = await inspect(fetched.data)
        elif len(fetched.data) > _DECODE_IN_THREAD_BYTES:
            width, height, content_type = await asyncio.to_thread(inspect_image, fetched.data)
        else:
            width, height, content_type = inspect_image(fetched.data)
        result.width, result.height, result.content_type = width, height, content_type
        result.image = fetched.data
        tolerance = endpoint.size_tolerance_px
        if abs(width - request.width) > tolerance or abs(height - request.height) > tolerance:
            raise Failure(
                INVALID_IMAGE,
                f"the image is {width}x{height}, {request.width}x{request.height} was requested",
            )
        result.cost_usd = _cost(endpoint, request, width, height)
    except Failure as failure:
        result.status = failure.status
        result.error = sanitize(failure.message, _secrets(endpoint))
        result.retry_after_s = failure.retry_after_s
        if failure.http_status is not None:
            measurement.http_status = failure.http_status
    except TimeoutError:
        result.status = TIMEOUT
        result.error = f"no complete image within the {endpoint.deadline_s:g} s deadline"
        if measurement.cancel and measurement.first_ready_ns is None:
            await _cancel(client, endpoint, measurement)
    except httpx.TimeoutException as error:
        result.status = TIMEOUT
        result.error = f"{type(error).__name__} (the provider stopped sending)"
    except httpx.TransportError as error:
        result.status = CONNECTION_ERROR
        result.error = sanitize(f"{type(error).__name__}: {error}", _secrets(endpoint))

    result.started_at = measurement.started_at
    result.sent_ns = measurement.sent_ns
    result.http_status = measurement.http_status
    result.provider_request_id = sanitize(measurement.provider_request_id)[:200]
    result.submit_ttfb_ms = ms_after(measurement, measurement.submit_first_byte_ns)
    result.queue_ms = measurement.queue_ms
    result.processing_ms = measurement.processing_ms
    result.polls = measurement.polls
    result.last_pending_ms = ms_after(measurement, measurement.last_pending_ns)
    result.first_ready_ms = ms_after(measurement, measurement.first_ready_ns)
    result.provider_created_at = measurement.provider_created_at
    result.provider_started_at = measurement.provider_started_at
    result.provider_completed_at = measurement.provider_completed_at
    if result.first_ready_ms is not None and result.status != TIMEOUT:
        polling.remember_ready(adapter.name, endpoint.model_for(request), result.first_ready_ms)
    if result.is_ok:
        result.ttfb_ms = ms_after(measurement, measurement.image_first_byte_ns)
        result.generation_ms = ms_after(measurement, measurement.image_last_byte_ns)
    else:
        result.image = None
    return result


def refuse_before_sending(kind: str, endpoint: Endpoint, request: ImageRequest) -> str:
    """Why ``request`` must not be sent to ``endpoint`` ("" when it may be).

    Checks the body the adapter would send against the offering's stated size rules
    and capabilities; fields the caller passes through (``request.extra``) are theirs.
    """
    if endpoint.size_rules is None or endpoint.capabilities is None:
        return ""
    adapter = ADAPTERS[resolve_kind(kind)]
    body = adapter.body(request, endpoint.model_for(request))
    problems = check_body(
        adapter.name,
        body,
        endpoint.size_rules,
        endpoint.capabilities,
        passthrough=tuple(request.extra),
    )
    if not problems:
        return ""
    return f"refused before sending ({endpoint.model_for(request)}): " + "; ".join(problems)


async def _cancel(client: httpx.AsyncClient, endpoint: Endpoint, measurement: Measurement) -> None:
    # An abandoned job would still run and be billed: cancel it, as fal's client does
    # when its client_timeout passes (fal_client AsyncClient.subscribe). Best effort.
    method, url, headers = measurement.cancel
    try:
        async with asyncio.timeout(_CANCEL_TIMEOUT_S):
            await exchange(client, method, url, headers=headers)
    except (TimeoutError, httpx.HTTPError):
        pass


def _cost(endpoint: Endpoint, request: ImageRequest, width: int, height: int):
    if endpoint.pricing is None:
        return None
    try:
        return request_cost_usd(
            endpoint.pricing,
            width,
            height,
            [(ref.width, ref.height) for ref in request.references],
            tier=request.resolution,
        )
    except PricingError:
        return None


def _secrets(endpoint: Endpoint) -> tuple[str, ...]:
    return (endpoint.api_key,) if endpoint.api_key else ()
