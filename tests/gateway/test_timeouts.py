"""One API call ends within GATEWAY_REQUEST_TIMEOUT_S, however many offerings time out."""

import os
import subprocess
import sys

import openai
import pytest

from leaderboard.models import ApiRequest, BenchSample
from tests.gateway.builders import extra_offering, measured, use_profile


def hanging_offerings(simulator, count: int) -> None:
    """``count`` offerings of flux.2-pro ranked first, each never finishing."""
    hang = {}
    for index in range(count):
        offering = extra_offering("flux.2-pro", f"hang{index}", simulator.base_url, f"sim/h{index}")
        measured(offering, success_rate=0.99, p50_ms=100 + index)
        hang[f"sim/h{index}"] = {"failures": {"timeout": 1.0}}
    use_profile(simulator, hang)


def test_a_call_to_hanging_providers_ends_at_the_request_timeout(api, catalog, settings):
    settings.GATEWAY_UPSTREAM_TIMEOUT_S = 2
    settings.GATEWAY_REQUEST_TIMEOUT_S = 3.5
    hanging_offerings(catalog, 3)

    with pytest.raises(openai.APIStatusError) as caught:
        api.images.generate(model="flux.2-pro", prompt="A fox")

    # Three attempts of 2 s would take 6 s: the second gets the 1.5 s left, no third starts.
    assert caught.value.status_code == 504
    samples = BenchSample.objects.order_by("started_at")
    assert [sample.status for sample in samples] == ["timeout", "timeout"]
    assert samples[1].generation_ms is None or samples[1].generation_ms < 1800
    call = ApiRequest.objects.get()
    assert call.status_code == 504 and call.duration_ms < 3500 + 900


def test_the_request_timeout_cannot_be_shorter_than_one_attempt():
    env = {"GATEWAY_UPSTREAM_TIMEOUT_S": "200", "GATEWAY_REQUEST_TIMEOUT_S": "150"}
    done = subprocess.run(
        [sys.executable, "-c", "import leaderboard.settings"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "GATEWAY_REQUEST_TIMEOUT_S (150) is shorter than one attempt" in done.stderr
