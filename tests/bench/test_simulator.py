"""The simulator's wire format, checked with a plain HTTP client (docs/providers.md §7)."""

import io
import json
import time

import httpx
import pytest
from PIL import Image

from bench.simulator import Profile, SimulatorThread
from tests.bench.builders import fast_profile


@pytest.fixture
def slow():
    """Queue 150 ms, then processing 150 ms: long enough to see every status."""
    profile = fast_profile({"queue_ms": 150, "processing_ms": 150})
    with (
        SimulatorThread(profile=profile) as running,
        httpx.Client(base_url=running.base_url) as http,
    ):
        yield running, http


def test_replicate_create_holds_with_prefer_wait_and_answers_201(simulator):
    with httpx.Client(base_url=simulator.base_url) as http:
        created = http.post(
            "/v1/models/black-forest-labs/flux-2-pro/predictions",
            json={"input": {"prompt": "a fox", "output_format": "webp"}},
            headers={"Prefer": "wait=5", "Authorization": "Bearer r8"},
        )
        prediction = created.json()
        image = http.get(prediction["output"])
        polled = http.get(prediction["urls"]["get"]).json()

    assert created.status_code == 201 and created.headers["preference-applied"] == "wait"
    assert created.headers["ratelimit-remaining"] == "599"
    assert prediction["status"] == "processing"  # the real quirk: done, but not yet "succeeded"
    assert prediction["metrics"]["predict_time"] > 0 and prediction["completed_at"].endswith("Z")
    assert image.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(image.content)).size == (1024, 1024)
    assert polled["status"] == "succeeded"


def test_replicate_statuses_go_from_starting_to_processing_to_succeeded(slow):
    running, http = slow
    prediction = http.post("/v1/models/o/m/predictions", json={"input": {"prompt": "x"}}).json()
    seen = [prediction["status"]]
    while seen[-1] not in ("succeeded", "failed"):
        time.sleep(0.03)
        seen.append(http.get(f"/v1/predictions/{prediction['id']}").json()["status"])

    assert seen[0] == "starting" and "processing" in seen and seen[-1] == "succeeded"


def test_fal_queue_status_urls_drop_the_endpoint_subpath(slow):
    running, http = slow
    handle = http.post(
        "/fal/queue/fal-ai/flux-2-pro/edit",
        json={"prompt": "x", "image_urls": ["data:image/png;base64,AA=="]},
    ).json()
    statuses = []
    while not statuses or statuses[-1]["status"] != "COMPLETED":
        time.sleep(0.03)
        statuses.append(http.get(handle["status_url"]).json())
    result = http.get(handle["response_url"]).json()

    assert handle["status_url"].endswith(
        f"/fal/queue/fal-ai/flux-2-pro/requests/{handle['request_id']}/status"
    )
    assert [s["status"] for s in statuses][0] == "IN_QUEUE" and "queue_position" in statuses[0]
    assert "IN_PROGRESS" in [s["status"] for s in statuses]
    assert statuses[-1]["metrics"]["inference_time"] == pytest.approx(0.15)
    assert result["images"][0]["width"] == 1024 and result["images"][0]["height"] == 768
    assert result["has_nsfw_concepts"] == [False]


def test_bfl_poll_goes_pending_then_ready_with_a_signed_url_that_must_not_be_altered(slow):
    running, http = slow
    task = http.post(
        "/v1/flux-2-pro", json={"prompt": "x", "width": 64, "height": 80}, headers={"x-key": "k"}
    ).json()
    states = []
    while not states or states[-1]["status"] == "Pending":
        time.sleep(0.03)
        states.append(http.get(task["polling_url"]).json())
    sample = states[-1]["result"]["sample"]
    tampered = sample.replace("sig=", "sig=x")

    assert task["polling_url"].endswith(f"/v1/get_result?id={task['id']}") and task["cost"] == 3.0
    assert states[-1]["status"] == "Ready" and 0 <= states[0]["progress"] < 1
    assert Image.open(io.BytesIO(http.get(sample).content)).size == (64, 80)
    assert http.get(tampered).status_code == 403
    assert http.get("/v1/get_result?id=nope").json()["status"] == "Task not found"


def test_openai_answers_carry_request_id_processing_time_and_real_formats(simulator):
    with httpx.Client(base_url=simulator.base_url) as http:
        answers = {
            fmt: http.post(
                "/v1/images/generations",
                json={
                    "model": "gpt-image-2.5-flare",
                    "prompt": "x",
                    "size": "96x64",
                    "output_format": fmt,
                },
            )
            for fmt in ("png", "jpeg", "webp")
        }
        missing = http.post("/v1/images/generations", json={"model": "gpt-image-2.5-flare"})

    import base64

    for fmt, answer in answers.items():
        image = Image.open(io.BytesIO(base64.b64decode(answer.json()["data"][0]["b64_json"])))
        assert (image.format.lower(), image.size) == ({"jpeg": "jpeg"}.get(fmt, fmt), (96, 64))
        assert answer.headers["x-request-id"].startswith("req_")
        assert int(answer.headers["openai-processing-ms"]) == 20
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "prompt"


def test_a_required_key_is_enforced_when_the_profile_sets_one():
    with SimulatorThread(profile={**fast_profile(), "require_key": "right"}) as running:
        with httpx.Client(base_url=running.base_url) as http:
            wrong = http.post(
                "/v1/images/generations",
                json={"prompt": "x"},
                headers={"Authorization": "Bearer wrong"},
            )
            right = http.post(
                "/v1/images/generations",
                json={"prompt": "x", "size": "32x32"},
                headers={"Authorization": "Bearer right"},
            )

    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert right.status_code == 200


def test_failure_mixes_follow_the_profile_probabilities():
    profile = fast_profile(
        {
            "queue_ms": 0,
            "processing_ms": 0,
            "transfer_ms": 0,
            "failures": {"rate_limited": 0.3, "server_error": 0.2},
        }
    )
    with (
        SimulatorThread(profile=profile) as running,
        httpx.Client(base_url=running.base_url) as http,
    ):
        codes = [
            http.post(
                "/fal/run/sim/x", json={"prompt": "x", "image_size": {"width": 16, "height": 16}}
            ).status_code
            for _ in range(400)
        ]

    assert codes.count(429) == pytest.approx(120, abs=35)
    assert codes.count(503) == pytest.approx(80, abs=30)
    assert codes.count(200) == pytest.approx(200, abs=40)


def test_profiles_load_from_json_files_and_reject_unknown_failure_kinds(tmp_path):
    path = tmp_path / "profile.json"
    data = {
        "default": {"processing_ms": {"median": 10, "sigma": 0.1}},
        "models": {"a/b": {"failures": {"timeout": 1}}},
    }
    path.write_text(json.dumps(data))
    profile = Profile.load(path)

    assert profile.for_model("a/b/edit").failures == (("timeout", 1.0),)
    assert profile.for_model("c/d").processing.median_ms == 10
    with pytest.raises(ValueError, match="unknown failure kind"):
        Profile({"default": {"failures": {"gremlins": 0.5}}})
