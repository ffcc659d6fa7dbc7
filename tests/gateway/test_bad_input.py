"""Hostile input to the API is a 4xx in OpenAI's shape, and nothing is paid for.

Each case here once answered 500 or reached a provider (issue 12: nested JSON, more
than 1,000 form fields, truncated and oversized reference images).
"""

import io
import zlib

import pytest
from django.core.management import call_command

from leaderboard.models import BenchSample
from tests.gateway.builders import create_key_with_command, png


@pytest.fixture
def key(transactional_db):  # committed: the API reads it from threads of its own
    call_command("loaddata", "catalog", verbosity=0)
    return create_key_with_command("hostile")


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def openai_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


@pytest.mark.parametrize("depth", [100, 1000, 5000, 100_000])
def test_deeply_nested_json_is_a_400_not_a_server_error(client, key, depth):
    response = client.post(
        "/openai/v1/images/generations",
        "[" * depth,
        content_type="application/json",
        headers=auth(key),
    )

    openai_error(response, 400)


def test_nested_json_inside_a_field_is_a_400(client, key):
    body = '{"model": "flux.2-pro", "prompt": ' + "[" * 5000 + "]" * 5000 + "}"

    response = client.post(
        "/openai/v1/images/generations", body, content_type="application/json", headers=auth(key)
    )

    openai_error(response, 400)


@pytest.mark.parametrize("fields", [999, 1001, 5000])
def test_an_edit_form_with_too_many_fields_is_a_400(client, key, fields):
    data = {f"f{i}": "x" for i in range(fields)}
    data |= {"model": "flux.2-pro", "prompt": "Edit", "image": io.BytesIO(png())}

    response = client.post("/openai/v1/images/edits", data, headers=auth(key))

    openai_error(response, 400)
    assert not BenchSample.objects.exists()


def truncated_png() -> bytes:
    data = png(512, 512, color=(10, 200, 30))
    return data[: len(data) // 2]


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG of width x height black pixels, a few kilobytes big (it compresses)."""
    raw = zlib.compress(b"".join(b"\0" + b"\0" * width for _ in range(height)), 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("truncated.png", truncated_png),
        ("garbage-after-header.png", lambda: png()[:60] + b"\xff" * 500),
        ("64mp.png", lambda: huge_png(8192, 8192)),
        ("5mp.png", lambda: huge_png(2560, 2048)),
    ],
)
def test_a_broken_or_oversized_reference_image_is_refused_before_any_provider_is_paid(
    client, key, name, data
):
    response = client.post(
        "/openai/v1/images/edits",
        {"model": "flux.2-pro", "prompt": "Edit", "image": _named(data(), name)},
        headers=auth(key),
    )

    error = openai_error(response, 400)
    assert error["param"] == "image"
    assert name in error["message"]
    assert not BenchSample.objects.exists()


def test_a_reference_at_exactly_the_cap_passes_the_image_checks(client, key, settings):
    settings.GATEWAY_MAX_REFERENCE_MP = 4
    response = client.post(
        "/openai/v1/images/edits",
        {
            "model": "flux.2-pro",
            "prompt": "Edit",
            "image": _named(huge_png(2048, 2048), "4mp.png"),
            "size": "nonsense",
        },
        headers=auth(key),
    )

    # The image is fine; the next check (the size parameter) is what refuses it.
    assert openai_error(response, 400)["param"] == "size"


def _named(data: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream
