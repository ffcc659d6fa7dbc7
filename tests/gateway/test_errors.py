"""Every error comes back in OpenAI's shape with the right status, as the client's exceptions."""

import httpx
import openai
import pytest
from django.core.management import call_command

from leaderboard.models import ApiKey, ApiRequest
from tests.gateway.builders import create_key_with_command, openai_client, use_profile

BAD_PARAMETERS = [
    ({"prompt": ""}, "prompt"),
    ({"n": 0}, "n"),
    ({"n": 11}, "n"),
    ({"n": "3"}, "n"),
    ({"size": "big"}, "size"),
    ({"size": "0x100"}, "size"),
    ({"size": "20000x100"}, "size"),
    ({"aspect_ratio": "wide"}, "aspect_ratio"),
    ({"resolution": "huge"}, "resolution"),
    ({"response_format": "base64"}, "response_format"),
    ({"output_format": "bmp"}, "output_format"),
    ({"output_compression": 101}, "output_compression"),
    ({"seed": -1}, "seed"),
    ({"safety_tolerance": 9}, "safety_tolerance"),
    ({"enable_safety_checker": "no"}, "enable_safety_checker"),
    ({"width": 512}, "height"),
    ({"num_images": 2}, "num_images"),
    ({"image_size": "square_hd"}, "image_size"),
    ({"stream": True}, "stream"),
]


def post(live_server, path, *, key=None, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{live_server.url}/openai/v1{path}", headers=headers, **kwargs)


@pytest.fixture
def checked_key(transactional_db):
    """The catalog and a key, committed (the API's database work runs in threads of its
    own, leaderboard/gateway/blocking.py): for checks made before any upstream call."""
    call_command("loaddata", "catalog", verbosity=0)
    return create_key_with_command("validation")


@pytest.mark.parametrize(("fields", "param"), BAD_PARAMETERS)
def test_a_bad_parameter_is_a_400_that_names_it(client, checked_key, fields, param):
    body = {"model": "flux.2-pro", "prompt": "A fox", **fields}

    response = client.post(
        "/openai/v1/images/generations", body, content_type="application/json",
        headers={"Authorization": f"Bearer {checked_key}"},
    )  # fmt: skip

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["param"], error["type"]) == (param, "invalid_request_error")
    assert error["message"]


def test_the_openai_client_raises_bad_request_with_the_param(api):
    with pytest.raises(openai.BadRequestError) as caught:
        api.images.generate(model="flux.2-pro", prompt="A fox", size="wide")

    assert caught.value.body["param"] == "size"
    assert caught.value.code == "invalid_value"


def test_a_missing_model_and_a_body_that_is_not_json_are_400s(live_server, api_key):
    missing = post(live_server, "/images/generations", key=api_key, json={"prompt": "x"})
    garbage = post(live_server, "/images/generations", key=api_key, content=b"{not json")

    assert missing.status_code == 400 and missing.json()["error"]["param"] == "model"
    assert missing.json()["error"]["code"] == "missing_required_parameter"
    assert garbage.status_code == 400 and garbage.json()["error"]["param"] is None


def test_an_unknown_model_is_a_404_naming_model(api):
    with pytest.raises(openai.NotFoundError) as caught:
        api.images.generate(model="dall-e-9", prompt="A fox")

    assert caught.value.body == {
        "message": "The model 'dall-e-9' does not exist; GET /openai/v1/models lists them.",
        "type": "invalid_request_error", "param": "model", "code": "model_not_found",
    }  # fmt: skip


def test_a_missing_or_wrong_key_is_a_401(live_server, catalog):
    with openai_client(live_server, "pw_not-a-real-key") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            client.images.generate(model="flux.2-pro", prompt="A fox")
    missing = post(live_server, "/images/generations", json={"model": "flux.2-pro"})
    basic = httpx.get(
        live_server.url + "/openai/v1/models", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )

    assert caught.value.code == "invalid_api_key"
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    assert basic.status_code == 401
    assert not ApiRequest.objects.exists()


def test_a_revoked_key_stops_working_at_once(api, api_key):
    api.models.list()
    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")

    with pytest.raises(openai.AuthenticationError) as caught:
        api.models.list()

    assert caught.value.code == "revoked_api_key"


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(live_server, catalog):
    key = create_key_with_command("limited", "--rate-limit", "1")
    with openai_client(live_server, key) as client:
        client.models.list()
        # Two more calls: even if a minute boundary falls between, one is over the limit.
        with pytest.raises(openai.RateLimitError) as caught:
            client.models.list()
            client.models.list()

    assert caught.value.code == "rate_limit_exceeded"
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
    assert caught.value.response.headers["x-ratelimit-limit-requests"] == "1"
    assert ApiRequest.objects.filter(status_code=429).exists()


def test_every_provider_failing_is_a_502_that_names_what_happened(api, catalog):
    use_profile(catalog, failures={"server_error": 1.0})

    with pytest.raises(openai.InternalServerError) as caught:
        api.images.generate(model="flux.2-pro", prompt="A fox")

    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "upstream_error"
    assert caught.value.body["message"] == "Every provider failed (simulated: http_5xx)."


def test_every_provider_timing_out_is_a_504(api, catalog, settings):
    settings.GATEWAY_UPSTREAM_TIMEOUT_S = 0.5
    use_profile(catalog, failures={"timeout": 1.0})

    with pytest.raises(openai.InternalServerError) as caught:
        api.images.generate(model="nano-banana", prompt="A fox")

    assert caught.value.status_code == 504
    assert caught.value.body["code"] == "upstream_timeout"


def test_a_moderated_request_is_a_400_like_openais_safety_rejection(api, catalog):
    use_profile(catalog, failures={"moderated": 1.0})

    with pytest.raises(openai.BadRequestError) as caught:
        api.images.generate(model="flux.2-max", prompt="Something")

    assert caught.value.code == "moderation_blocked"
    assert caught.value.type == "image_generation_user_error"


def test_a_provider_refusing_the_request_is_a_400_without_its_words(api, catalog):
    use_profile(catalog, failures={"bad_request": 1.0})

    with pytest.raises(openai.BadRequestError) as caught:
        api.images.generate(model="flux.2-max", prompt="Something")

    assert caught.value.code == "upstream_rejected"
    assert "field required" not in caught.value.message  # the provider's own text


def test_the_wrong_method_is_a_405_in_the_error_shape(live_server, api_key):
    response = httpx.get(
        live_server.url + "/openai/v1/images/generations",
        headers={"Authorization": f"Bearer {api_key}"},
    )

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
