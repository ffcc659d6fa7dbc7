"""``python -m bench probe`` times any endpoint, no database, for every protocol."""

import json

import pytest

from bench.cli import main
from tests.bench.builders import MODEL_IDS

PROTOCOLS = {
    "openai": "openai_images",
    "replicate": "replicate",
    "fal": "fal_queue",
    "fal_sync": "fal_sync",
    "bfl": "bfl",
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_probe_prints_every_sample_and_the_summary(protocol, simulator, capsys):
    code = main(
        [
            "probe",
            "--protocol",
            protocol,
            "--base-url",
            simulator.base_url,
            "--model",
            MODEL_IDS[PROTOCOLS[protocol]],
            "-n",
            "4",
            "--concurrency",
            "2",
            "--size",
            "128x128",
            "--poll-interval-s",
            "0.01",
            "--json",
        ]
    )

    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(report["samples"]) == 4
    assert all(sample["status"] == "ok" and sample["width"] == 128 for sample in report["samples"])
    summary = report["summary"]
    assert summary["success_rate"] == 1.0 and summary["sample_count"] == 4
    assert summary["ttfb_p50_ms"] <= summary["generation_p50_ms"] <= summary["generation_p95_ms"]


def test_probe_text_output_and_failures(simulator, capsys):
    from bench.simulator import Profile
    from tests.bench.builders import fast_profile

    simulator.simulator.profile = Profile(fast_profile({"failures": {"moderated": 1.0}}))

    code = main(
        [
            "probe",
            "--protocol",
            "bfl",
            "--base-url",
            simulator.base_url,
            "--model",
            "flux-2-pro",
            "-n",
            "2",
            "--poll-interval-s",
            "0.01",
        ]
    )

    out = capsys.readouterr().out
    assert code == 1
    assert "bfl flux-2-pro: 0/2 succeeded (0.0%)" in out and "failures: moderated 2" in out
