"""The simulator's BFL endpoints, mixed into ``Simulator``."""

from __future__ import annotations

import math
import time
import uuid

from bench import simulator_limits as limits
from bench.simulator.http import HttpRequest, HttpResponse, _refusal_response, json_response
from bench.simulator.images import _EXT
from bench.simulator.sizes import _clamp


class BflProtocol:
    """BFL endpoints of ``Simulator`` (uses its jobs, profile and shared helpers)."""

    # BFL

    async def _bfl_submit(self, request: HttpRequest, model: str) -> HttpResponse:
        self._prepare(request, model)
        refused = self._refused(request, model)
        if refused:
            return self._error("bfl", refused, request)
        data = request.json()
        if not isinstance(data, dict) or not data.get("prompt"):
            return self._error("bfl", "bad_request", request)
        refusal = limits.bfl_refusal(model, data)
        if refusal:
            return _refusal_response(refusal)
        width = int(data.get("width") or 1024)
        height = int(data.get("height") or 1024)
        width, height = limits.bfl_output_size(model, data, (_clamp(width), _clamp(height)))
        references = sum(1 for key in data if key.startswith("input_image") and data[key])
        job = self._new_job(
            request,
            "bfl",
            model,
            str(uuid.uuid4()),
            prompt=data["prompt"],
            width=width,
            height=height,
            fmt=data.get("output_format", "jpeg"),
            seed=data.get("seed"),
            references=references,
        )
        output_mp = round(width * height / 1_048_576, 2)
        return json_response(
            200,
            {
                "id": job.id,
                "polling_url": f"{request.base_url}/v1/get_result?id={job.id}",
                "cost": round(3.0 + max(0, math.ceil(output_mp) - 1) * 1.5, 2),
                "input_mp": float(references),
                "output_mp": output_mp,
            },
        )

    def _bfl_poll(self, request: HttpRequest) -> HttpResponse:
        job = self.jobs.get(request.query.get("id", ""))
        if job is None or job.protocol != "bfl":
            return json_response(
                200,
                {
                    "id": request.query.get("id"),
                    "status": "Task not found",
                    "result": None,
                    "progress": None,
                    "details": None,
                    "preview": None,
                },
            )
        self._prepare(request, job.model)
        if self.profile.require_key and request.credential() != self.profile.require_key:
            return self._error("bfl", "unauthorized", request)
        if self._poll_fails(job):
            return json_response(503, {"detail": "Service Unavailable"})
        now = time.monotonic_ns()
        state = job.state(now)
        data = {
            "id": job.id,
            "status": "Pending",
            "result": None,
            "progress": None,
            "details": None,
            "preview": None,
        }
        if state == "processing":
            data["progress"] = round((now - job.start_ns) / max(1, job.done_ns - job.start_ns), 2)
        elif state == "queued":
            data["progress"] = 0.0
        elif job.outcome == "moderated":
            data["status"] = "Content Moderated"
            data["details"] = {"Moderation Reasons": ["Sexual Content"]}
        else:
            expires = time.time() + 600
            data["status"] = "Ready"
            data["result"] = {
                "sample": f"{request.base_url}/files/bfl/{job.id}/sample.{_EXT[job.fmt]}"
                f"?se={expires:.0f}&sig={job.signature}",
                "prompt": job.prompt,
                "seed": job.seed if job.seed is not None else 42,
                "start_time": time.time() - job.processing_s,
                "end_time": time.time(),
                "duration": job.processing_s,
            }
        return json_response(200, data)
