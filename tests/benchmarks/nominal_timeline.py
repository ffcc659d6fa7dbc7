"""Nominal-timeline benchmark: the runner's timing errors against a timeline fixed in advance.

    python -m tests.benchmarks.nominal_timeline [--quick] [--json] [--database-url URL]

Not a test: it prints figures. A server in a child process (pinned to its own core
when there are two) speaks Replicate's protocol with delays fixed from the moment
each request was sent: the create POST (``Prefer: wait``) answers ``post_ms`` after
it was sent (300 ms, spread uniformly over +-``spread_ms``/2 so that concurrent
requests do not move in lockstep), the image's first byte leaves 50 ms after its
GET was sent and the rest 100 ms later. "Sent" is the kernel's arrival stamp of
the request (``SO_TIMESTAMPNS``): on loopback the kernel delivers the segment inside
the client's ``send()`` call, so it is the client's send time on the same clock,
and no header is needed that would only be written later than the stamp.

The nominal TTFB of a sample is therefore ``post_ms + 50`` and its nominal
generation time ``post_ms + 150``, whatever happened on the way. A follow-up GET
that leaves late because the runner's event loop was decoding or storing other
images shows up as error here, where server-stamped ground truth (the other
benchmark) hides it: the server's clock only starts when the late GET arrives.

For every sample we print the error against that timeline twice: as measured, and
with the server's own lateness removed (the server records when it meant to write
each answer and when it did; its wake-ups are ~0.5 ms late on an idle machine,
far more on a busy one). "GET lag" is how long after the POST's answer left the
server the GET arrived: the runner's reaction time, the figure the issue was about.
The runner itself is the product's (lock, database, image files, and its child
process that decodes and stores, ``bench.offloop``),
with its first requests spread over one nominal request time (``ramp_s``): with
fixed delays, workers that start together stay in lockstep for ever, and every
round ends in a burst of simultaneous answers that the last ones wait out (at
concurrency 200 that wait is most of a second). Real delays are spread; ``--ramp-s 0``
shows the lockstep case.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.config import REPO_ROOT
from bench.runner import run_benchmark_async
from bench.store import Store
from bench.suites import Suite
from bench.wire import Connection, enable_kernel_stamps
from tests.benchmarks.harness import seed_catalog
from tests.benchmarks.measurement_quality import (
    _machine_noise,
    _migrated_database,
    _noise_line,
    _pin,
    _quantile,
)

POST_MS, FIRST_BYTE_MS, REST_MS = 300.0, 50.0, 100.0
MODEL = "nominal/flux"
FIRST_CHUNK_BYTES = 1024
TARGETS = {20: (2.0, 5.0), 200: (None, 10.0)}  # concurrency: (median, p99) ms


# --- the server -----------------------------------------------------------------------


class NominalServer:
    """Replicate's create/GET protocol on a fixed schedule; records what it meant and did."""

    def __init__(self, spread_ms: float, image: bytes, post_ms: float = POST_MS, seed: int = 7):
        self.spread_ms, self.post_ms = spread_ms, post_ms
        self.image = image
        self.rng = random.Random(seed)
        self.jobs: dict[str, dict] = {}
        self.base_url = ""

    async def serve(self, port: int, ready) -> None:
        listener = socket.create_server(("127.0.0.1", port), backlog=2048)
        enable_kernel_stamps(listener)
        listener.setblocking(False)
        self.base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        ready(self.base_url)
        loop = asyncio.get_running_loop()
        sessions = set()
        while True:
            sock, _ = await loop.sock_accept(listener)
            task = loop.create_task(self._session(Connection(sock)))
            sessions.add(task)
            task.add_done_callback(sessions.discard)

    async def _session(self, connection: Connection) -> None:
        buffer = bytearray()
        try:
            while True:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    data = await connection.recv()
                    if not data:
                        return
                    buffer += data
                    continue
                head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
                length = 0
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if len(buffer) < end + 4 + length:
                    data = await connection.recv()
                    if not data:
                        return
                    buffer += data
                    continue
                del buffer[: end + 4 + length]
                # The kernel's arrival stamp of the read that completed the request.
                received_ns = connection.last_read_ns or time.monotonic_ns()
                method, target, _ = head[0].split(" ", 2)
                await self._answer(connection, method, target, received_ns)
        except OSError:
            pass
        finally:
            connection.close()

    async def _answer(self, connection: Connection, method: str, target: str, received_ns: int):
        if method == "POST" and target.endswith("/predictions"):
            delay_ms = self.post_ms + self.rng.uniform(-self.spread_ms / 2, self.spread_ms / 2)
            job_id = f"n{len(self.jobs):07d}"
            job = self.jobs[job_id] = {
                "id": job_id,
                "post_ms": delay_ms,
                "post_received_ns": received_ns,
                "post_due_ns": received_ns + int(delay_ms * 1e6),
            }
            await _sleep_until(job["post_due_ns"])
            body = json.dumps(self._prediction(job_id)).encode()
            await connection.send(_head(201, "application/json", len(body)) + body)
            job["post_written_ns"] = connection.last_write_ns
        elif method == "GET" and target.startswith("/files/"):
            job = self.jobs[target.rsplit("/", 1)[1].split(".")[0]]
            job["get_received_ns"] = received_ns
            # A JPEG comment with the job id makes every image (and its file) distinct.
            image = self.image[:2] + _jpeg_comment(job["id"]) + self.image[2:]
            job["first_due_ns"] = received_ns + int(FIRST_BYTE_MS * 1e6)
            job["last_due_ns"] = received_ns + int((FIRST_BYTE_MS + REST_MS) * 1e6)
            await _sleep_until(job["first_due_ns"])
            head = _head(200, "image/jpeg", len(image))
            await connection.send(head + image[:FIRST_CHUNK_BYTES])
            job["first_written_ns"] = connection.last_write_ns
            await _sleep_until(job["last_due_ns"])
            await connection.send(image[FIRST_CHUNK_BYTES:])
            job["last_written_ns"] = connection.last_write_ns
        elif target == "/_nominal/jobs":
            body = json.dumps({"jobs": list(self.jobs.values())}).encode()
            await connection.send(_head(200, "application/json", len(body)) + body)
        else:
            await connection.send(_head(404, "application/json", 2) + b"{}")

    def _prediction(self, job_id: str) -> dict:
        # Replicate's prediction object (https://replicate.com/docs/reference/http).
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return {
            "id": job_id,
            "model": MODEL,
            "version": "hidden",
            "input": {},
            "logs": "",
            "output": f"{self.base_url}/files/{job_id}.jpg",
            "data_removed": False,
            "error": None,
            "status": "succeeded",
            "created_at": now,
            "started_at": now,
            "completed_at": now,
            "urls": {
                "get": f"{self.base_url}/v1/predictions/{job_id}",
                "cancel": f"{self.base_url}/v1/predictions/{job_id}/cancel",
            },
            "metrics": {"predict_time": 0.3},
        }


async def _sleep_until(due_ns: int) -> None:
    remaining_s = (due_ns - time.monotonic_ns()) / 1e9
    if remaining_s > 0:
        await asyncio.sleep(remaining_s)


def _head(status: int, content_type: str, length: int) -> bytes:
    reason = {200: "OK", 201: "Created", 404: "Not Found"}[status]
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode("latin-1")


def _jpeg_comment(text: str) -> bytes:
    payload = text.encode()
    return b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload


def _render_jpeg(side: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (side, side), (40, 90, 160))
    draw = ImageDraw.Draw(image)
    for index in range(0, side, 16):
        draw.line([(index, 0), (side - index, side)], fill=(index % 255, 200, 90), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def _serve_main(port: int, spread_ms: float, side: int, post_ms: float = POST_MS) -> None:
    _pin(1)
    server = NominalServer(spread_ms, _render_jpeg(side), post_ms)
    # epoll (asyncio's default) waits in whole milliseconds rounded up, so timers fire up
    # to 1 ms late; select() takes microseconds (and a few hundred sockets are fine).
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    loop.run_until_complete(
        server.serve(port, lambda url: print(f"nominal server on {url}", flush=True))
    )


class _server:
    """The nominal server in a child process; yields its base URL."""

    def __init__(self, spread_ms: float, side: int, post_ms: float = POST_MS) -> None:
        self.spread_ms, self.side, self.post_ms = spread_ms, side, post_ms

    def __enter__(self) -> str:
        code = (
            "import sys; from tests.benchmarks.nominal_timeline import _serve_main; "
            f"_serve_main(0, {self.spread_ms!r}, {self.side!r}, {self.post_ms!r})"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
        )
        return self.process.stdout.readline().split(" on ")[1].strip()

    def __exit__(self, *exc) -> None:
        self.process.kill()
        self.process.wait()


# --- the measurement -----------------------------------------------------------------


async def _measure(
    database_url, media_root, base_url, concurrency, requests, side, ramp_s=0.0
) -> dict:
    loop_cpu_s, process_cpu_s = time.thread_time(), time.process_time()
    # The runner's decoding and storing child has been waited for when the run returns.
    children_cpu_s = _children_cpu_s()
    summary = await run_benchmark_async(
        database_url,
        media_root,
        suite=Suite("nominal", f"{side}x{side} JPEG", size=f"{side}x{side}"),
        offerings=["nominal/nominal-flux"],
        repeat=requests,
        concurrency=concurrency,
        base_url_overrides={"nominal": base_url},
        ramp_s=ramp_s,
    )
    loop_cpu_s = time.thread_time() - loop_cpu_s
    other_cpu_s = time.process_time() - process_cpu_s - loop_cpu_s
    other_cpu_s += _children_cpu_s() - children_cpu_s
    async with httpx.AsyncClient(timeout=60) as client:
        jobs = {
            job["id"]: job for job in (await client.get(f"{base_url}/_nominal/jobs")).json()["jobs"]
        }
    store = Store(database_url)
    s = store.sample
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(s.c.provider_request_id, s.c.status, s.c.ttfb_ms, s.c.generation_ms).where(
                s.c.run_id == summary.run_id
            )
        ).all()
    store.close()
    figures: dict[str, list[float]] = {
        key: []
        for key in ("ttfb", "generation", "ttfb_net", "generation_net", "get_lag", "server_late")
    }
    for row in rows:
        job = jobs.get(row.provider_request_id)
        if row.status != "ok" or job is None or "last_written_ns" not in job:
            continue
        post_late = (job["post_written_ns"] - job["post_due_ns"]) / 1e6
        first_late = (job["first_written_ns"] - job["first_due_ns"]) / 1e6
        last_late = (job["last_written_ns"] - job["last_due_ns"]) / 1e6
        ttfb_error = row.ttfb_ms - (job["post_ms"] + FIRST_BYTE_MS)
        generation_error = row.generation_ms - (job["post_ms"] + FIRST_BYTE_MS + REST_MS)
        figures["ttfb"].append(ttfb_error)
        figures["generation"].append(generation_error)
        figures["ttfb_net"].append(ttfb_error - post_late - first_late)
        figures["generation_net"].append(generation_error - post_late - last_late)
        figures["get_lag"].append((job["get_received_ns"] - job["post_written_ns"]) / 1e6)
        figures["server_late"].append(max(post_late, first_late, last_late))
    return {
        "concurrency": concurrency,
        "samples": len(rows),
        "ok": len(figures["ttfb"]),
        "elapsed_s": round(summary.elapsed_s, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        # CPU per request: the event loop's thread, and the rest (other threads, the child).
        "loop_cpu_ms": round(loop_cpu_s * 1000 / max(1, len(rows)), 3),
        "other_cpu_ms": round(other_cpu_s * 1000 / max(1, len(rows)), 3),
        **{f"{key}_ms": _figures(values) for key, values in figures.items()},
    }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _figures(values: list[float]) -> dict:
    if not values:
        return {}
    absolute = sorted(abs(value) for value in values)
    return {
        "p50_abs": round(_quantile(absolute, 0.5), 3),
        "p99_abs": round(_quantile(absolute, 0.99), 3),
        "max_abs": round(absolute[-1], 3),
        "mean": round(sum(values) / len(values), 3),
    }


def _line(result: dict) -> str:
    def part(label: str, key: str) -> str:
        f = result[f"{key}_ms"]
        return f"{label} p50 {f['p50_abs']:.2f} p99 {f['p99_abs']:.2f} max {f['max_abs']:.2f}"

    verdict = ""
    median_target, p99_target = TARGETS.get(result["concurrency"], (None, None))
    if p99_target is not None and result["ttfb_ms"]:
        worst_p99 = max(result["ttfb_ms"]["p99_abs"], result["generation_ms"]["p99_abs"])
        worst_p50 = max(result["ttfb_ms"]["p50_abs"], result["generation_ms"]["p50_abs"])
        met = worst_p99 < p99_target and (median_target is None or worst_p50 < median_target)
        verdict = f" | target {'met' if met else 'MISSED'}"
    return (
        f"concurrency {result['concurrency']:>3}: {result['ok']}/{result['samples']} ok in "
        f"{result['elapsed_s']} s, load {result['load_average_1min']}, CPU per request "
        f"{result['loop_cpu_ms']} ms on the loop + {result['other_cpu_ms']} ms off it | error ms: "
        f"{part('TTFB', 'ttfb')}; {part('generation', 'generation')} | without server "
        f"lateness: {part('TTFB', 'ttfb_net')}; {part('generation', 'generation_net')} | "
        f"{part('GET lag', 'get_lag')}; {part('server late', 'server_late')}{verdict}"
    )


def _seed(database_url: str, base_url: str) -> None:
    """A ``nominal`` provider with one Replicate offering and one challenge."""
    seed_catalog(
        database_url,
        base_url,
        provider="nominal",
        challenge="nominal",
        prompt="A photo on a fixed timeline",
        offerings=[("nominal-flux", "replicate", MODEL)],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.nominal_timeline", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--post-ms", type=float, default=POST_MS, help="POST answer delay")
    parser.add_argument("--spread-ms", type=float, default=100.0, help="POST delay spread")
    parser.add_argument(
        "--ramp-s",
        type=float,
        help="spread the runner's first requests over this many seconds "
        "(default: one nominal request time; 0: all leave together, in lockstep)",
    )
    parser.add_argument("--side", type=int, default=512, help="image side in pixels")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 20, 200], help="levels to run"
    )
    parser.add_argument(
        "--database-url",
        help="an empty migrated database (default: a throw-away SQLite file); "
        "PostgreSQL: postgresql+psycopg://...",
    )
    args = parser.parse_args(argv)
    scale = 0.25 if args.quick else 1.0
    _pin(0)
    with tempfile.TemporaryDirectory(prefix="pairwise-nominal-") as folder:
        folder = Path(folder)
        database_url = args.database_url or _migrated_database(folder / "nominal.sqlite3")
        report = {
            "machine": _machine_noise(),
            "post_ms": args.post_ms,
            "spread_ms": args.spread_ms,
            "levels": [],
        }
        if not args.json:
            print(_noise_line(report["machine"]), flush=True)
        if not args.json:
            print(
                f"timeline: POST answered {args.post_ms:g} +- {args.spread_ms / 2:g} ms after "
                f"it was sent, image first byte {FIRST_BYTE_MS:g} ms after its GET, the rest "
                f"{REST_MS:g} ms later; {args.side}x{args.side} JPEG",
                flush=True,
            )
        with _server(args.spread_ms, args.side, args.post_ms) as base_url:
            _seed(database_url, base_url)
            for concurrency in args.concurrency:
                # About ten seconds of traffic per level.
                per_request_s = (args.post_ms + FIRST_BYTE_MS + REST_MS) / 1000
                requests = max(20, int(max(40, 10 * concurrency / per_request_s) * scale))
                result = asyncio.run(
                    _measure(
                        database_url,
                        folder / "media",
                        base_url,
                        concurrency,
                        requests,
                        args.side,
                        per_request_s if args.ramp_s is None else args.ramp_s,
                    )
                )
                report["levels"].append(result)
                if not args.json:
                    print(_line(result), flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
