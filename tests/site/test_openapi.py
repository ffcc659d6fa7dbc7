"""The data API and the image API publish OpenAPI documents that match their routes."""

import re

import pytest
from django.core.management import call_command
from django.urls import get_resolver

from leaderboard.gateway.auth import create_key
from leaderboard.pages.cache import forget_snapshot

UNDOCUMENTED = {"/api/openapi.json", "/openai/v1/openapi.json", "/openai/v1/images/files/{}"}


def routed_api_paths() -> set[str]:
    """Every URL pattern under /api/, /exports/ and /openai/v1/, parameters as {}."""
    found = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, route)
            else:
                found.add("/" + re.sub(r"<[^>]+>", "{}", route))

    walk(get_resolver().url_patterns, "")
    return {path for path in found if path.startswith(("/api/", "/exports/", "/openai/"))}


def documented_paths(client) -> set[str]:
    data = client.get("/api/openapi.json").json()
    gateway = client.get("/openai/v1/openapi.json").json()
    assert data["openapi"] == gateway["openapi"] == "3.1.0"
    base = gateway["servers"][0]["url"]
    paths = set(data["paths"]) | {base + path for path in gateway["paths"]}
    return {re.sub(r"\{[^}]+\}", "{}", path) for path in paths}


def test_every_api_route_is_documented_and_nothing_else(client, db):
    documented = documented_paths(client)

    assert documented == routed_api_paths() - UNDOCUMENTED


@pytest.fixture
def key(transactional_db):  # committed: the API reads it from threads of its own
    call_command("loaddata", "catalog", verbosity=0)
    forget_snapshot()  # no catalog cached by an earlier test
    yield create_key("openapi")[1]
    forget_snapshot()


def test_every_documented_get_answers(client, key):
    data = client.get("/api/openapi.json").json()
    gateway = client.get("/openai/v1/openapi.json").json()
    examples = {"{slug}": "flux.2-pro", "{mode}": "t2i"}
    urls = [path for path, item in data["paths"].items() if "get" in item]
    urls += ["/openai/v1" + path for path, item in gateway["paths"].items() if "get" in item]
    for url in urls:
        for name, value in examples.items():
            url = url.replace(name, value)
        response = client.get(url, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, (url, response.content[:200])
