"""fal.ai: the queue (submit, poll status, fetch result) and the synchronous ``fal.run``.

Protocol facts (docs/providers.md, section 2): ``Authorization: Key <key>``; submit
``POST {queue}/{model_id}`` answers ``request_id`` with ``status_url`` and
``response_url``, which drop the endpoint's subpath; status goes IN_QUEUE ->
IN_PROGRESS -> COMPLETED (success or failure) with ``metrics.inference_time`` in
seconds; the result (``images[].url``, a CDN URL or a data URI in ``sync_mode``) is
fetched from ``response_url``. ``POST {run}/{model_id}`` returns the result
directly. Content-filter failures are 422s whose detail type is
``content_policy_violation``; flux endpoints also flag ``has_nsfw_concepts``.

A failed job also ends ``COMPLETED``: its error is the status of the result URL
(a 422 for validation, a 5xx for the runner), which is why the official client
always reads the result after COMPLETED and raises on its status
(fal_client ``AsyncRequestHandle.get``; https://docs.fal.ai/model-endpoints/queue).
We do the same, whatever the status body says. A job abandoned at the deadline is
cancelled with ``PUT .../cancel``, as the client does when its timeout passes.
"""

from __future__ import annotations

import httpx

from bench.http import Reply, exchange
from bench.providers import polling
from bench.providers.base import (
    INVALID_IMAGE,
    MODERATED,
    Endpoint,
    Failure,
    FetchedImage,
    ImageRequest,
    Measurement,
    decode_data_uri,
    http_failure,
    parse_json,
)

_FORMATS = {"jpeg": "jpeg", "png": "png", "webp": "webp"}


class FalQueueAdapter:
    name = "fal_queue"
    # The slowest poll interval: fal's Python client polls every 0.1 s
    # (DEFAULT_QUEUE_POLL_INTERVAL); its status endpoint has no rate limit.
    default_poll_interval_s = 0.1

    def body(self, request: ImageRequest, model: str) -> dict:
        return build_input(request)

    async def fetch(
        self,
        client: httpx.AsyncClient,
        endpoint: Endpoint,
        request: ImageRequest,
        measurement: Measurement,
    ) -> FetchedImage:
        """Submit to the queue, poll the status URL until COMPLETED, fetch the result."""
        model = endpoint.model_for(request)
        submit = await exchange(
            client,
            "POST",
            f"{endpoint.base_url}/{model}",
            headers=_auth(endpoint),
            json_body=build_input(request),
        )
        measurement.submitted(submit)
        if not submit.is_success:
            raise http_failure(submit, "queue submit", is_moderation=is_moderation(submit))
        handle = parse_json(submit, "queue submit")
        request_id = str(handle.get("request_id", ""))
        measurement.provider_request_id = request_id
        base = f"{endpoint.base_url}/{_app_id(model)}/requests/{request_id}"
        status_url = handle.get("status_url") or f"{base}/status"
        response_url = handle.get("response_url") or base
        measurement.cancel = ("PUT", handle.get("cancel_url") or f"{base}/cancel", _auth(endpoint))

        pacer = polling.PollPacer(
            measurement.sent_ns,
            fixed_s=endpoint.poll_interval_s,
            slow_s=self.default_poll_interval_s,
            expected_ms=endpoint.expected_ready_ms or polling.running_median_ms(self.name, model),
        )
        while True:
            await pacer.wait(self.name)
            poll = await polling.poll_get(
                client, self.name, status_url, _auth(endpoint), measurement
            )
            if not poll.is_success:
                raise http_failure(poll, "queue status")
            status = parse_json(poll, "queue status")
            if status.get("status") == "COMPLETED":
                measurement.ready(poll)
                break
            measurement.pending(poll)
        inference_s = (status.get("metrics") or {}).get("inference_time")
        if isinstance(inference_s, int | float):
            measurement.processing_ms = inference_s * 1000

        # The result's own status is the job's outcome, even when COMPLETED said nothing.
        result = await polling.poll_get(
            client, self.name, response_url, _auth(endpoint), measurement
        )
        if not result.is_success:
            raise http_failure(result, "queue result", is_moderation=is_moderation(result))
        return await fetch_output(client, result, measurement)


class FalSyncAdapter:
    name = "fal_sync"
    default_poll_interval_s = 0.0

    def body(self, request: ImageRequest, model: str) -> dict:
        return build_input(request)

    async def fetch(
        self,
        client: httpx.AsyncClient,
        endpoint: Endpoint,
        request: ImageRequest,
        measurement: Measurement,
    ) -> FetchedImage:
        """One blocking POST to ``fal.run``; the image URL it returns is fetched after."""
        reply = await exchange(
            client,
            "POST",
            f"{endpoint.base_url}/{endpoint.model_for(request)}",
            headers=_auth(endpoint),
            json_body=build_input(request),
        )
        measurement.submitted(reply)
        measurement.ready(reply)
        measurement.provider_request_id = reply.headers.get("x-fal-request-id", "")
        if not reply.is_success:
            raise http_failure(reply, "run", is_moderation=is_moderation(reply))
        return await fetch_output(client, reply, measurement)


async def fetch_output(
    client: httpx.AsyncClient, result: Reply, measurement: Measurement
) -> FetchedImage:
    """The first image of a fal result body: inline data URI or a CDN download."""
    payload = parse_json(result, "result")
    timings = payload.get("timings") if isinstance(payload, dict) else None
    if measurement.processing_ms is None and isinstance(timings, dict):
        inference_s = timings.get("inference")
        if isinstance(inference_s, int | float):
            measurement.processing_ms = inference_s * 1000
    nsfw = payload.get("has_nsfw_concepts") if isinstance(payload, dict) else None
    if isinstance(nsfw, list) and any(nsfw):
        raise Failure(
            MODERATED, "the output was flagged (has_nsfw_concepts)", http_status=result.status
        )
    images = payload.get("images") if isinstance(payload, dict) else None
    url = images[0].get("url") if images and isinstance(images[0], dict) else None
    if not isinstance(url, str) or not url:
        raise Failure(INVALID_IMAGE, "the result has no images[0].url", http_status=result.status)
    if url.startswith("data:"):
        measurement.carried_image(result)
        return decode_data_uri(url)
    image = await exchange(client, "GET", url, follow_redirects=True)
    if not image.is_success:
        raise http_failure(image, "image download")
    measurement.carried_image(image)
    return FetchedImage(image.body, image.headers.get("content-type", ""))


def build_input(request: ImageRequest) -> dict:
    """fal's input for FLUX.2 / Nano Banana style endpoints from a normalized request."""
    data: dict = {"prompt": request.prompt, "output_format": _FORMATS[request.output_format]}
    if request.custom_size:
        data["image_size"] = {"width": request.width, "height": request.height}
    else:
        data["aspect_ratio"] = request.aspect_ratio or "1:1"
        if request.resolution:
            data["resolution"] = request.resolution
    if request.seed is not None:
        data["seed"] = request.seed
    if request.references:
        name, images = request.references_as("image_urls")
        data[name] = images
    for name in request.omit:
        data.pop(name, None)
    data.update(request.extra)
    return data


def is_moderation(reply: Reply) -> bool:
    """Whether a fal error body is a content-policy rejection."""
    return reply.status == 422 and b"content_policy_violation" in reply.body


def _app_id(model: str) -> str:
    # Status and result URLs use owner/alias only: the subpath (".../edit") is for submit.
    return "/".join(model.split("/")[:2])


def _auth(endpoint: Endpoint) -> dict:
    return {"Authorization": f"Key {endpoint.api_key}"} if endpoint.api_key else {}
