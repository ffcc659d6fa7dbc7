"""The simulator's OpenAI images endpoints, mixed into ``Simulator``."""

from __future__ import annotations

import base64
import re
import time

from bench import simulator_limits as limits
from bench.simulator.http import (
    HttpRequest,
    HttpResponse,
    _parse_multipart,
    _refusal_response,
    json_response,
)
from bench.simulator.images import _EXT
from bench.simulator.jobs import _openai_request_id
from bench.simulator.sizes import _clamp


class OpenAIProtocol:
    """OpenAI images endpoints of ``Simulator`` (uses its jobs, profile and shared helpers)."""

    # OpenAI

    async def _openai(self, request: HttpRequest) -> HttpResponse:
        """OpenAI's generations and edits endpoints: validate, refuse, answer.

        Long on purpose: OpenAI's checks in the order its API makes them (missing
        fields, refusals, size, format), so the error a client gets matches the real one.
        """
        is_edit = request.path.endswith("/edits")
        if is_edit:
            fields, images = _parse_multipart(request)
        else:
            data = request.json()
            fields, images = (data if isinstance(data, dict) else {}), []
        model = str(fields.get("model") or "dall-e-2")
        self._prepare(request, model)
        refused = self._refused(request, model)
        if refused:
            return self._error("openai", refused, request)
        if not fields.get("prompt") or (is_edit and not images):
            return json_response(
                400,
                {
                    "error": {
                        "message": "Missing required parameter: 'prompt'."
                        if not fields.get("prompt")
                        else "Missing required parameter: 'image'.",
                        "type": "invalid_request_error",
                        "param": "prompt" if not fields.get("prompt") else "image",
                        "code": "missing_required_parameter",
                    }
                },
            )
        refusal = limits.openai_refusal(fields)
        if refusal:
            return _refusal_response(refusal, [("x-request-id", _openai_request_id())])
        size = str(fields.get("size") or "auto")
        match = re.fullmatch(r"(\d+)x(\d+)", size)
        if match:
            width, height = _clamp(int(match[1])), _clamp(int(match[2]))
        elif size == "auto":
            width = height = 1024
        else:
            return self._error("openai", "bad_request", request)
        fmt = str(fields.get("output_format") or "png")
        job = self._new_job(
            request,
            "openai",
            model,
            _openai_request_id(),
            prompt=str(fields["prompt"]),
            width=width,
            height=height,
            fmt=fmt,
            references=len(images),
        )
        await self._wait_until(job.done_ns, limit_s=job.profile.hang_s)
        if job.state(time.monotonic_ns()) != "done":
            return self._error("openai", "server_error", request, job.id)
        if job.outcome == "moderated":
            return self._error("openai", "moderated", request, job.id)
        n = max(1, min(10, int(fields.get("n") or 1)))
        headers = [
            ("x-request-id", job.id),
            ("openai-processing-ms", str(int(job.processing_s * 1000))),
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-reset-requests", "120ms"),
        ]
        if fields.get("response_format") == "url":
            items = [
                {
                    "url": f"{request.base_url}/files/openai/{job.id}/{index}.{_EXT[job.fmt]}",
                    "revised_prompt": None,
                }
                for index in range(n)
            ]
            carries = False
        else:
            encoded = base64.b64encode(await self._image_body(job)).decode()
            items = [{"b64_json": encoded, "revised_prompt": None} for _ in range(n)]
            carries = True
        response = json_response(
            200,
            {
                "created": int(time.time()),
                "data": items,
                "background": "opaque",
                "output_format": _EXT[job.fmt],
                "quality": str(fields.get("quality") or "medium"),
                "size": f"{width}x{height}",
                "usage": {
                    "input_tokens": len(str(fields["prompt"]).split()),
                    "input_tokens_details": {
                        "text_tokens": len(str(fields["prompt"]).split()),
                        "image_tokens": 0,
                    },
                    "output_tokens": 1056,
                    "total_tokens": 1056 + len(str(fields["prompt"]).split()),
                },
            },
            headers,
        )
        if carries:
            self._carry(response, job)
        return response

    def _openai_models(self) -> HttpResponse:
        names = sorted({job.model for job in self.jobs.values() if job.protocol == "openai"})
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "simulator"} for name in names
        ]
        return json_response(200, {"object": "list", "data": data})
