"""A key variable with a trailing newline or CR leaks no part of the key (issue 12, point 4).

httpx refuses such a header with ``Illegal header value b'Bearer <key>\\n'``: the key
in bytes' repr, which a raw-text replace does not match. Keys are now stripped when
read, and the sanitizer also removes a secret's escaped and repr forms.
"""

import secrets
import socket
import sys

import httpx
import pytest

from bench.providers.base import Endpoint, sanitize
from bench.runner import run_benchmark
from leaderboard.models import BenchSample, Provider
from tests.bench.builders import (
    ALL_KINDS,
    MODEL_IDS,
    challenge,
    fast_profile,
    image_model,
    offering,
    provider,
)
from tests.bench.conftest import set_profile
from tests.bench.test_secrets import database_dump

KEY_ENV = "PAIRWISE_TEST_WHITESPACE_KEY"


def chunks(secret: str, size: int = 8) -> list[str]:
    return [secret[i : i + size] for i in range(0, len(secret) - size + 1)]


def httpx_refusal(header_value: str) -> str:
    """The error text httpx itself produces for an illegal header value (it connects to
    a listening socket that never answers, then refuses to send the header)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        try:
            with httpx.Client(timeout=5) as client:
                client.post(url, headers={"Authorization": header_value})
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
    pytest.fail("httpx accepted an illegal header value")


@pytest.mark.parametrize("tail", ["\n", "\r", "\r\n", " \n"])
def test_the_sanitizer_removes_a_key_quoted_as_an_illegal_header(tail):
    key = "sk-" + secrets.token_hex(24)
    refusal = httpx_refusal(f"Bearer {key}{tail}")
    assert key[:12] in refusal  # httpx does quote it

    cleaned = sanitize(refusal, (key + tail,))

    assert not any(chunk in cleaned for chunk in chunks(key)), cleaned


@pytest.mark.parametrize(
    "text_of",
    [repr, lambda key: repr(key.encode()), lambda key: key.encode("unicode_escape").decode()],
)
def test_the_sanitizer_removes_escaped_forms_of_a_key(text_of):
    key = "key-" + secrets.token_hex(12) + '\t"quoted"\\tail'

    cleaned = sanitize(f"upstream said: {text_of(key)}", (key,))

    assert not any(chunk in cleaned for chunk in chunks(key, 10)), cleaned
    assert not any(chunk in cleaned for chunk in chunks(text_of(key), 10)), cleaned


def test_keys_are_stripped_when_read(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "  sk-abc123\r\n")

    assert Provider(api_key_env=KEY_ENV).api_key() == "sk-abc123"
    assert Endpoint(base_url="http://x", model_id="m", api_key=" sk-abc123\n").api_key == (
        "sk-abc123"
    )
    monkeypatch.setenv(KEY_ENV, " \n")
    assert Provider(api_key_env=KEY_ENV).api_key() is None


def test_a_benchmark_with_a_newline_after_the_key_stores_no_part_of_it(
    database_url, media_root, simulator
):
    key = "canary-" + secrets.token_hex(20)
    failing = {MODEL_IDS[kind]: {"failures": {"unauthorized": 1.0}} for kind in ALL_KINDS}
    set_profile(simulator, fast_profile({"echo_credentials": True}, models=failing))
    paid = provider("paid", base_url="http://127.0.0.1:1", api_key_env=KEY_ENV)
    for kind in ALL_KINDS:
        offering(paid, image_model(f"paid-{kind.replace('_', '-')}"), kind)
    challenge("fox")

    run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        poll_interval_s=0.01,
        base_url_overrides={"paid": simulator.base_url},
        environ={KEY_ENV: key + "\n"},
        progress_stream=sys.stdout,
    )

    assert BenchSample.objects.exists()
    assert not BenchSample.objects.filter(error__icontains="Illegal header").exists()
    dump = database_dump(database_url)
    assert not any(chunk in dump for chunk in chunks(key)), "part of the key was stored"
