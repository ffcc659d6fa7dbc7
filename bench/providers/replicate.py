"""Replicate predictions: create with ``Prefer: wait``, poll ``urls.get``, fetch the output.

Protocol facts (docs/providers.md, section 1): create answers 201 with a prediction
object; with ``Prefer: wait=N`` the answer is held until the model finishes or N
seconds pass, and may say ``processing`` while ``output`` is already set (the
official client treats any blocking answer not ``starting`` as done). Statuses
starting -> processing -> succeeded | failed | canceled. ``output`` is a URL (or a
list of them, or a data URI) fetched with a separate GET. Moderation surfaces as a
failed prediction whose error mentions E005 / "flagged as sensitive".
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx

from bench.http import exchange
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

    async def fetch(
        self,
        client: httpx.AsyncClient,
        endpoint: Endpoint,
        request: ImageRequest,
        measurement: Measurement,
    ) -> FetchedImage:
        """Create a prediction, wait for it, and download its first output."""
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

        interval = endpoint.poll_interval_s or self.default_poll_interval_s
        poll_url = (prediction.get("urls") or {}).get("get") or (
            f"{endpoint.base_url}/v1/predictions/{measurement.provider_request_id}"
        )
        while not is_done:
            await asyncio.sleep(interval)
            carrier = await exchange(client, "GET", poll_url, headers=_auth(endpoint))
            measurement.polls += 1
            if not carrier.is_success:
                raise http_failure(carrier, "poll prediction")
            prediction = parse_json(carrier, "poll prediction")
            is_done = prediction.get("status") in TERMINAL

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
    """Replicate's input for FLUX.2-style models from a normalized request."""
    data: dict = {"prompt": request.prompt, "output_format": _FORMATS[request.output_format]}
    if request.custom_size:
        data.update(aspect_ratio="custom", width=request.width, height=request.height)
    else:
        data["aspect_ratio"] = request.aspect_ratio or "1:1"
        if request.resolution:
            tier = request.resolution
            data["resolution"] = tier if tier.upper().endswith("K") else f"{tier} MP"
    if request.seed is not None:
        data["seed"] = request.seed
    if request.references:
        data["input_images"] = [ref.data_uri() for ref in request.references]
    data.update(request.extra)
    return data


def _auth(endpoint: Endpoint) -> dict:
    return {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}


def _record_provider_times(prediction: dict, measurement: Measurement) -> None:
    created, started = _time(prediction.get("created_at")), _time(prediction.get("started_at"))
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
