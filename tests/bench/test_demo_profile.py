"""The demo's invented per-provider profiles reach every offering's model ids."""

import json
from pathlib import Path

from bench.simulator.profiles import Profile, expand_provider_profiles

DEMO_PROFILE = Path(__file__).resolve().parents[2] / "fixtures" / "simulator_demo_profile.json"


def test_each_offering_gets_its_providers_invented_profile():
    data = {
        "default": {"processing_ms": 999},
        "providers": {
            "fal": {"queue_ms": 250, "processing_factor": 2.0, "failures": {"server_error": 0.5}},
        },
        "processing_ms": {"flux.2-pro": 1000},
        "models": {"hand/written": {"processing_ms": 5}},
    }
    offerings = [
        ("fal", "flux.2-pro", ("fal-ai/flux-2-pro", "fal-ai/flux-2-pro/edit")),
        ("bfl", "flux.2-pro", ("flux-2-pro", "")),  # no entry: left to the default
        ("fal", "other", ("hand/written", "")),  # a hand-written entry wins
    ]
    profile = Profile(expand_provider_profiles(data, offerings))
    t2i, edit = profile.for_model("fal-ai/flux-2-pro"), profile.for_model("fal-ai/flux-2-pro/edit")
    assert (t2i.queue.median_ms, t2i.processing.median_ms) == (250, 2000)
    assert edit.processing.median_ms == 2600  # edits take 1.3 times as long
    assert dict(t2i.failures) == {"server_error": 0.5}
    assert profile.for_model("flux-2-pro") is profile.default
    assert profile.for_model("hand/written").processing.median_ms == 5


def test_the_demo_profile_says_its_numbers_are_invented_and_covers_every_provider():
    data = json.loads(DEMO_PROFILE.read_text())
    assert "INVENTED" in " ".join(data["about"])
    assert set(data["providers"]) == {"replicate", "fal", "bfl", "openai"}
    Profile(expand_provider_profiles(data, []))  # parses
