"""The model page's code examples run as printed: copied out of the page, run unchanged.

The Python examples run in a fresh interpreter with the official `openai` client, the
curl ones with the system's curl (skipped only where there is no curl), both against
the live test server, whose gateway answers from the loopback simulator.
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.gateway.builders import decoded, png
from tests.gateway.conftest import api_key, catalog, simulator  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def example(page: str, example_id: str) -> str:
    match = re.search(rf'<pre[^>]*id="{example_id}"[^>]*><code>(.*?)</code></pre>', page, re.S)
    assert match, f"no {example_id} on the page"
    return html.unescape(match.group(1))


@pytest.fixture
def run(live_server, api_key, tmp_path):  # noqa: F811
    """Runs a command in a folder holding source.png, with the key in the environment."""
    (tmp_path / "source.png").write_bytes(png(1024, 1024))
    env = {**os.environ, "PAIRWISE_API_KEY": api_key}

    def run_command(command: list[str]) -> str:
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    return run_command


@pytest.fixture
def page(live_server, catalog):  # noqa: F811
    return httpx.get(live_server.url + "/models/flux.2-pro/", timeout=30).text


@pytest.mark.parametrize("example_id", ["example-python-edit", "example-python-generate"])
def test_the_python_examples_run_with_the_official_client(page, run, example_id):
    code = example(page, example_id)
    assert "from openai import OpenAI" in code

    url = run([sys.executable, "-c", code]).strip()

    assert decoded(httpx.get(url, timeout=30).content) == ("PNG", 1024, 1024)


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
@pytest.mark.parametrize("example_id", ["example-curl-edit", "example-curl-generate"])
def test_the_curl_examples_run(page, run, example_id):
    answer = json.loads(run(["bash", "-c", example(page, example_id)]))

    assert decoded(httpx.get(answer["data"][0]["url"], timeout=30).content)[0] == "PNG"
