"""The protocol logic: routing, jobs, shared image answers and failure injection (``Simulator``).

Each provider's own endpoints are mixed in from its module (replicate, fal, bfl,
openai_images).
"""

from __future__ import annotations

import asyncio
import base64
import random
import re
import time
import uuid
from datetime import UTC, datetime

from bench import simulator_limits as limits
from bench.simulator.bfl import BflProtocol
from bench.simulator.fal import FalProtocol
from bench.simulator.http import HttpRequest, HttpResponse, json_response
from bench.simulator.images import _FORMATS, _MIME, render_image
from bench.simulator.jobs import Job, _openai_request_id
from bench.simulator.openai_images import OpenAIProtocol
from bench.simulator.profiles import Profile
from bench.simulator.replicate import ReplicateProtocol

_BFL_RESERVED = {"get_result", "credits", "models", "predictions", "images", "deployments"}


class Simulator(ReplicateProtocol, FalProtocol, BflProtocol, OpenAIProtocol):
    """The protocol logic: jobs, routing and per-protocol answers (see the module docstring)."""

    def __init__(self, profile: Profile | dict | None = None) -> None:
        self.profile = profile if isinstance(profile, Profile) else Profile(profile)
        self.rng = random.Random(self.profile.seed)
        self.jobs: dict[str, Job] = {}
        self._images: dict[tuple, asyncio.Future[bytes]] = {}
        self._waiting: dict[str, list[Job]] = {}

    # routing

    async def handle(self, request: HttpRequest) -> HttpResponse:
        path, method = request.path, request.method
        if path.startswith("/_simulator/"):
            return self._control(request)
        if path.startswith("/files/"):
            return await self._file(request)
        if path.startswith("/fal/queue/"):
            return await self._fal_queue(request, path[len("/fal/queue/") :])
        if path.startswith("/fal/run/"):
            if method != "POST":
                return json_response(405, {"detail": "Method Not Allowed"})
            return await self._fal_sync(request, path[len("/fal/run/") :])
        if path in ("/v1/images/generations", "/v1/images/edits") and method == "POST":
            return await self._openai(request)
        if path == "/v1/models" and method == "GET":
            return self._openai_models()
        match = re.fullmatch(r"/v1/models/([^/]+)/([^/]+)/predictions", path)
        if match and method == "POST":
            return await self._replicate_create(request, f"{match[1]}/{match[2]}")
        if path == "/v1/predictions" and method == "POST":
            body = request.json() or {}
            version = str(body.get("version", ""))
            return await self._replicate_create(request, version.split(":")[0] or version)
        match = re.fullmatch(r"/v1/predictions/([^/]+)(/cancel)?", path)
        if match:
            return await self._replicate_get(request, match[1], cancel=bool(match[2]))
        if path == "/v1/get_result" and method == "GET":
            return self._bfl_poll(request)
        match = re.fullmatch(r"/v1/([A-Za-z0-9._-]+)", path)
        if match and method == "POST" and match[1] not in _BFL_RESERVED:
            return await self._bfl_submit(request, match[1])
        return json_response(404, {"detail": "Not found"})

    def _control(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/_simulator/health":
            return json_response(200, {"ok": True, "jobs": len(self.jobs)})
        if request.path == "/_simulator/jobs":
            wanted = request.query.get("ids")
            ids = set(wanted.split(",")) if wanted else None
            jobs = [job.truth() for job in self.jobs.values() if ids is None or job.id in ids]
            return json_response(200, {"jobs": jobs})
        if request.path == "/_simulator/reset" and request.method == "POST":
            self.jobs.clear()
            return json_response(200, {"ok": True})
        return json_response(404, {"detail": "Not found"})

    # jobs

    def _new_job(
        self,
        request: HttpRequest,
        protocol: str,
        model: str,
        job_id: str,
        *,
        prompt: str,
        width: int,
        height: int,
        fmt: str,
        seed=None,
        references=0,
    ) -> Job:
        profile = self.profile.for_model(model)
        job = Job(
            id=job_id,
            protocol=protocol,
            model=model,
            prompt=prompt or "",
            width=width,
            height=height,
            fmt=_FORMATS.get(str(fmt).lower(), "PNG"),
            outcome=profile.draw_outcome(self.rng),
            received_ns=request.received_ns,
            created_at=datetime.now(UTC),
            queue_s=profile.queue.sample_s(self.rng),
            processing_s=profile.processing.sample_s(self.rng),
            transfer_s=profile.transfer.sample_s(self.rng),
            seed=seed,
            references=references,
            profile=profile,
        )
        self.jobs[job.id] = job
        return job

    def _refused(self, request: HttpRequest, model: str) -> str | None:
        """A failure that happens on the create call itself, before any job exists."""
        if self.profile.require_key and request.credential() != self.profile.require_key:
            return "unauthorized"
        profile = self.profile.for_model(model)
        # Peek without consuming the draw used by _new_job, so outcomes stay reproducible.
        state = self.rng.getstate()
        outcome = profile.draw_outcome(self.rng)
        self.rng.setstate(state)
        if outcome in (
            "rate_limited",
            "server_error",
            "unauthorized",
            "bad_request",
            "insufficient_quota",
        ):
            self.rng.random()
            return outcome
        return None

    async def _image_body(self, job: Job) -> bytes:
        if job.outcome == "not_an_image":
            return b"<html><body><h1>403 Forbidden</h1>Request blocked.</body></html>"
        width, height = job.width, job.height
        if job.outcome == "wrong_size":
            width, height = max(1, width // 2), max(1, height // 2)
        # Seeded by the request: a request without a seed gets a picture of its own.
        seed = job.seed if job.seed is not None else job.id
        key = (job.prompt, width, height, job.fmt, job.model, seed)
        image = self._images.get(key)
        if image is None:
            # Encoding a large image takes milliseconds: off the loop, other answers go on.
            # The render is cached as it starts, so requests for one picture arriving
            # together wait for one render instead of drawing it once each.
            image = asyncio.ensure_future(asyncio.to_thread(render_image, *key))
            if len(self._images) >= 256:
                self._images.pop(next(iter(self._images)))
            self._images[key] = image
        try:
            return await asyncio.shield(image)
        except Exception:
            self._images.pop(key, None)  # the next request draws it afresh
            raise

    async def _image_response(self, job: Job) -> HttpResponse:
        body = await self._image_body(job)
        return HttpResponse(
            200,
            body,
            [("Cache-Control", "public, max-age=3600")],
            _MIME[job.fmt],
            job=job,
            transfer_s=job.transfer_s,
            drop=job.outcome == "drop_connection",
        )

    async def _data_uri(self, job: Job) -> str:
        return (
            f"data:{_MIME[job.fmt]};base64,{base64.b64encode(await self._image_body(job)).decode()}"
        )

    async def _wait_until(self, when_ns: int, *, limit_s: float | None = None) -> None:
        delay_s = (when_ns - time.monotonic_ns()) / 1e9
        if limit_s is not None:
            delay_s = min(delay_s, limit_s)
        if delay_s > 0:
            await asyncio.sleep(delay_s)

    async def _file(self, request: HttpRequest) -> HttpResponse:
        parts = request.path.split("/")
        if len(parts) < 5:
            return json_response(404, {"detail": "Not found"})
        job = self.jobs.get(parts[3])
        if job is None or job.state(time.monotonic_ns()) != "done":
            return HttpResponse(404, b"Not Found", content_type="text/plain")
        if parts[2] == "bfl":
            expires = float(request.query.get("se", "0"))
            if request.query.get("sig") != job.signature or time.time() > expires:
                return HttpResponse(403, b"AuthenticationFailed", content_type="application/xml")
        return await self._image_response(job)

    # errors, per protocol

    def _error(
        self, protocol: str, kind: str, request: HttpRequest, job_id: str = ""
    ) -> HttpResponse:
        """The error answer of ``protocol`` for the failure ``kind``.

        Long on purpose: a table of every protocol's error bodies and headers as each
        provider documents them, not logic.
        """
        profile_key = request.credential() if request.profile.echo_credentials else None
        retry = ("Retry-After", f"{request.profile.retry_after_s:g}")
        key_text = f" {profile_key}" if profile_key else ""
        if protocol == "replicate":
            bodies = {
                # The wait is only in the text, no Retry-After header
                # (https://replicate.com/docs/topics/predictions/rate-limits).
                "rate_limited": (
                    429,
                    {
                        "detail": "Request was throttled. Your rate limit resets in "
                        f"~{request.profile.retry_after_s:g}s.",
                        "status": 429,
                    },
                ),
                "insufficient_quota": (
                    402,
                    {
                        "title": "Insufficient credit",
                        "detail": "You have insufficient credit to run this model.",
                        "status": 402,
                    },
                ),
                "server_error": (
                    500,
                    {
                        "title": "Internal Server Error",
                        "detail": f"Something went wrong.{key_text}",
                        "status": 500,
                    },
                ),
                "unauthorized": (
                    401,
                    {
                        "title": "Unauthenticated",
                        "detail": f"You did not pass a valid authentication token{key_text}",
                        "status": 401,
                    },
                ),
                "bad_request": (
                    422,
                    {
                        "title": "Input validation failed",
                        "status": 422,
                        "detail": "- input.prompt: prompt is required\n",
                        "invalid_fields": [
                            {
                                "type": "required",
                                "field": "input.prompt",
                                "description": "prompt is required",
                            }
                        ],
                    },
                ),
            }
            status, data = bodies[kind]
            headers = [
                ("ratelimit-remaining", "0" if kind == "rate_limited" else "599"),
                ("ratelimit-reset", "1"),
            ]
            return json_response(status, data, headers, "application/problem+json")
        if protocol == "openai" and kind == "insufficient_quota":
            refusal = limits.openai_insufficient_quota()
            return json_response(
                refusal.status, refusal.body, [("x-request-id", job_id or _openai_request_id())]
            )
        if protocol == "openai":
            bodies = {
                "rate_limited": (
                    429,
                    "Rate limit reached for images per minute. Please try again later.",
                    "requests",
                    "rate_limit_exceeded",
                ),
                "server_error": (
                    500,
                    f"The server had an error processing your request.{key_text}",
                    "server_error",
                    None,
                ),
                "unauthorized": (
                    401,
                    f"Incorrect API key provided:{key_text or ' (none)'}. You can find your "
                    "API key at https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
                "bad_request": (
                    400,
                    "Invalid value for 'size'.",
                    "invalid_request_error",
                    "invalid_value",
                ),
                "moderated": (
                    400,
                    "Your request was rejected by the safety system. "
                    "If you believe this is an error, contact us.",
                    "image_generation_user_error",
                    "moderation_blocked",
                ),
            }
            status, message, kind_type, code = bodies[kind]
            error = {"message": message, "type": kind_type, "param": None, "code": code}
            if kind == "moderated":
                error["moderation_details"] = {
                    "moderation_stage": "output",
                    "categories": ["sexual"],
                }
            headers = [("x-request-id", job_id or _openai_request_id())]
            if kind == "rate_limited":
                headers += [
                    retry,
                    ("x-ratelimit-remaining-requests", "0"),
                    ("x-ratelimit-reset-requests", "1s"),
                ]
            return json_response(status, {"error": error}, headers)
        if protocol == "fal":
            headers = [("x-fal-request-id", job_id or str(uuid.uuid4()))]
            if kind == "insufficient_quota":
                return json_response(
                    403, {"detail": "User is locked. Reason: Exhausted balance."}, headers
                )
            if kind == "rate_limited":
                return json_response(
                    429, {"detail": "Concurrency limit exceeded"}, headers + [retry]
                )
            if kind == "server_error":
                return json_response(
                    503,
                    {
                        "detail": f"Runner disconnected{key_text}",
                        "error_type": "runner_disconnected",
                    },
                    headers + [("X-Fal-Error-Type", "runner_disconnected")],
                )
            if kind == "unauthorized":
                return json_response(
                    401,
                    {"detail": f"Invalid Key Authorization header:{key_text or ' (none)'}"},
                    headers,
                )
            if kind == "moderated":
                return json_response(
                    422,
                    {
                        "detail": [
                            {
                                "loc": ["body", "prompt"],
                                "msg": "The content could not be processed because it "
                                "contained material flagged by a content checker.",
                                "type": "content_policy_violation",
                                "url": "https://docs.fal.ai/errors#content_policy_violation",
                                "ctx": {"categories": ["sexual"]},
                            }
                        ]
                    },
                    headers,
                )
            return json_response(
                422,
                {
                    "detail": [
                        {"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}
                    ]
                },
                headers,
            )
        # bfl
        if kind == "insufficient_quota":
            return json_response(402, {"detail": "Insufficient credits"})
        if kind == "rate_limited":
            return json_response(
                429, {"detail": "You have exceeded the number of active tasks (24)."}, [retry]
            )
        if kind == "server_error":
            return json_response(500, {"detail": f"Internal Server Error{key_text}"})
        if kind == "unauthorized":
            return json_response(401, {"detail": f"Not authenticated: invalid key{key_text}"})
        return json_response(
            422,
            {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]},
        )

    def _prepare(self, request: HttpRequest, model: str) -> None:
        request.profile = self.profile.for_model(model)

    def _poll_fails(self, job: Job) -> bool:
        """Whether this status poll answers 503 (profile ``poll_error_rate``)."""
        rate = job.profile.poll_error_rate
        return rate > 0 and self.rng.random() < rate
