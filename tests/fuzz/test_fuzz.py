"""Property-based fuzzing of every public endpoint (issue 12): no input makes a 500.

Hypothesis generates paths, query strings, methods, headers, JSON bodies and
multipart uploads for the pages, charts, exports, the data API, the arena and the
OpenAI-compatible API, and sends them through Django's test client to a site with
ratings, stats, images and votes. Every answer must:

- not be a 500 (upstream 502/503/504 are allowed on the API: its providers are down),
- be JSON in the promised shape when it is an error under /api/, /exports/, /openai/,
- carry no traceback, no provider key, no SECRET_KEY and no API key in its body.

Settings are explicit and derandomized, so CI runs the same requests every time; the
requests are counted and the last test checks that at least MIN_REQUESTS were sent.
"""

from __future__ import annotations

import io
import json
import socket
import string

import pytest
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard.gateway.auth import create_key
from leaderboard.models import Provider
from leaderboard.pages.cache import forget_snapshot
from tests.pages import builders

MIN_REQUESTS = 2000
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
PROVIDER_KEY = "canary-provider-key-5e2b8c0f1d9a4e77b3c6"
SENT = {"requests": 0, "tests": set()}
FUZZ_TESTS = {
    "pages",
    "charts",
    "data_api",
    "exports",
    "arena",
    "gateway_json",
    "gateway_raw",
    "gateway_edits",
    "gateway_other",
    "methods",
}

MODEL_SLUGS = ["flux.2-pro", "seedream-4", "nano-banana-pro", "imagen-4", "qwen-image"]
PROVIDER_SLUGS = ["fal", "replicate", "bfl", "openai", "simulated"]
CHALLENGE_SLUGS = ["neon-noodle-shop", "bald-man-challenge"]
CATEGORY_SLUGS = ["product-branding", "anime", "portraiture"]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "..",
            "../../etc/passwd",
            "%00",
            "\x00",
            "🦊",
            "a" * 300,
            "$\\notacommand{x}$",
            "=HYPERLINK(1)",
            "<script>",
            "' OR 1=1 --",
            "-1",
            "1e309",
            "NaN",
            "null",
            "[]",
            "{}",
            "\\",
            "%",
            "?",
            "#",
        ]
    ),
)
url_safe = st.text(alphabet=string.ascii_letters + string.digits + "-._~", max_size=30)
segment = st.one_of(url_safe, st.sampled_from(MODEL_SLUGS + PROVIDER_SLUGS + CHALLENGE_SLUGS))
query_value = st.one_of(
    hostile_text,
    st.sampled_from(
        ["t2i", "edit", "all", "30d", "7y", "cost", "speed", *MODEL_SLUGS, *CATEGORY_SLUGS]
    ),
)
query = st.dictionaries(
    st.sampled_from(
        ["mode", "category", "window", "model", "highlight", "page", "format", "x", "q"]
    ),
    query_value,
    max_size=4,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=12,
)
GATEWAY_FIELDS = [
    "model",
    "prompt",
    "n",
    "size",
    "aspect_ratio",
    "resolution",
    "response_format",
    "output_format",
    "output_compression",
    "seed",
    "safety_tolerance",
    "enable_safety_checker",
    "sync_mode",
    "width",
    "height",
    "output_quality",
    "user",
    "stream",
    "num_images",
    "image_size",
    "quality",
    "style",
    "mask",
    "image_urls",
    "input_image",
]
field_value = st.one_of(
    json_values,
    st.sampled_from(
        [
            "flux.2-pro",
            "nano-banana-pro",
            "A fox",
            "1024x1024",
            "16:9",
            "auto",
            "1K",
            "4K",
            "0.25",
            "url",
            "b64_json",
            "png",
            "webp",
            1,
            3,
            10,
            11,
            -1,
        ]
    ),
)
gateway_body = st.dictionaries(
    st.sampled_from(GATEWAY_FIELDS) | hostile_text, field_value, max_size=8
)


@pytest.fixture
def site(db, settings, tmp_path, monkeypatch):
    """Rated boards, stats, images and votes; every provider keyed and unreachable."""
    settings.PAGES_SNAPSHOT_CHECK_S = 0
    settings.PAGES_EXPORT_DIR = tmp_path / "exports"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GATEWAY_UPSTREAM_TIMEOUT_S = 2
    settings.GATEWAY_MAX_ATTEMPTS = 1
    settings.GATEWAY_RATE_LIMIT_PER_MINUTE = 0
    settings.ARENA_SERVE_LIMIT_PER_VOTER = settings.ARENA_SERVE_LIMIT_PER_IP = 0
    settings.ARENA_VOTE_LIMIT_PER_VOTER = settings.ARENA_VOTE_LIMIT_PER_IP = 0
    settings.ARENA_POOL_CACHE_S = 0  # no candidates cached from an earlier test's rows
    forget_snapshot()
    builders.site_with_results()
    with socket.socket() as sock:  # a port nobody listens on: providers fail at once
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    Provider.objects.update(base_url=dead)
    for name in set(Provider.objects.exclude(api_key_env="").values_list("api_key_env", flat=True)):
        monkeypatch.setenv(name, PROVIDER_KEY)
    _, key = create_key("fuzz")
    yield key
    forget_snapshot()


def send(client: Client, method: str, path: str, **kwargs):
    SENT["requests"] += 1
    client.raise_request_exception = False
    return getattr(client, method.lower())(path, **kwargs)


def check(response, path: str, *, api_key: str = "", method: str = "GET") -> None:
    status = response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    assert status != 500, (path, text[:500])
    if status >= 500:
        assert path.startswith("/openai/") and status in (502, 503, 504), (path, status)
    assert "Traceback" not in text, path
    assert PROVIDER_KEY not in text and PROVIDER_KEY[:16] not in text, path
    assert django_settings.SECRET_KEY not in text, path
    if api_key:
        assert api_key not in text, path
    if status >= 400 and method != "HEAD" and path.startswith(("/api/", "/exports/", "/openai/")):
        assert response["Content-Type"].startswith("application/json"), (path, status, text[:200])
        error = json.loads(body)["error"]
        if path.startswith("/openai/"):
            assert set(error) == {"message", "type", "param", "code"}, (path, error)
        else:
            assert isinstance(error, str) and json.loads(body)["message"], (path, text)


def ran(name: str) -> None:
    SENT["tests"].add(name)


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/",
            "/leaderboard/",
            "/models/",
            "/providers/",
            "/challenges/",
            "/data/",
            "/healthz",
            "/admin/",
            "/admin/login/",
        ]
    )
    | segment.map(lambda s: f"/models/{s}/")
    | segment.map(lambda s: f"/providers/{s}/")
    | segment.map(lambda s: f"/challenges/{s}/")
    | url_safe.map(lambda s: f"/{s}"),
    params=query,
)
def test_pages(client, site, path, params):
    check(send(client, "GET", path, data=params), path)
    ran("pages")


@FUZZ
@given(
    kind=st.sampled_from(["landscape", "history", "latency", "success"]),
    version=st.one_of(url_safe.filter(bool), st.just("000000000000")),
    name=segment.filter(bool),
    metric=st.sampled_from(["cost", "speed"]) | url_safe.filter(bool),
    params=query,
)
def test_charts(client, site, kind, version, name, metric, params):
    path = {
        "landscape": f"/charts/{version}/landscape/{metric}.svg",
        "history": f"/charts/{version}/models/{name}/history.svg",
        "latency": f"/charts/{version}/models/{name}/latency.svg",
        "success": f"/charts/{version}/providers/{name}/success.svg",
    }[kind]
    check(send(client, "GET", path, data=params), path)
    ran("charts")


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/api/leaderboard",
            "/api/leaderboard.csv",
            "/api/providers/stats",
            "/api/providers/stats.csv",
            "/api/",
            "/api/models/",
        ]
    )
    | segment.map(lambda s: f"/api/models/{s}")
    | segment.map(lambda s: f"/api/models/{s}.csv")
    | segment.map(lambda s: f"/api/serving/{s}")
    | segment.map(lambda s: f"/api/serving/{s}.csv")
    | url_safe.map(lambda s: f"/api/{s}"),
    params=query,
)
def test_data_api(client, site, path, params):
    check(send(client, "GET", path, data=params), path)
    ran("data_api")


@settings(FUZZ, max_examples=100)
@given(mode=st.sampled_from(["t2i", "edit"]) | url_safe, params=query)
def test_exports(client, site, mode, params):
    path = f"/exports/votes-{mode}.csv"
    check(send(client, "GET", path, data=params), path)
    ran("exports")


@FUZZ
@given(
    action=st.sampled_from(
        ["page", "edit", "next", "vote", "reveal", "image"]
        + ["serving", "serving-next", "serving-vote", "serving-reveal", "me", "my-votes"]
        + ["playground", "playground-run"]
    ),
    code=url_safe.filter(bool),
    image=url_safe.filter(bool),
    params=query,
    form=st.dictionaries(
        st.sampled_from(["outcome", "category", "x"]),
        st.sampled_from(["a", "b", "tie", "both_bad"]) | hostile_text,
        max_size=3,
    ),
    accept_json=st.booleans(),
)
def test_arena(client, site, action, code, image, params, form, accept_json):
    headers = {"Accept": "application/json"} if accept_json else {}
    if action in ("vote", "serving-vote"):
        path = f"/arena/{'serving/' if action == 'serving-vote' else ''}vote/{code}"
        response = send(client, "POST", path, data=form, headers=headers)
    elif action == "playground-run":
        path = "/playground/run"
        response = send(client, "POST", path, data=form, headers=headers)
    else:
        path = {
            "page": "/arena/",
            "edit": "/arena/edit/",
            "next": "/arena/next",
            "reveal": f"/arena/reveal/{code}",
            "image": f"/arena/image/{code}/{image}",
            "serving": "/arena/serving/",
            "serving-next": "/arena/serving/next",
            "serving-reveal": f"/arena/serving/reveal/{code}",
            "me": "/arena/me/",
            "my-votes": "/arena/me/votes.csv",
            "playground": "/playground/",
        }[action]
        response = send(client, "GET", path, data=params, headers=headers)
    check(response, path)
    ran("arena")


def bearer(site_key: str, choice: str) -> dict:
    return {
        "good": {"Authorization": f"Bearer {site_key}"},
        "bad": {"Authorization": "Bearer pw_not-a-real-key"},
        "odd": {"Authorization": "Basic dXNlcjpwYXNz"},
        "none": {},
    }[choice]


@settings(FUZZ, max_examples=400)
@given(body=gateway_body, auth=st.sampled_from(["good", "good", "good", "bad", "odd", "none"]))
def test_gateway_json(client, site, body, auth):
    path = "/openai/v1/images/generations"
    response = send(
        client,
        "POST",
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers=bearer(site, auth),
    )
    check(response, path, api_key=site)
    ran("gateway_json")


@settings(FUZZ, max_examples=200)
@given(
    raw=st.binary(max_size=300)
    | st.integers(1, 3000).map(lambda depth: b"[" * depth)
    | st.integers(1, 3000).map(lambda depth: b'{"a":' * depth)
    | json_values.map(lambda value: json.dumps(value).encode()),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ]
    ),
)
def test_gateway_raw(client, site, raw, content_type):
    path = "/openai/v1/images/generations"
    response = send(
        client, "POST", path, data=raw, content_type=content_type, headers=bearer(site, "good")
    )
    check(response, path, api_key=site)
    ran("gateway_raw")


def png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


SMALL_PNG = png(64, 48)
upload = st.one_of(
    st.just(SMALL_PNG),
    st.integers(1, len(SMALL_PNG) - 1).map(lambda cut: SMALL_PNG[:cut]),
    st.binary(max_size=200),
    st.builds(
        lambda head, tail: SMALL_PNG[:head] + tail, st.integers(8, 60), st.binary(max_size=80)
    ),
)


@settings(FUZZ, max_examples=300)
@given(
    fields=st.dictionaries(
        st.sampled_from(GATEWAY_FIELDS) | url_safe.filter(bool),
        st.text(max_size=30) | st.sampled_from(["flux.2-pro", "A fox", "2"]),
        max_size=6,
    ),
    files=st.lists(
        st.tuples(st.sampled_from(["image", "image[]", "mask", "other"]), upload), max_size=11
    ),
    extra_fields=st.integers(0, 1100),
)
def test_gateway_edits(client, site, fields, files, extra_fields):
    path = "/openai/v1/images/edits"
    data = {f"f{i}": "x" for i in range(extra_fields)} | fields
    for index, (name, content) in enumerate(files):
        stream = io.BytesIO(content)
        stream.name = f"upload-{index}.png"
        data.setdefault(name, [])
        if isinstance(data[name], list):
            data[name].append(stream)
    response = send(client, "POST", path, data=data, headers=bearer(site, "good"))
    check(response, path, api_key=site)
    ran("gateway_edits")


@FUZZ
@given(
    path=st.sampled_from(["/openai/v1/models", "/openai/v1/", "/openai/", "/openai/v1/images/"])
    | segment.map(lambda s: f"/openai/v1/models/{s}")
    | url_safe.filter(bool).map(lambda s: f"/openai/v1/images/files/{s}")
    | url_safe.map(lambda s: f"/openai/v1/{s}"),
    auth=st.sampled_from(["good", "bad", "odd", "none"]),
)
def test_gateway_other(client, site, path, auth):
    check(send(client, "GET", path, headers=bearer(site, auth)), path, api_key=site)
    ran("gateway_other")


@FUZZ
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "GET"]),
    path=st.sampled_from(
        [
            "/",
            "/leaderboard/",
            "/models/flux.2-pro/",
            "/data/",
            "/healthz",
            "/arena/",
            "/arena/next",
            "/api/leaderboard",
            "/api/leaderboard.csv",
            "/api/models/flux.2-pro",
            "/api/providers/stats",
            "/exports/votes-t2i.csv",
            "/openai/v1/models",
            "/openai/v1/models/flux.2-pro",
            "/openai/v1/images/generations",
            "/openai/v1/images/edits",
            "/openai/v1/images/files/nothing.png",
            "/api/openapi.json",
            "/openai/v1/openapi.json",
        ]
    ),
    body=st.binary(max_size=100),
)
def test_methods(client, site, method, path, body):
    kwargs = (
        {}
        if method in ("GET", "HEAD", "OPTIONS")
        else {"data": body, "content_type": "application/json"}
    )
    response = send(client, method, path, headers=bearer(site, "good"), **kwargs)
    check(response, path, api_key=site, method=method)
    ran("methods")


def test_the_fuzz_sent_enough_requests():
    if SENT["tests"] != FUZZ_TESTS:
        pytest.skip("only counts when every fuzz test of this module ran")
    print(f"\nfuzz: {SENT['requests']} requests, 0 failures")
    assert SENT["requests"] >= MIN_REQUESTS
