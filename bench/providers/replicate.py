"""Replicate predictions: create with ``Prefer: wait``, poll ``urls.get``, fetch the output.

Protocol facts (docs/providers.md, section 1): create answers 201 with a prediction
object; with ``Prefer: wait=N`` the answer is held until the model finishes or N
seconds pass, and may say ``processing`` while ``output`` is already set (the
official client treats any blocking answer not ``starting`` as done). Statuses
starting -> processing -> succeeded | failed | canceled. ``output`` is a URL (or a
list of them, or a data URI) fetched with a separate GET. Moderation surfaces as a
failed prediction whose error mentions E005 / "flagged as sensitive".

FLUX.2 [pro] takes ``aspect_ratio`` + ``resolution`` (megapixel tiers "0.5 MP" ..
"4 MP"), or ``aspect_ratio="custom"`` with ``width``/``height`` from 256 to 2048
(https://replicate.com/black-forest-labs/flux-2-pro/api/schema): table sizes go as
labels, only true custom sizes as pixels. A 429's wait hint is in its body only
("resets in ~30s", https://replicate.com/docs/topics/predictions/rate-limits).
"""

from __future__ import annotations

from datetime import datetime

import httpx

from bench.http import exchange
from bench.providers import polling
from bench.providers.base import (
    HTTP_5XX,
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

TERMINAL = ("succeeded", "failed", "canceled")
MAX_WAIT_S = 60
_MODERATION_MARKERS = ("e005", "flagged as sensitive", "nsfw", "safety")
_FORMATS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


class ReplicateAdapter:
    name = "replicate"
    default_poll_interval_s = 0.5

    def body(self, request: ImageRequest, model: str) -> dict:
        return build_input(request)

    async def fetch(
        self,
        client: httpx.AsyncClient,
        endpoint: Endpoint,
        request: ImageRequest,
        measurement: Measurement,
    ) -> FetchedImage:
        """Create a prediction, wait for it, and download its first output.

        Long on purpose: the protocol's steps in order (create, wait or poll, download),
        with the measurement stamped where each happens.
        """
        model = endpoint.model_for(request)
        headers = {"Prefer": f"wait={MAX_WAIT_S}"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        body: dict = {"input": build_input(request)}
        owner_name, _, version = model.partition(":")
        if version:
            url = f"{endpoint.base_url}/v1/predictions"
            body["version"] = model
        else:
            url = f"{endpoint.base_url}/v1/models/{owner_name}/predictions"

        reply = await exchange(
            client, "POST", url, headers=headers, json_body=body, timeout_s=MAX_WAIT_S + 5
        )
        measurement.submitted(reply)
        if not reply.is_success:
            raise http_failure(reply, "create prediction")
        prediction = parse_json(reply, "create prediction")
        measurement.provider_request_id = str(prediction.get("id", ""))
        carrier = reply
        is_done = prediction.get("status") != "starting" and (
            prediction.get("output") is not None or prediction.get("status") in TERMINAL
        )
        urls = prediction.get("urls") or {}
        base = f"{endpoint.base_url}/v1/predictions/{measurement.provider_request_id}"
        poll_url = urls.get("get") or base
        measurement.cancel = ("POST", urls.get("cancel") or f"{base}/cancel", _auth(endpoint))
        if is_done:
            measurement.ready(reply)
        else:
            measurement.pending(reply)

        pacer = polling.PollPacer(
            measurement.sent_ns,
            fixed_s=endpoint.poll_interval_s,
            slow_s=self.default_poll_interval_s,
            expected_ms=endpoint.expected_ready_ms or polling.running_median_ms(self.name, model),
        )
        while not is_done:
            await pacer.wait(self.name)
            carrier = await polling.poll_get(
                client, self.name, poll_url, _auth(endpoint), measurement
            )
            if not carrier.is_success:
                raise http_failure(carrier, "poll prediction")
            prediction = parse_json(carrier, "poll prediction")
            is_done = prediction.get("status") in TERMINAL
            if is_done:
                measurement.ready(carrier)
            else:
                measurement.pending(carrier)

        _record_provider_times(prediction, measurement)
        status = prediction.get("status")
        if status in ("failed", "canceled"):
            error = str(prediction.get("error") or status)
            is_moderated = any(marker in error.lower() for marker in _MODERATION_MARKERS)
            raise Failure(
                MODERATED if is_moderated else HTTP_5XX,
                f"prediction {status}: {error}",
                http_status=carrier.status,
            )
        output = prediction.get("output")
        if isinstance(output, list):
            output = output[0] if output else None
        if not isinstance(output, str) or not output:
            raise Failure(INVALID_IMAGE, "the prediction succeeded without an output URL")
        if output.startswith("data:"):
            measurement.carried_image(carrier)
            return decode_data_uri(output)
        image = await exchange(client, "GET", output, follow_redirects=True)
        if not image.is_success:
            raise http_failure(image, "output download")
        measurement.carried_image(image)
        return FetchedImage(image.body, image.headers.get("content-type", ""))


def build_input(request: ImageRequest) -> dict:
    """Replicate's input from a normalized request (FLUX.2's field names unless the
    offering's capabilities name the model's own reference field)."""
    data: dict = {"prompt": request.prompt, "output_format": _FORMATS[request.output_format]}
    if request.custom_size and request.tier_param == "size":  # Seedream 4: size="custom"
        data.update(size="custom", width=request.width, height=request.height)
    elif request.custom_size:
        data.update(aspect_ratio="custom", width=request.width, height=request.height)
    else:
        data["aspect_ratio"] = request.aspect_ratio or "1:1"
        if request.resolution:
            tier = request.resolution
            label = tier if tier.upper().endswith("K") else f"{tier} MP"
            data[request.tier_param] = label
    if request.seed is not None:
        data["seed"] = request.seed
    if request.references:
        name, images = request.references_as("input_images")
        data[name] = images
    for name in request.omit:
        data.pop(name, None)
    data.update(request.extra)
    return data


def _auth(endpoint: Endpoint) -> dict:
    return {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}


def _record_provider_times(prediction: dict, measurement: Measurement) -> None:
    created, started = _time(prediction.get("created_at")), _time(prediction.get("started_at"))
    measurement.provider_created_at, measurement.provider_started_at = created, started
    measurement.provider_completed_at = _time(prediction.get("completed_at"))
    if created and started:
        measurement.queue_ms = max(0.0, (started - created).total_seconds() * 1000)
    predict_time = (prediction.get("metrics") or {}).get("predict_time")
    if isinstance(predict_time, int | float):
        measurement.processing_ms = predict_time * 1000


def _time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
