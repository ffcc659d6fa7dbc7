"""The production server (gunicorn.conf.py) started for real on loopback, for tests."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.support import REPO_ROOT

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PRODUCTION_COMMAND = [GUNICORN, "leaderboard.asgi:application", "-c", "gunicorn.conf.py"]
PROVIDER_KEYS = ("REPLICATE_API_TOKEN", "FAL_KEY", "BFL_API_KEY", "OPENAI_API_KEY")


def django_database_url(settings_dict: dict) -> str:
    """DATABASE_URL naming the (test) database of a Django settings dict."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{settings_dict['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A developer's own tuning must not leak into a test's or a benchmark's site.
_NOT_INHERITED = ("DJANGO_", "PAGES_", "ARENA_", "GATEWAY_")


def site_environment(
    workdir: Path, database_url: str | None = None, **settings: str
) -> dict[str, str]:
    """The environment of a production-like site in `workdir` (SQLite there by default).

    Production settings (DEBUG=0, a fresh SECRET_KEY, WhiteNoise, CSRF and CSP on) but
    plain HTTP on loopback; no provider key is inherited; `settings` override or add
    variables.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_NOT_INHERITED) and key != "DATABASE_URL" and key not in PROVIDER_KEYS
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        DATABASE_URL=database_url or f"sqlite:///{workdir / 'pairwise.sqlite3'}",
        PAIRWISE_VAR_DIR=str(workdir),
        MEDIA_ROOT=str(workdir / "media"),
        STATIC_ROOT=str(workdir / "static"),
        ARENA_IMAGE_DIR=str(workdir / "arena-images"),
        LOG_LEVEL="ERROR",
        DJANGO_SETTINGS_MODULE="leaderboard.settings",
    )
    env.update(settings)
    return env


@contextlib.contextmanager
def production_server(env: dict[str, str], *, workers: int = 1) -> Iterator[str]:
    """The README's production command on a free loopback port; yields its base URL."""
    port = free_port()
    log_path = Path(env["PAIRWISE_VAR_DIR"]) / f"server-{port}.log"
    command = [*PRODUCTION_COMMAND, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not come up: {log_path.read_text()[-2000:]}")
