"""What the runnable benchmarks share: a throwaway production-like site, load, reports.

- a site: `site_environment` (DEBUG=0 and production middleware, its own database and
  folders, plain HTTP on loopback), `manage` to build it, `gunicorn` to serve it on a
  free port until the block ends;
- load: `get_load` (plain GETs over raw sockets, the cheapest client) and
  `solve_challenge` (a voter identity's proof of work, as arena.js sends it);
- reports: `percentile` (bench.stats' one definition), `pin_to_cpu`, `load_average`;
- a catalog for the runner benchmarks: `migrated_sqlite`, `seed_catalog`.

Nothing here is part of the product; `python -m tests.benchmarks.<name>` runs each script.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.config import REPO_ROOT
from bench.stats import percentile
from tests.servers import free_port, site_environment

# Re-exported: reports use the product's one percentile, sites the tests' one environment.
__all__ = ["free_port", "percentile", "site_environment"]

REPO = Path(REPO_ROOT)
PYTHON = sys.executable
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def pin_to_cpu(cpu: int) -> None:
    """Pin this process to one CPU when there are at least two (Linux only)."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu})


@contextmanager
def work_directory(prefix: str, *, keep: bool = False) -> Iterator[Path]:
    """A temporary folder for one run's site; removed afterwards unless `keep`."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield workdir
    finally:
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_python(env: dict[str, str], *arguments: str, what: str = "") -> str:
    """`python *arguments` in the repository; its output, or exit with its error."""
    done = subprocess.run(
        [PYTHON, *arguments], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        what = what or " ".join(arguments)
        raise SystemExit(f"{what} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def manage(env: dict[str, str], *command: str) -> str:
    """`manage.py *command` against the site of `env`; its output."""
    return run_python(env, "manage.py", *command, what=f"manage.py {' '.join(command)}")


def start_gunicorn(
    env: dict[str, str],
    port: int,
    *,
    workers: int = 2,
    threads: int = 1,
    sync: bool = False,
    asgi: bool = False,
) -> subprocess.Popen:
    """gunicorn serving the site of `env` on 127.0.0.1:`port`, in its own session.

    `asgi`: the production server (gunicorn.conf.py's uvicorn workers); otherwise
    gthread workers with keep-alive, or sync ones. The worker class is always named,
    because gunicorn reads ./gunicorn.conf.py otherwise. The server's log goes to
    gunicorn.log in the site's folder, not into the report.
    """
    app = "leaderboard.asgi:application" if asgi else "leaderboard.wsgi"
    command = [PYTHON, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    if asgi:
        command += ["--worker-class", "leaderboard.server.Worker", "--backlog", "2048"]
    elif sync:
        command += ["--worker-class", "sync"]
    else:
        command += ["--worker-class", "gthread", "--threads", str(threads),
                    "--keep-alive", "30", "--backlog", "2048"]  # fmt: skip
    log = open(Path(env["PAIRWISE_VAR_DIR"]) / "gunicorn.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        command, cwd=REPO, env=env, start_new_session=True, stdout=log, stderr=log
    )


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def wait_until_up(base_url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {base_url}/healthz within {timeout_s:.0f} s")


@contextmanager
def gunicorn(
    env: dict[str, str], *, port: int = 0, **options
) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, process) of gunicorn serving `env`'s site on `port` (0: a free one), up
    and answering /healthz; stopped when the block ends. `options` go to `start_gunicorn`."""
    port = port or free_port()
    server = start_gunicorn(env, port, **options)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(base_url)
        yield base_url, server
    finally:
        stop(server)


def solve_challenge(challenge: dict) -> str:
    """The answer to an identity's proof-of-work challenge (ALTCHA format), as arena.js
    sends it: base64 JSON of the challenge with the number found."""
    import altcha

    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    payload = {k: v for k, v in challenge.items() if k != "maxNumber"}
    payload["number"] = solution.number
    return base64.b64encode(json.dumps(payload).encode()).decode()


async def get_once(host: str, port: int, path: str) -> tuple[float, int, bytes]:
    """(seconds, status, raw response) of one GET on a fresh connection."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data[9:12]) if data.startswith(b"HTTP/1.") else 0
    return time.perf_counter() - started, status, data


async def _get_load(host: str, port: int, path: str, requests: int, concurrency: int):
    latencies, errors = [], 0
    queue = iter(range(requests))

    async def worker():
        nonlocal errors
        for _ in queue:
            try:
                seconds, status, _body = await get_once(host, port, path)
            except OSError:
                errors += 1
                continue
            if status != 200:
                errors += 1
            latencies.append(seconds)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies, errors


def get_load(base_url: str, path: str, requests: int, concurrency: int):
    """(requests per second, sorted latencies in ms, error count): `requests` GETs of
    `path` from `concurrency` clients, each on a fresh connection (raw asyncio sockets,
    so the load generator takes little of the CPU it shares with the server)."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    rate, latencies, errors = asyncio.run(_get_load(host, int(port), path, requests, concurrency))
    return rate, sorted(ms * 1000 for ms in latencies), errors


def get_text(base_url: str, path: str) -> tuple[float, int, str]:
    """(seconds, status, decoded response) of one GET of `path`."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    seconds, status, data = asyncio.run(get_once(host, int(port), path))
    return seconds, status, data.decode("utf-8", "replace")


# A catalog for the runner benchmarks ---------------------------------------------------


def migrated_sqlite(path: Path) -> str:
    """The URL of a fresh SQLite database at `path` with every migration applied."""
    url = f"sqlite:///{path}"
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--verbosity", "0"],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )
    return url


def seed_catalog(
    database_url: str,
    base_url: str,
    *,
    provider: str,
    challenge: str,
    prompt: str,
    offerings: list[tuple[str, str, str]],
) -> None:
    """A provider at `base_url` with one model and offering per (model slug, endpoint
    kind, provider model id) of `offerings`, at $0.01 an image, and one text-to-image
    challenge (and its category) named `challenge`.

    Written with SQLAlchemy Core on the reflected tables, as the runner reads them.
    """
    engine = sa.create_engine(database_url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    now = datetime.now(UTC)
    if engine.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # Django stores naive UTC on SQLite

    def insert(table_name: str, **values) -> int:
        table = metadata.tables[table_name]
        statement = sa.insert(table).values(**values).returning(table.c.id)
        return connection.execute(statement).scalar_one()

    with engine.begin() as connection:
        provider_id = insert(
            "leaderboard_provider", slug=provider, name=provider.title(), base_url=base_url,
            api_key_env="", website="", is_active=True,
        )  # fmt: skip
        category_id = insert(
            "leaderboard_category", slug=challenge, name=challenge.title(), description=""
        )
        insert(
            "leaderboard_challenge", slug=challenge, title=challenge.title(), prompt=prompt,
            mode="t2i", category_id=category_id, is_active=True, created_at=now,
        )  # fmt: skip
        for model_slug, kind, provider_model_id in offerings:
            model_id = insert(
                "leaderboard_imagemodel", slug=model_slug, name=model_slug,
                vendor=provider.title(), description="", does_text_to_image=True,
                does_edit=False, max_output_mp=4, max_reference_images=0, release_date=None,
                is_open_weights=False, is_active=True, created_at=now,
            )  # fmt: skip
            insert(
                "leaderboard_offering", image_model_id=model_id, provider_id=provider_id,
                endpoint_kind=kind, provider_model_id=provider_model_id, edit_model_id="",
                max_reference_images=0, is_active=True,
                pricing=json.dumps({"unit": "image", "usd": "0.01"}),
                sizes=json.dumps({}), capabilities=json.dumps({}),
            )  # fmt: skip
    engine.dispose()
