"""The simulator's Replicate endpoints, mixed into ``Simulator``."""

from __future__ import annotations

import time

from bench import simulator_limits as limits
from bench.simulator.http import HttpRequest, HttpResponse, _refusal_response, json_response
from bench.simulator.images import _EXT
from bench.simulator.jobs import Job, _replicate_id
from bench.simulator.sizes import _replicate_size


class ReplicateProtocol:
    """Replicate endpoints of ``Simulator`` (uses its jobs, profile and shared helpers)."""

    # Replicate

    async def _replicate_create(self, request: HttpRequest, model: str) -> HttpResponse:
        self._prepare(request, model)
        refused = self._refused(request, model)
        if refused:
            return self._error("replicate", refused, request)
        body = request.json()
        data = body.get("input") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("prompt"):
            return self._error("replicate", "bad_request", request)
        refusal = limits.replicate_refusal(model, data)
        if refusal:
            return _refusal_response(refusal)
        known = limits.replicate_known_input(model, data)
        width, height = limits.replicate_output_size(known, _replicate_size(known), model)
        job = self._new_job(
            request,
            "replicate",
            model,
            _replicate_id(),
            prompt=data["prompt"],
            width=width,
            height=height,
            fmt=data.get("output_format", "webp"),
            seed=data.get("seed"),
            references=len(data.get("input_images") or []),
        )
        headers = [("ratelimit-remaining", "599"), ("ratelimit-reset", "1")]
        prefer = request.headers.get("prefer", "")
        if prefer.startswith("wait"):
            _, _, seconds = prefer.partition("=")
            wait_s = float(seconds) if seconds.strip() else 60.0
            headers.append(("Preference-Applied", "wait"))
            await self._wait_until(job.done_ns, limit_s=min(60.0, wait_s))
        prediction = await self._prediction(job, request.base_url, blocking=bool(prefer))
        response = json_response(201, prediction, headers)
        if job.profile.inline and prediction.get("output"):
            self._carry(response, job)
        return response

    async def _replicate_get(self, request: HttpRequest, prediction_id: str, *, cancel: bool):
        job = self.jobs.get(prediction_id)
        if job is None or job.protocol != "replicate":
            return json_response(
                404,
                {"detail": "Not found.", "status": 404},
                content_type="application/problem+json",
            )
        self._prepare(request, job.model)
        if self.profile.require_key and request.credential() != self.profile.require_key:
            return self._error("replicate", "unauthorized", request)
        if cancel:
            if job.state(time.monotonic_ns()) in ("queued", "processing"):
                job.canceled = True
        elif self._poll_fails(job):
            return json_response(
                503,
                {"title": "Service Unavailable", "detail": "Please retry.", "status": 503},
                content_type="application/problem+json",
            )
        prediction = await self._prediction(job, request.base_url, blocking=False)
        response = json_response(
            200, prediction, [("ratelimit-remaining", "2999"), ("ratelimit-reset", "1")]
        )
        if job.profile.inline and prediction.get("output"):
            self._carry(response, job)
        return response

    def _carry(self, response: HttpResponse, job: Job) -> None:
        response.job = job
        response.transfer_s = job.transfer_s
        response.drop = job.outcome == "drop_connection"

    async def _prediction(self, job: Job, base: str, *, blocking: bool) -> dict:
        state = job.state(time.monotonic_ns())
        status = {"queued": "starting", "processing": "processing", "canceled": "canceled"}.get(
            state
        )
        output = error = None
        metrics: dict = {}
        if state == "done":
            if job.outcome == "moderated":
                status = "failed"
                error = (
                    "The input or output was flagged as sensitive. "
                    "Please try again with different inputs. (E005)"
                )
            else:
                # The blocking answer says "processing" although output is set, like the real one.
                status = "processing" if blocking else "succeeded"
                if job.profile.inline:
                    output = await self._data_uri(job)
                else:
                    output = f"{base}/files/replicate/{job.id}/out-0.{_EXT[job.fmt]}"
            metrics = {
                "predict_time": round(job.processing_s, 6),
                "total_time": round(job.queue_s + job.processing_s, 6),
            }
        return {
            "id": job.id,
            "model": job.model,
            "version": "hidden",
            "input": {"prompt": job.prompt},
            "logs": "",
            "output": output,
            "data_removed": False,
            "error": error,
            "status": status,
            "created_at": job.wall(0),
            "started_at": job.wall(job.queue_s) if state != "queued" else None,
            "completed_at": job.wall(job.queue_s + job.processing_s) if state == "done" else None,
            "deadline": None,
            "metrics": metrics,
            "urls": {
                "get": f"{base}/v1/predictions/{job.id}",
                "cancel": f"{base}/v1/predictions/{job.id}/cancel",
                "web": f"https://replicate.com/p/{job.id}",
            },
        }
