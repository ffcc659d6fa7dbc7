"""The gateway under test: the demo catalog, a loopback simulator, a live server, a key.

Every test talks to the real stack: the official ``openai`` client -> our live
server -> the benchmark adapters -> the simulator on loopback.
"""

import pytest
from django.core.management import call_command

from bench.simulator import SimulatorThread
from tests.gateway.builders import PROVIDER_KEY_ENVS, openai_client, quick_profile


@pytest.fixture
def simulator():
    """A simulator with millisecond delays and no failures (``use_profile`` changes that)."""
    with SimulatorThread(profile=quick_profile()) as running:
        yield running


def load_catalog(base_url: str, settings, tmp_path, monkeypatch) -> None:
    """The demo catalog with its `simulated` provider at ``base_url``.

    The real providers' keys are unset, so, as in the demo, only `simulated` serves.
    """
    from leaderboard.models import Provider

    for name in PROVIDER_KEY_ENVS:
        monkeypatch.delenv(name, raising=False)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GATEWAY_UPSTREAM_TIMEOUT_S = 10
    call_command("loaddata", "catalog", verbosity=0)
    Provider.objects.filter(slug="simulated").update(base_url=base_url)


@pytest.fixture
def catalog(transactional_db, simulator, settings, tmp_path, monkeypatch):
    """The catalog, committed (the live server's threads must see it), on the simulator."""
    load_catalog(simulator.base_url, settings, tmp_path, monkeypatch)
    return simulator


@pytest.fixture
def catalog_rows(db, settings, tmp_path, monkeypatch):
    """The catalog inside the test's transaction, for tests that send no request upstream."""
    load_catalog("http://127.0.0.1:9", settings, tmp_path, monkeypatch)


@pytest.fixture
def api_key(catalog):
    """A key made the way the README says: by the create_api_key command."""
    from tests.gateway.builders import create_key_with_command

    return create_key_with_command("tests")


@pytest.fixture
def api(live_server, api_key):
    """The official OpenAI client, pointed at our server with the test key."""
    with openai_client(live_server, api_key) as client:
        yield client
