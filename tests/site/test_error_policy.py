"""Errors answer in the shape their path promises (issue 12, point 3).

Under /openai/ OpenAI's error shape, under /api/ and /exports/ the data API's, HTML
elsewhere; a dead database is a 503 with Retry-After on every path, never a 500.
"""

import socket

import pytest
from django.core.management import call_command
from django.db import connection

from leaderboard.gateway.auth import create_key
from leaderboard.pages import queries
from leaderboard.pages.cache import forget_snapshot


def openai_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


def data_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error", "param", "message"}
    assert body["message"]
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/api/nothing",
        "/api/",
        "/api/models/",
        "/api/models/a/b",
        "/exports/nothing.csv",
        "/api/leaderboard.json",
    ],
)
def test_an_unknown_api_path_is_a_json_404(client, db, path):
    assert data_error(client.get(path), 404)["error"] == "not_found"


@pytest.mark.parametrize("path", ["/openai/v1/nothing", "/openai/", "/openai/v2/models"])
def test_an_unknown_gateway_path_is_an_openai_shaped_404(client, db, path):
    assert openai_error(client.get(path), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    "path",
    ["/api/leaderboard", "/api/leaderboard.csv", "/api/providers/stats", "/exports/votes-t2i.csv"],
)
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_wrong_method_on_the_data_api_is_a_json_405(client, db, path, method):
    response = getattr(client, method)(path)

    assert data_error(response, 405)["error"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_an_unknown_vote_export_is_a_json_404_with_its_reason(client, db):
    body = data_error(client.get("/exports/votes-x.csv"), 404)

    assert "t2i or edit" in body["message"]


def test_a_page_404_stays_html(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_server_error_under_the_api_is_json_without_a_traceback(client, db, monkeypatch):
    def broken():
        raise RuntimeError("a bug in the boards query")

    monkeypatch.setattr(queries, "boards", broken)
    forget_snapshot()
    client.raise_request_exception = False

    body = data_error(client.get("/api/leaderboard"), 500)

    assert "bug" not in body["message"] and "Traceback" not in body["message"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def close_connections():
    """Close the connection, and the pool (DB_POOL_MAX_SIZE) that would keep serving
    the old settings."""
    connection.close()
    if connection.vendor == "postgresql" and connection.pool:
        connection.close_pool()


@pytest.fixture
def dead_database(transactional_db, tmp_path):
    """The default connection pointed at a database that is not there (a closed port on
    PostgreSQL, an unopenable path on SQLite); the shared server is never touched."""
    call_command("loaddata", "catalog", verbosity=0)
    _, key = create_key("outage")
    original = dict(connection.settings_dict)
    close_connections()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    else:
        connection.settings_dict["NAME"] = str(tmp_path / "missing-dir" / "db.sqlite3")
    forget_snapshot()
    try:
        yield key
    finally:
        close_connections()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
        forget_snapshot()


@pytest.mark.parametrize(
    "path",
    [
        "/api/leaderboard",
        "/api/leaderboard.csv",
        "/api/models/flux.2-pro",
        "/api/providers/stats",
        "/exports/votes-t2i.csv",
    ],
)
def test_a_dead_database_is_a_json_503_with_retry_after_on_the_data_api(
    client, dead_database, path
):
    response = client.get(path)

    assert data_error(response, 503)["error"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/openai/v1/models"), ("post", "/openai/v1/images/generations")],
)
def test_a_dead_database_is_an_openai_shaped_503_on_the_gateway(
    client, dead_database, method, path
):
    response = getattr(client, method)(
        path,
        {"model": "flux.2-pro", "prompt": "A fox"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {dead_database}"},
    )

    assert openai_error(response, 503)["type"] == "server_error"
    assert int(response["Retry-After"]) > 0


def test_a_dead_database_is_an_html_503_on_a_page(client, dead_database):
    response = client.get("/leaderboard/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) > 0


def test_only_an_unreachable_database_is_a_503_a_failing_query_is_a_bug():
    from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError

    from leaderboard.errors import status_for_exception

    assert status_for_exception(OperationalError("connection refused")) == 503
    assert status_for_exception(InterfaceError("connection already closed")) == 503
    assert status_for_exception(IntegrityError("duplicate key")) is None
    assert status_for_exception(ProgrammingError("no such column")) is None


def test_a_rewritten_error_keeps_the_security_headers(client, db):
    response = client.post("/api/leaderboard")

    assert response.status_code == 405
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src" in response["Content-Security-Policy"]
