"""The gateway's settings fail loudly when malformed."""

import os
import subprocess
import sys

from tests.support import REPO_ROOT


def test_an_unknown_routing_key_stops_start_up_and_names_the_known_ones():
    env = {**os.environ, "GATEWAY_ROUTING_ORDER": "success_rate,vibes"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode != 0
    assert "GATEWAY_ROUTING_ORDER has 'vibes'" in result.stderr
    assert "generation_p50_ms" in result.stderr
