"""Fixtures for bench tests: a loopback simulator and a media root Django and bench share."""

import pytest

from bench.simulator import SimulatorThread
from tests.bench.builders import fast_profile


@pytest.fixture
def media_root(tmp_path, settings):
    """A fresh MEDIA_ROOT, set for Django (reference uploads) and passed to bench."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def simulator():
    """A simulator with millisecond delays and no failures; ``simulator.simulator.profile``
    can be replaced by a test. Yields the SimulatorThread (``base_url``, ``simulator``)."""
    with SimulatorThread(profile=fast_profile()) as running:
        yield running


def set_profile(running: SimulatorThread, profile: dict) -> None:
    from bench.simulator import Profile

    running.simulator.profile = Profile(profile)
