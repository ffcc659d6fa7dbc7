"""A loopback HTTP server that speaks Replicate, fal, BFL and OpenAI images like the real ones.

Same paths, headers, status values and JSON shapes as the real services
(docs/providers.md), real PNG/JPEG/WebP images of the requested size (the prompt's
words on a coloured background), and per-model latency and failure profiles. The
tests, the demo and the measurement-quality benchmark all run against it.

One host serves every protocol:

- Replicate  ``/v1/models/{owner}/{name}/predictions``, ``/v1/predictions[/{id}[/cancel]]``
- OpenAI     ``/v1/images/generations``, ``/v1/images/edits``, ``/v1/models``
- BFL        ``/v1/{model}``, ``/v1/get_result?id=``
- fal        ``/fal/run/{model}`` stands for ``https://fal.run/{model}`` and
             ``/fal/queue/{model}`` for ``https://queue.fal.run/{model}``
- outputs    ``/files/...`` stands for the CDNs (replicate.delivery, v3.fal.media,
             delivery.*.bfl.ai with a signed query)
- ground truth ``/_simulator/jobs``: for every job the server-side monotonic
             timestamps of the request's arrival and of the first and last byte
             of its image (the clock is shared with clients on the same machine).

Requests the real provider would refuse are refused with its status code and
error body, per model family (``bench.simulator_limits``, written from the
providers' documents, never from our catalog); ids of no known family are lenient.
A profile (JSON) gives each model lognormal queue, processing and transfer
delays and a failure mix; see ``Profile``. No key is needed unless the profile
sets ``require_key``. The server is a small asyncio HTTP/1.1 implementation, so
that it stays cheap enough not to distort what it serves.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import logging
import math
import random
import re
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench import simulator_limits as limits
from bench.wire import Connection, TLSConnection, enable_kernel_stamps
from leaderboard.sizes import SizeError, dimensions_for

logger = logging.getLogger("bench.simulator")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
FAILURE_KINDS = (
    "rate_limited",  # 429 with Retry-After on the create call
    "server_error",  # 5xx on the create call
    "unauthorized",  # 401 on the create call, echoing the credential as OpenAI does
    "bad_request",  # 422/400 input validation error
    "moderated",  # the provider's own moderation failure, after processing
    "timeout",  # never finishes (queue protocols) or holds the connection (sync)
    "not_an_image",  # the output bytes are an HTML page
    "wrong_size",  # the output image has half the requested sides
    "drop_connection",  # the connection is cut halfway through the image
    "insufficient_quota",  # billing exhausted: OpenAI 429 insufficient_quota, others 402/403
)
DEFAULT_PROFILE = {
    "seed": 1,
    "default": {
        "queue_ms": {"median": 150, "sigma": 0.5},
        "processing_ms": {"median": 600, "sigma": 0.3},
        "transfer_ms": {"median": 10, "sigma": 0.3},
        "failures": {"rate_limited": 0.02, "server_error": 0.02, "moderated": 0.01},
        "retry_after_s": 1,
    },
    "models": {},
}
_MAX_SIDE = 4096
_MAX_HEADER_BYTES = 64 * 1024
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXT = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_BFL_RESERVED = {"get_result", "credits", "models", "predictions", "images", "deployments"}
_FAL_PRESETS = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}


# --- profiles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delay:
    """A lognormal delay: ``median_ms * exp(sigma * Z)`` with Z standard normal."""

    median_ms: float = 0.0
    sigma: float = 0.0

    @classmethod
    def from_json(cls, value) -> Delay:
        if isinstance(value, int | float):
            return cls(float(value), 0.0)
        return cls(float(value.get("median", 0.0)), float(value.get("sigma", 0.0)))

    def sample_s(self, rng: random.Random) -> float:
        """One draw, in seconds."""
        if self.median_ms <= 0:
            return 0.0
        return self.median_ms * math.exp(self.sigma * rng.gauss(0.0, 1.0)) / 1000


@dataclass(frozen=True)
class ModelProfile:
    """Latency and failure behaviour of one simulated model.

    ``failures`` maps a kind of ``FAILURE_KINDS`` to its probability per request.
    ``inline`` answers with the image inside the body (Replicate data URI, fal
    sync_mode, OpenAI b64_json always is). ``echo_credentials`` puts the caller's key
    in error bodies, as misbehaving gateways do, so tests can prove it never leaks.
    """

    queue: Delay = Delay()
    processing: Delay = Delay()
    transfer: Delay = Delay()
    failures: tuple[tuple[str, float], ...] = ()
    retry_after_s: float = 1.0
    hang_s: float = 600.0
    inline: bool = False
    echo_credentials: bool = False
    poll_error_rate: float = 0.0  # chance that a status poll answers 503 (the job runs on)

    @classmethod
    def from_json(cls, data: dict, base: ModelProfile | None = None) -> ModelProfile:
        base = base or cls()
        failures = dict(base.failures)
        if "failures" in data:
            failures = {}
            for kind, probability in data["failures"].items():
                if kind not in FAILURE_KINDS:
                    raise ValueError(f"unknown failure kind {kind!r} (known: {FAILURE_KINDS})")
                failures[kind] = float(probability)
        return cls(
            queue=Delay.from_json(data["queue_ms"]) if "queue_ms" in data else base.queue,
            processing=(
                Delay.from_json(data["processing_ms"])
                if "processing_ms" in data
                else base.processing
            ),
            transfer=(
                Delay.from_json(data["transfer_ms"]) if "transfer_ms" in data else base.transfer
            ),
            failures=tuple(failures.items()),
            retry_after_s=float(data.get("retry_after_s", base.retry_after_s)),
            hang_s=float(data.get("hang_s", base.hang_s)),
            inline=bool(data.get("inline", base.inline)),
            echo_credentials=bool(data.get("echo_credentials", base.echo_credentials)),
            poll_error_rate=float(data.get("poll_error_rate", base.poll_error_rate)),
        )

    def draw_outcome(self, rng: random.Random) -> str:
        """``ok`` or one failure kind, drawn with the profile's probabilities."""
        roll = rng.random()
        for kind, probability in self.failures:
            if roll < probability:
                return kind
            roll -= probability
        return "ok"


class Profile:
    """Per-model behaviour of the simulator, from JSON::

        {"seed": 1,
         "require_key": null,
         "default": {"queue_ms": {"median": 300, "sigma": 0.5},
                     "processing_ms": {"median": 1500, "sigma": 0.3},
                     "transfer_ms": 20,
                     "failures": {"rate_limited": 0.02, "server_error": 0.01},
                     "retry_after_s": 1},
         "models": {"sim/flaky": {"failures": {"server_error": 0.5}}}}

    A model entry overrides the default key by key; models are matched by their
    full id, then by ``owner/alias`` (fal edit subpaths), then fall back to default.
    """

    def __init__(self, data: dict | None = None) -> None:
        data = DEFAULT_PROFILE if data is None else data
        self.seed = data.get("seed", 1)
        self.require_key = data.get("require_key")
        self.default = ModelProfile.from_json(data.get("default", {}))
        self.models = {
            model_id: ModelProfile.from_json(entry, self.default)
            for model_id, entry in data.get("models", {}).items()
        }

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a profile from a JSON file."""
        return cls(json.loads(Path(path).read_text()))

    def for_model(self, model_id: str) -> ModelProfile:
        if model_id in self.models:
            return self.models[model_id]
        app_id = "/".join(model_id.split("/")[:2])
        return self.models.get(app_id, self.default)


# --- images -----------------------------------------------------------------------------


def render_image(
    text: str,
    width: int,
    height: int,
    fmt: str = "PNG",
    variant: str = "",
    seed: int | str | None = None,
) -> bytes:
    """A real image of ``width`` x ``height`` pixels: ``text`` over a seeded composition.

    Colours and shapes come from the hash of (``seed``, ``variant``, ``text``): every
    request seed draws a different picture, and ``variant`` (the model id, never
    drawn) makes two models' answers to one seeded prompt differ. No colour belongs to
    a model. Without a seed each call draws a fresh picture, as providers do.
    """
    from PIL import Image, ImageDraw, ImageFont

    if seed is None:
        seed = secrets.token_hex(8)
    rng = random.Random(hashlib.sha256(f"{seed}\n{variant}\n{text}".encode()).digest())
    background = tuple(rng.randrange(40, 200) for _ in range(3))
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 8)):
        x, y = rng.randrange(width), rng.randrange(height)
        r = max(1, rng.randint(min(width, height) // 10, max(1, min(width, height) // 3)))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    size = max(8, min(width, height) // 14)
    font = ImageFont.load_default(size=size)
    words, lines, line = text.split(), [], ""
    per_line = max(4, int(width / (size * 0.55)))
    for word in words:
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    y = size // 2
    for line in lines[: max(1, height // (size + 4))]:
        draw.text((size // 2, y), line, fill=(255, 255, 255), font=font)
        y += size + 4
    out = io.BytesIO()
    options = {"quality": 85} if fmt in ("JPEG", "WEBP") else {"compress_level": 1}
    image.save(out, format=fmt, **options)
    return out.getvalue()


# --- jobs -------------------------------------------------------------------------------


@dataclass
class Job:
    """One simulated generation and its ground truth (monotonic nanoseconds)."""

    id: str
    protocol: str
    model: str
    prompt: str
    width: int
    height: int
    fmt: str
    outcome: str
    received_ns: int
    created_at: datetime
    queue_s: float
    processing_s: float
    transfer_s: float
    seed: int | None = None
    references: int = 0
    profile: ModelProfile = field(default_factory=ModelProfile, repr=False)
    signature: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    inline: bool = False
    canceled: bool = False
    refusal: limits.Refusal | None = None  # a fal job whose input the schema refused
    first_byte_ns: int | None = None
    last_byte_ns: int | None = None

    @property
    def start_ns(self) -> int:
        return self.received_ns + int(self.queue_s * 1e9)

    @property
    def done_ns(self) -> int:
        if self.outcome == "timeout":
            return self.received_ns + int(1e15)
        return self.start_ns + int(self.processing_s * 1e9)

    def state(self, now_ns: int) -> str:
        """``queued``, ``processing``, ``done`` or ``canceled`` at ``now_ns``."""
        if self.canceled:
            return "canceled"
        if now_ns < self.start_ns:
            return "queued"
        if now_ns < self.done_ns:
            return "processing"
        return "done"

    def wall(self, offset_s: float) -> str:
        moment = self.created_at + timedelta(seconds=offset_s)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def truth(self) -> dict:
        """Ground truth for the measurement-quality benchmark."""
        return {
            "id": self.id,
            "protocol": self.protocol,
            "model": self.model,
            "outcome": self.outcome,
            "received_ns": self.received_ns,
            "first_byte_ns": self.first_byte_ns,
            "last_byte_ns": self.last_byte_ns,
            "queue_ms": self.queue_s * 1000,
            "processing_ms": self.processing_s * 1000,
            "transfer_ms": self.transfer_s * 1000,
            "width": self.width,
            "height": self.height,
        }


# --- HTTP plumbing ----------------------------------------------------------------------


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_ns: int
    scheme: str = "http"
    profile: ModelProfile = field(default_factory=ModelProfile)

    @property
    def base_url(self) -> str:
        """Where the client reached us: absolute URLs in answers (outputs, polls) use it."""
        return f"{self.scheme}://{self.headers.get('host', f'{DEFAULT_HOST}:{DEFAULT_PORT}')}"

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def credential(self) -> str | None:
        """The key the caller presented (Bearer, Key, Token or x-key), if any."""
        if "x-key" in self.headers:
            return self.headers["x-key"]
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value.strip() or (scheme.strip() or None)


@dataclass
class HttpResponse:
    """What to send; ``job`` gets the image's first/last byte stamps when the body carries it."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"
    job: Job | None = None
    transfer_s: float = 0.0
    drop: bool = False


def json_response(status: int, data, headers=(), content_type="application/json", **kw):
    body = json.dumps(data, separators=(",", ":")).encode()
    return HttpResponse(status, body, list(headers), content_type, **kw)


class _Session:
    """One client connection: read requests, answer them in order, stamp the image bytes."""

    def __init__(self, simulator: Simulator, connection: Connection | TLSConnection) -> None:
        self.simulator = simulator
        self.connection = connection
        self.buffer = bytearray()

    async def serve(self) -> None:
        try:
            while True:
                request = self._parse()
                if request is None:
                    data = await self.connection.recv()
                    if not data:
                        return
                    self.buffer += data
                    continue
                response = await self._answer(request)
                if response is None:
                    return
                if not await self._write(response):
                    return
                if request.headers.get("connection", "").lower() == "close":
                    return
        except ValueError:
            with contextlib.suppress(OSError):
                await self.connection.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        except (OSError, ssl.SSLError):
            pass
        finally:
            self.connection.close()

    async def _answer(self, request: HttpRequest) -> HttpResponse | None:
        """The handler's response, or None when the client hung up while it was waiting."""
        handler = asyncio.ensure_future(self.simulator.handle(request))
        watcher = asyncio.ensure_future(self.connection.wait_closed_by_peer())
        try:
            await asyncio.wait([handler, watcher], return_when=asyncio.FIRST_COMPLETED)
            if handler.done():
                try:
                    return handler.result()
                except Exception:
                    logger.exception("simulator error on %s %s", request.method, request.path)
                    return json_response(500, {"detail": "simulator error"})
            if watcher.result():
                return None
            return await handler
        finally:
            # Wait for the watcher to unregister its reader before this connection reads
            # again: a late removal would silently drop the next read's registration.
            watcher.cancel()
            if not handler.done():
                handler.cancel()
            await asyncio.gather(watcher, handler, return_exceptions=True)

    def _parse(self) -> HttpRequest | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > _MAX_HEADER_BYTES:
                raise ValueError("header too large")
            return None
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ", 2)
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, consumed = _dechunk(self.buffer, start)
            if body is None:
                return None
            del self.buffer[:consumed]
        else:
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < start + length:
                return None
            body = bytes(self.buffer[start : start + length])
            del self.buffer[: start + length]
        parts = urlsplit(target)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        # The kernel's arrival time of the read that completed the request: the truth.
        received_ns = self.connection.last_read_ns or time.monotonic_ns()
        scheme = "https" if isinstance(self.connection, TLSConnection) else "http"
        return HttpRequest(method, parts.path, query, headers, body, received_ns, scheme)

    async def _write(self, response: HttpResponse) -> bool:
        body = response.body
        lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Status')}"]
        lines.append(f"Content-Type: {response.content_type}")
        lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        job = response.job
        cut = len(body) // 2 if (response.transfer_s > 0 or response.drop) else len(body)
        await self.connection.send(head + body[:cut])
        if job is not None:
            job.first_byte_ns = self.connection.last_write_ns
        if response.transfer_s > 0:
            await asyncio.sleep(response.transfer_s)
        if response.drop:
            self.connection.abort()
            return False
        if cut < len(body):
            await self.connection.send(body[cut:])
        if job is not None:
            job.last_byte_ns = time.monotonic_ns()
        return True


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes | None, int]:
    body, position = bytearray(), start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None, 0
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        chunk_start = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", chunk_start)
            if trailer_end < 0:
                return None, 0
            return bytes(body), trailer_end + 2
        if len(buffer) < chunk_start + size + 2:
            return None, 0
        body += buffer[chunk_start : chunk_start + size]
        position = chunk_start + size + 2


# --- the simulator ----------------------------------------------------------------------


class Simulator:
    """The protocol logic: jobs, routing and per-protocol answers (see the module docstring)."""

    def __init__(self, profile: Profile | dict | None = None) -> None:
        self.profile = profile if isinstance(profile, Profile) else Profile(profile)
        self.rng = random.Random(self.profile.seed)
        self.jobs: dict[str, Job] = {}
        self._images: dict[tuple, bytes] = {}
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
            image = await asyncio.to_thread(render_image, *key)
            if len(self._images) >= 256:
                self._images.pop(next(iter(self._images)))
            self._images[key] = image
        return image

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
        width, height = limits.replicate_output_size(data, _replicate_size(data))
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
        width, height = _fal_size(data)
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

    # OpenAI

    async def _openai(self, request: HttpRequest) -> HttpResponse:
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


def _refusal_response(refusal: limits.Refusal, headers=()) -> HttpResponse:
    return json_response(refusal.status, refusal.body, headers, refusal.content_type)


def _replicate_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def _openai_request_id() -> str:
    return "req_" + secrets.token_hex(16)


def _clamp(side: int) -> int:
    return max(16, min(_MAX_SIDE, int(side)))


def _replicate_size(data: dict) -> tuple[int, int]:
    ratio = str(data.get("aspect_ratio") or "1:1")
    if ratio == "custom":
        return _clamp(data.get("width") or 1024), _clamp(data.get("height") or 1024)
    if ratio == "match_input_image":
        ratio = "1:1"
    return _by_ratio(ratio, str(data.get("resolution") or "1 MP"))


def _fal_size(data: dict) -> tuple[int, int]:
    size = data.get("image_size")
    if isinstance(size, dict):
        return _clamp(size.get("width") or 1024), _clamp(size.get("height") or 1024)
    if isinstance(size, str) and size in _FAL_PRESETS:
        return _FAL_PRESETS[size]
    if data.get("aspect_ratio") or data.get("resolution"):
        ratio = str(data.get("aspect_ratio") or "1:1")
        return _by_ratio("1:1" if ratio == "auto" else ratio, str(data.get("resolution") or "1K"))
    return _FAL_PRESETS["landscape_4_3"]


def _by_ratio(ratio: str, tier: str) -> tuple[int, int]:
    try:
        width, height = dimensions_for(ratio, tier)
    except SizeError:
        width, height = 1024, 1024
    return _clamp(width), _clamp(height)


def _parse_multipart(request: HttpRequest) -> tuple[dict, list[bytes]]:
    match = re.search(r'boundary="?([^";]+)"?', request.headers.get("content-type", ""))
    if not match:
        return {}, []
    boundary = b"--" + match[1].encode()
    fields: dict = {}
    images: list[bytes] = []
    for part in request.body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.strip(b"\r\n").partition(b"\r\n\r\n")
        disposition = re.search(rb'name="([^"]*)"', head)
        if not disposition:
            continue
        name = disposition[1].decode()
        if b"filename=" in head:
            images.append(content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, images


# --- running ----------------------------------------------------------------------------


class SimulatorServer:
    """A simulator listening on a port of the running loop; ``base_url`` once started.

    With ``ssl_context`` it serves HTTPS (for clients that insist on it).
    """

    def __init__(
        self,
        profile: Profile | dict | None = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.simulator = Simulator(profile)
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task | None = None
        self._sessions: set[asyncio.Task] = set()

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        listener = socket.create_server((self.host, self.port), backlog=1024, reuse_port=False)
        enable_kernel_stamps(listener)
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accepting = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(self._listener)
            task = loop.create_task(self._session(sock))
            self._sessions.add(task)
            task.add_done_callback(self._sessions.discard)

    async def _session(self, sock: socket.socket) -> None:
        connection: Connection | TLSConnection = Connection(sock)
        if self.ssl_context is not None:
            connection = TLSConnection(connection, self.ssl_context, server_side=True)
            try:
                await connection.handshake()
            except (OSError, ssl.SSLError):
                connection.close()
                return
        await _Session(self.simulator, connection).serve()

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._accepting is not None:
            await asyncio.gather(self._accepting, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()


class SimulatorThread:
    """A simulator serving from a background thread; use as a context manager.

    ``base_url`` and ``simulator`` (its jobs are the ground truth) are available
    inside the ``with`` block.
    """

    def __init__(
        self,
        port: int = 0,
        profile: Profile | dict | str | Path | None = None,
        host: str = DEFAULT_HOST,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if isinstance(profile, str | Path):
            profile = Profile.load(profile)
        self.server = SimulatorServer(profile, host, port, ssl_context)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def simulator(self) -> Simulator:
        return self.server.simulator

    def __enter__(self) -> SimulatorThread:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as error:  # reported to the caller below
                errors.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="bench-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)


@contextlib.contextmanager
def serve_in_thread(
    port: int = 0,
    profile: Profile | dict | str | Path | None = None,
    host: str = DEFAULT_HOST,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[str]:
    """Run the simulator in a background thread; yields its base URL (``http://127.0.0.1:P``).

    ``port=0`` picks a free port. ``profile`` is a ``Profile``, its JSON dict, or a
    path to a JSON file; None is ``DEFAULT_PROFILE`` (sub-second delays, a few
    percent of 429s, 5xx and moderation). The server stops when the block exits. With
    ``ssl_context`` it serves HTTPS.
    """
    with SimulatorThread(port=port, profile=profile, host=host, ssl_context=ssl_context) as running:
        yield running.base_url


async def serve_forever(
    port: int = DEFAULT_PORT,
    profile=None,
    host: str = DEFAULT_HOST,
    ready=None,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Serve until cancelled (``python -m bench simulate``); ``ready(base_url)`` once listening."""
    if isinstance(profile, str | Path):
        profile = Profile.load(profile)
    server = SimulatorServer(profile, host, port, ssl_context)
    await server.start()
    if ready is not None:
        ready(server.base_url)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def server_ssl_context(cert_file: str | Path, key_file: str | Path) -> ssl.SSLContext:
    """A TLS server context from PEM files, for clients that only speak HTTPS."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
