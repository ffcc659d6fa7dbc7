"""Black Forest Labs: submit, poll the returned ``polling_url``, fetch ``result.sample``.

Protocol facts (docs/providers.md, section 4): ``x-key`` auth; ``POST /v1/{model}``
answers ``id`` and ``polling_url`` (always poll that URL: it names the cluster that
took the job); polls say Pending -> Ready (``result.sample`` is a signed URL valid
for ten minutes, downloaded without the key) or Error, Request Moderated, Content
Moderated, Task not found. Edits are the same endpoint with ``input_image``,
``input_image_2`` ... ``input_image_8``. FLUX.2 takes ``width``/``height`` in
multiples of 16 (https://docs.bfl.ai/flux_2/flux2_text_to_image); FLUX.1 Kontext
takes ``aspect_ratio`` only, from 3:7 to 7:3, and ignores width/height
(https://docs.bfl.ai/kontext/kontext_text_to_image), so offerings without custom
sizes get the ratio label.
"""

from __future__ import annotations

import httpx

from bench.http import exchange
from bench.providers import polling
from bench.providers.base import (
    HTTP_4XX,
    HTTP_5XX,
    INVALID_IMAGE,
    MODERATED,
    Endpoint,
    Failure,
    FetchedImage,
    ImageRequest,
    Measurement,
    http_failure,
    parse_json,
)

_PENDING = ("Pending", "Queued", "Processing")
_FORMATS = {"jpeg": "jpeg", "png": "png", "webp": "webp"}


class BflAdapter:
    name = "bfl"
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
        """Submit a task, poll its polling URL until a terminal status, download the sample."""
        model = endpoint.model_for(request).strip("/")
        submit = await exchange(
            client,
            "POST",
            f"{endpoint.base_url}/v1/{model}",
            headers=_auth(endpoint),
            json_body=build_input(request),
        )
        measurement.submitted(submit)
        if not submit.is_success:
            raise http_failure(submit, "submit")
        task = parse_json(submit, "submit")
        task_id = str(task.get("id", ""))
        measurement.provider_request_id = task_id
        polling_url = task.get("polling_url") or f"{endpoint.base_url}/v1/get_result?id={task_id}"

        pacer = polling.PollPacer(
            measurement.sent_ns,
            fixed_s=endpoint.poll_interval_s,
            slow_s=self.default_poll_interval_s,
            expected_ms=endpoint.expected_ready_ms or polling.running_median_ms(self.name, model),
        )
        while True:
            await pacer.wait(self.name)
            poll = await polling.poll_get(
                client, self.name, polling_url, _auth(endpoint), measurement
            )
            if not poll.is_success:
                raise http_failure(poll, "poll")
            state = parse_json(poll, "poll")
            status = state.get("status")
            if status not in _PENDING:
                measurement.ready(poll)
                break
            measurement.pending(poll)
        if status in ("Request Moderated", "Content Moderated"):
            raise Failure(MODERATED, f"task {status.lower()}", http_status=poll.status)
        if status == "Task not found":
            raise Failure(HTTP_4XX, "task not found", http_status=poll.status)
        if status != "Ready":
            raise Failure(HTTP_5XX, f"task ended with status {status!r}", http_status=poll.status)
        sample = (state.get("result") or {}).get("sample")
        if not isinstance(sample, str) or not sample:
            raise Failure(INVALID_IMAGE, "the task is Ready without result.sample")
        image = await exchange(client, "GET", sample, follow_redirects=True)
        if not image.is_success:
            raise http_failure(image, "sample download")
        measurement.carried_image(image)
        return FetchedImage(image.body, image.headers.get("content-type", ""))


def build_input(request: ImageRequest) -> dict:
    """BFL's input: width/height in pixels (FLUX.2) or aspect_ratio (Kontext), input_image..."""
    data: dict = {"prompt": request.prompt, "output_format": _FORMATS[request.output_format]}
    if request.custom_size:
        data.update(width=request.width, height=request.height)
    else:
        data["aspect_ratio"] = request.aspect_ratio or "1:1"
    if request.seed is not None:
        data["seed"] = request.seed
    for index, ref in enumerate(request.references):
        data["input_image" if index == 0 else f"input_image_{index + 1}"] = ref.b64()
    for name in request.omit:
        data.pop(name, None)
    data.update(request.extra)
    return data


def _auth(endpoint: Endpoint) -> dict:
    return {"x-key": endpoint.api_key} if endpoint.api_key else {}
