"""HTTP plumbing: a small asyncio HTTP/1.1 request/response layer, multipart and refusals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from bench import simulator_limits as limits
from bench.simulator.jobs import Job
from bench.simulator.profiles import ModelProfile
from bench.wire import Connection, TLSConnection

if TYPE_CHECKING:
    from bench.simulator.core import Simulator


logger = logging.getLogger("bench.simulator")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_MAX_HEADER_BYTES = 64 * 1024
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


def _refusal_response(refusal: limits.Refusal, headers=()) -> HttpResponse:
    return json_response(refusal.status, refusal.body, headers, refusal.content_type)


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
