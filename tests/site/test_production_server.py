"""The README's production server: its command, its timeouts, and API calls that
cannot starve the rest of the site."""

import asyncio
import logging
import runpy
import time

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from uvicorn_worker import UvicornWorker

from bench.simulator import SimulatorThread
from leaderboard.server import Worker
from tests.bench.builders import fast_profile
from tests.gateway.builders import create_key_with_command
from tests.servers import (
    PRODUCTION_COMMAND,
    django_database_url,
    production_server,
    site_environment,
)
from tests.support import REPO_ROOT

IMAGE_S = 5
CALLS = 8


def readme_production_block() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("\n## Production\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()


def test_the_readme_starts_the_server_the_repository_configures():
    command = readme_production_block()[-1]

    assert command == ".venv/bin/gunicorn leaderboard.asgi:application -c gunicorn.conf.py"
    assert command.split()[1:] == PRODUCTION_COMMAND[1:]
    assert command in (REPO_ROOT / "gunicorn.conf.py").read_text()


def test_the_server_runs_async_workers_and_lets_in_flight_api_calls_finish():
    config = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))

    assert config["worker_class"] == "leaderboard.server.Worker"
    assert issubclass(Worker, UvicornWorker)
    assert config["graceful_timeout"] > settings.GATEWAY_REQUEST_TIMEOUT_S


def test_under_asgi_every_middleware_runs_on_the_event_loop(settings, caplog):
    """One sync-only middleware would put every request, API calls included, through a
    thread that blocks for as long as the call waits on its provider."""
    from django.core.handlers.asgi import ASGIHandler

    settings.DEBUG = True  # Django logs each adaptation only in debug mode
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        ASGIHandler()

    assert [r.getMessage() for r in caplog.records if "adapted for" in r.getMessage()] == []


@pytest.fixture
def slow_provider_site(transactional_db, tmp_path):
    """The catalog on a simulator taking IMAGE_S seconds per image, an API key, the env."""
    from leaderboard.models import Provider

    profile = fast_profile({"queue_ms": 0, "processing_ms": IMAGE_S * 1000})
    with SimulatorThread(profile=profile) as simulator:
        call_command("loaddata", "catalog", verbosity=0)
        Provider.objects.filter(slug="simulated").update(base_url=simulator.base_url)
        key = create_key_with_command("isolation")
        database_url = django_database_url(connection.settings_dict)
        # One page thread (leaderboard/asgi.py): an API call routed to it would hold it.
        env = site_environment(
            tmp_path,
            database_url,
            GATEWAY_RATE_LIMIT_PER_MINUTE="0",
            LOG_LEVEL="WARNING",
            WEB_THREADS="1",
        )
        yield env, key


@pytest.mark.slow
def test_slow_api_calls_leave_healthz_and_the_data_api_answering(slow_provider_site):
    env, key = slow_provider_site
    body = {"model": "flux.2-pro", "prompt": "A fox", "size": "1024x1024"}

    async def scenario(base_url: str):
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            headers = {"Authorization": f"Bearer {key}"}
            calls = [
                asyncio.create_task(
                    client.post("/openai/v1/images/generations", json=body, headers=headers)
                )
                for _ in range(CALLS)
            ]
            await asyncio.sleep(1.5)  # every call is waiting on the provider now
            started = time.perf_counter()
            reads = [await client.get("/healthz"), await client.get("/api/leaderboard")]
            read_s = time.perf_counter() - started
            waiting_after_reads = sum(not call.done() for call in calls)
            return reads, read_s, waiting_after_reads, await asyncio.gather(*calls)

    # One worker: with sync workers the reads would queue behind the calls.
    with production_server(env, workers=1) as base_url:
        reads, read_s, waiting, answers = asyncio.run(scenario(base_url))

    assert [read.status_code for read in reads] == [200, 200]
    assert waiting == CALLS, f"the reads waited for API calls to finish ({read_s:.1f} s)"
    assert [answer.status_code for answer in answers] == [200] * CALLS
    assert all(answer.json()["data"] for answer in answers)


@pytest.mark.slow
def test_a_client_that_hangs_up_does_not_lose_the_paid_request(slow_provider_site):
    from leaderboard.models import ApiRequest, BenchSample

    env, key = slow_provider_site
    body = {"model": "flux.2-pro", "prompt": "A fox", "size": "1024x1024"}

    with production_server(env, workers=1) as base_url:
        with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
            httpx.post(
                base_url + "/openai/v1/images/generations",
                json=body,
                headers={"Authorization": f"Bearer {key}"},
                timeout=1.0,
            )
        deadline = time.monotonic() + IMAGE_S + 15
        while not ApiRequest.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    assert list(BenchSample.objects.values_list("status", flat=True)) == ["ok"]
    assert ApiRequest.objects.get().images_returned == 1


def server_connections() -> int:
    """Connections to this test database other than the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_requests_leave_no_postgresql_connection_open_behind_them(transactional_db, tmp_path):
    """Each request runs in a thread of its own under ASGI: a connection kept past it
    would never be used again, and a server busy enough would fill max_connections."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: one server process per open connection")
    call_command("loaddata", "catalog", verbosity=0)
    # Every request reads which snapshot is current.
    env = site_environment(
        tmp_path, django_database_url(connection.settings_dict), PAGES_SNAPSHOT_CHECK_S="0"
    )
    with production_server(env, workers=1) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            statuses = {client.get("/api/leaderboard").status_code for _ in range(40)}
            open_after = server_connections()

    assert statuses == {200}
    assert open_after <= 2, f"{open_after} connections left open by 40 requests"
