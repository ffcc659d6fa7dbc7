"""OpenAI-compatible images: ``/images/generations`` (JSON) and ``/images/edits`` (multipart).

Protocol facts (docs/providers.md, section 3): one blocking call; the image comes
back inline as ``data[].b64_json`` (GPT image models) or as ``data[].url`` to fetch
(dall-e with ``response_format=url``, and some gateways). Errors use the
``{"error": {...}}`` envelope; a safety rejection is a 400 with code
``moderation_blocked``; exhausted billing a 429 with code ``insufficient_quota``.
GPT image models take ``size`` 1024x1024, 1536x1024, 1024x1536 or auto; gpt-image-2
and later also WxH in multiples of 16 (openai-python ``types/image_generate_params.py``).
``openai-processing-ms`` is the server's own time.
"""

from __future__ import annotations

import base64
import binascii

import httpx

from bench.http import exchange
from bench.providers.base import (
    INVALID_IMAGE,
    Endpoint,
    Failure,
    FetchedImage,
    ImageRequest,
    Measurement,
    http_failure,
    parse_json,
)

_MODERATION_CODES = (b"moderation_blocked", b"content_policy_violation")


class OpenAIImagesAdapter:
    name = "openai_images"
    default_poll_interval_s = 0.0

    def body(self, request: ImageRequest, model: str) -> dict:
        return build_fields(request, model)

    async def fetch(
        self,
        client: httpx.AsyncClient,
        endpoint: Endpoint,
        request: ImageRequest,
        measurement: Measurement,
    ) -> FetchedImage:
        """One blocking generation (or edit) call; a ``url`` answer is downloaded after."""
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        fields = build_fields(request, endpoint.model_for(request))
        if request.is_edit:
            files = [
                ("image[]", (f"image_{index}.{_ext(ref.content_type)}", ref.data, ref.content_type))
                for index, ref in enumerate(request.references)
            ]
            data = {key: str(value) for key, value in fields.items()}
            reply = await exchange(
                client,
                "POST",
                f"{endpoint.base_url}/images/edits",
                headers=headers,
                data=data,
                files=files,
            )
        else:
            reply = await exchange(
                client,
                "POST",
                f"{endpoint.base_url}/images/generations",
                headers=headers,
                json_body=fields,
            )
        measurement.submitted(reply)
        measurement.ready(reply)
        measurement.provider_request_id = reply.headers.get("x-request-id", "")
        processing = reply.headers.get("openai-processing-ms")
        if processing:
            try:
                measurement.processing_ms = float(processing)
            except ValueError:
                pass
        if not reply.is_success:
            is_moderation = any(code in reply.body for code in _MODERATION_CODES)
            raise http_failure(reply, "images call", is_moderation=is_moderation)
        payload = parse_json(reply, "images call")
        items = payload.get("data") if isinstance(payload, dict) else None
        item = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
        if item.get("b64_json"):
            try:
                data = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError):
                raise Failure(INVALID_IMAGE, "b64_json is not valid base64") from None
            measurement.carried_image(reply)
            fmt = payload.get("output_format")
            return FetchedImage(data, f"image/{fmt}" if fmt else "")
        if item.get("url"):
            image = await exchange(client, "GET", item["url"], follow_redirects=True)
            if not image.is_success:
                raise http_failure(image, "image download")
            measurement.carried_image(image)
            return FetchedImage(image.body, image.headers.get("content-type", ""))
        raise Failure(INVALID_IMAGE, "the answer has neither data[0].b64_json nor data[0].url")


def build_fields(request: ImageRequest, model: str) -> dict:
    """The generation/edit fields: model, prompt, n=1, size "WxH", output_format.

    OpenAI has no seed; OpenAI-compatible gateways that take one get it via ``extra``.
    """
    fields: dict = {
        "model": model,
        "prompt": request.prompt,
        "n": 1,
        "size": f"{request.width}x{request.height}",
        "output_format": request.output_format,
    }
    for name in request.omit:
        fields.pop(name, None)
    fields.update(request.extra)
    return fields


def _ext(content_type: str) -> str:
    return {"image/jpeg": "jpg", "image/webp": "webp"}.get(content_type, "png")
