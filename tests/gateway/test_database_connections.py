"""The API's database work keeps its connections (leaderboard/gateway/blocking.py).

On PostgreSQL with password authentication a new connection costs milliseconds of CPU
on both sides, and an API call has five pieces of database work.
"""

import pytest
from django.db import connection

from tests.gateway.builders import openai_client

CALLS = 10


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: sessions are counted and ended by the server")


def sessions_opened() -> int:
    """Connections made to this database since its statistics began (PostgreSQL 14+)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def generate(live_server, api_key):
    with openai_client(live_server, api_key) as api:
        return api.images.generate(model="flux.2-pro", prompt="A fox", size="1024x1024")


def test_calls_reuse_the_gateways_connections(postgres, live_server, api_key, settings):
    settings.GATEWAY_RATE_LIMIT_PER_MINUTE = 0
    generate(live_server, api_key)  # the gateway's threads connect
    before = sessions_opened()

    answers = [generate(live_server, api_key) for _ in range(CALLS)]

    assert all(answer.data for answer in answers)
    # One call after another runs each piece on an idle thread: a connection per piece
    # would be 5 per call. The live server's own request threads may open a few.
    opened = sessions_opened() - before
    assert opened <= CALLS, f"{opened} connections opened by {CALLS} calls"


def test_a_call_after_the_database_dropped_the_connections_succeeds(
    postgres, live_server, api_key, settings
):
    settings.GATEWAY_RATE_LIMIT_PER_MINUTE = 0
    generate(live_server, api_key)
    with connection.cursor() as cursor:  # what a database restart does to kept connections
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1

    assert generate(live_server, api_key).data
