"""The simulator's fal endpoints, mixed into ``Simulator``."""

from __future__ import annotations

import re
import time
import uuid

from bench import simulator_limits as limits
from bench.simulator.http import HttpRequest, HttpResponse, _refusal_response, json_response
from bench.simulator.images import _EXT, _MIME
from bench.simulator.jobs import Job
from bench.simulator.sizes import _fal_size


class FalProtocol:
    """fal endpoints of ``Simulator`` (uses its jobs, profile and shared helpers)."""

    # fal

    async def _fal_queue(self, request: HttpRequest, rest: str) -> HttpResponse:
        match = re.fullmatch(r"([^/]+/[^/]+)/requests/([^/]+)(/status|/cancel)?", rest)
        if match:
            job = self.jobs.get(match[2])
            if job is None or job.protocol != "fal":
                return json_response(404, {"detail": "Request not found"})
            self._prepare(request, job.model)
            if self.profile.require_key and request.credential() != self.profile.require_key:
                return self._error("fal", "unauthorized", request)
            queue_base = f"{request.base_url}/fal/queue/{match[1]}/requests/{job.id}"
            if match[3] == "/status":
                if self._poll_fails(job):
                    # fal's ingress answers these, without x-fal-request-id (fal_client
                    # tells them apart that way and retries them).
                    return HttpResponse(
                        503,
                        b"<html><body><center><h1>503 Service Temporarily Unavailable"
                        b"</h1></center><hr><center>nginx</center></body></html>",
                        content_type="text/html",
                    )
                return self._fal_status(job, queue_base, with_logs=request.query.get("logs") == "1")
            if match[3] == "/cancel" and request.method != "PUT":
                return json_response(405, {"detail": "Method Not Allowed"})
            if match[3] == "/cancel":
                if job.state(time.monotonic_ns()) == "queued":
                    job.canceled = True
                    return json_response(202, {"status": "CANCELLATION_REQUESTED"})
                return json_response(400, {"status": "ALREADY_COMPLETED"})
            state = job.state(time.monotonic_ns())
            if state != "done":
                return json_response(400, {"detail": "Request is still in progress"})
            return await self._fal_result(job, request)
        if request.method != "POST":
            return json_response(405, {"detail": "Method Not Allowed"})
        self._prepare(request, rest)
        refused = self._refused(request, rest)
        if refused:
            return self._error("fal", refused, request)
        job = self._fal_job(request, rest)
        if job is None:
            return self._error("fal", "bad_request", request)
        app_id = "/".join(rest.split("/")[:2])
        queue_base = f"{request.base_url}/fal/queue/{app_id}/requests/{job.id}"
        return json_response(
            200,
            {
                "request_id": job.id,
                "response_url": queue_base,
                "status_url": f"{queue_base}/status",
                "cancel_url": f"{queue_base}/cancel",
                "queue_position": self._queue_position(job),
            },
            [("x-fal-request-id", job.id)],
        )

    def _fal_job(self, request: HttpRequest, model: str) -> Job | None:
        data = request.json()
        if not isinstance(data, dict) or not data.get("prompt"):
            return None
        refusal = limits.fal_refusal(model, data)
        width, height = _fal_size(limits.fal_known_input(model, data))
        job = self._new_job(
            request,
            "fal",
            model,
            str(uuid.uuid4()),
            prompt=data["prompt"],
            width=width,
            height=height,
            fmt=data.get("output_format", "jpeg"),
            seed=data.get("seed"),
            references=len(data.get("image_urls") or []),
        )
        job.inline = bool(data.get("sync_mode")) or job.profile.inline
        if refusal:
            # The queue accepts the job; it fails at once and ends COMPLETED like any
            # other, its error being the status of the result URL.
            job.refusal, job.outcome, job.queue_s, job.processing_s = refusal, "refused", 0.0, 0.0
        if job.start_ns > job.received_ns:
            self._waiting.setdefault(model, []).append(job)
        return job

    def _queue_position(self, job: Job) -> int:
        """Requests of the same model received earlier and still waiting (0-indexed)."""
        now = time.monotonic_ns()
        waiting = self._waiting.setdefault(job.model, [])
        waiting[:] = [other for other in waiting if other.start_ns > now and not other.canceled]
        return sum(1 for other in waiting if other.received_ns < job.received_ns)

    def _fal_status(self, job: Job, queue_base: str, *, with_logs: bool) -> HttpResponse:
        now = time.monotonic_ns()
        state = job.state(now)
        data = {
            "request_id": job.id,
            "response_url": queue_base,
            "status_url": f"{queue_base}/status",
            "cancel_url": f"{queue_base}/cancel",
        }
        if state == "queued":
            data.update(status="IN_QUEUE", queue_position=self._queue_position(job))
        elif state == "processing":
            logs = [
                {
                    "message": "Generating...",
                    "level": "INFO",
                    "source": "USER",
                    "timestamp": job.wall(job.queue_s),
                }
            ]
            data.update(status="IN_PROGRESS", logs=logs if with_logs else None)
        else:
            data.update(
                status="COMPLETED",
                logs=[] if with_logs else None,
                metrics={"inference_time": round(job.processing_s, 6)},
            )
            if job.refusal is not None:
                data.update(error="Unprocessable Entity", error_type="validation_error")
            elif job.outcome == "moderated":
                data.update(error="Content policy violation", error_type="content_policy_violation")
        return json_response(200, data, [("x-fal-request-id", job.id)])

    async def _fal_result(self, job: Job, request: HttpRequest) -> HttpResponse:
        if job.refusal is not None:
            return _refusal_response(job.refusal, [("x-fal-request-id", job.id)])
        if job.outcome == "moderated":
            return self._error("fal", "moderated", request, job.id)
        fmt_ext = _EXT[job.fmt]
        inline = job.inline
        body = await self._image_body(job)
        url = (
            await self._data_uri(job)
            if inline
            else f"{request.base_url}/files/fal/{job.id}/output.{fmt_ext}"
        )
        data = {
            "images": [
                {
                    "url": url,
                    "content_type": _MIME[job.fmt],
                    "file_name": f"output.{fmt_ext}",
                    "file_size": len(body),
                    "width": job.width,
                    "height": job.height,
                }
            ],
            "seed": job.seed if job.seed is not None else 42,
            "has_nsfw_concepts": [False],
            "prompt": job.prompt,
            "timings": {"inference": round(job.processing_s, 6)},
        }
        response = json_response(200, data, [("x-fal-request-id", job.id)])
        if inline:
            self._carry(response, job)
        return response

    async def _fal_sync(self, request: HttpRequest, model: str) -> HttpResponse:
        self._prepare(request, model)
        refused = self._refused(request, model)
        if refused:
            return self._error("fal", refused, request)
        job = self._fal_job(request, model)
        if job is None:
            return self._error("fal", "bad_request", request)
        if job.refusal is not None:
            return _refusal_response(job.refusal, [("x-fal-request-id", job.id)])
        await self._wait_until(job.done_ns, limit_s=job.profile.hang_s)
        if job.state(time.monotonic_ns()) != "done":
            return json_response(
                504,
                {"detail": "Request timed out", "error_type": "request_timeout"},
                [("X-Fal-Error-Type", "request_timeout")],
            )
        return await self._fal_result(job, request)
