"""HTTPS: the adapters' own TLS layer (bench.wire), and fal-client against the simulator.

A throw-away self-signed certificate for 127.0.0.1 is made with the openssl command;
without it these tests are skipped.
"""

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys

import pytest

from bench.http import make_client
from bench.providers import Endpoint, ImageRequest, generate, protocol_base_url
from bench.simulator import SimulatorThread, server_ssl_context
from tests.bench.builders import ALL_KINDS, MODEL_IDS, fast_profile, settled_truth
from tests.support import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_simulator(certificate):
    cert, key = certificate
    with SimulatorThread(
        profile=fast_profile(), ssl_context=server_ssl_context(cert, key)
    ) as running:
        yield running


def test_every_adapter_works_over_https(https_simulator, certificate):
    client_context = ssl.create_default_context(cafile=str(certificate[0]))

    async def run_all():
        async with make_client(ssl_context=client_context) as client:
            return [
                await generate(
                    kind,
                    Endpoint(
                        protocol_base_url(kind, https_simulator.base_url),
                        MODEL_IDS[kind],
                        api_key="k",
                        poll_interval_s=0.005,
                        deadline_s=10,
                    ),
                    ImageRequest("A fox over TLS", 256, 256, output_format="png"),
                    client=client,
                )
                for kind in ALL_KINDS
            ]

    results = asyncio.run(run_all())

    assert https_simulator.base_url.startswith("https://")
    assert [(r.status, r.width, r.height, r.error) for r in results] == [
        ("ok", 256, 256, "")
    ] * len(ALL_KINDS)
    for result in results:
        truth = settled_truth(https_simulator, result.provider_request_id)
        assert result.generation_ms == pytest.approx(
            (truth["last_byte_ns"] - truth["received_ns"]) / 1e6, abs=5
        )


def test_an_untrusted_certificate_is_a_connection_error(https_simulator):
    endpoint = Endpoint(https_simulator.base_url + "/v1", "gpt-image-2.5-flare", deadline_s=5)

    result = asyncio.run(generate("openai_images", endpoint, ImageRequest("x", 32, 32)))

    assert result.status == "connection_error" and "certificate" in result.error.lower()


FAL_SCRIPT = """
import io, json, sys, httpx, fal_client
from PIL import Image
arguments = {"prompt": "A red fox", "image_size": {"width": 200, "height": 120}}
queued = fal_client.subscribe("fal-ai/flux-2-pro", arguments=arguments)
direct = fal_client.run("fal-ai/flux-2-pro", arguments=arguments)
sizes = [Image.open(io.BytesIO(httpx.get(r["images"][0]["url"]).content)).size
         for r in (queued, direct)]
print(json.dumps(sizes))
"""


def test_fal_client_runs_unchanged_against_the_simulator_over_https(https_simulator, certificate):
    """fal-client forces https:// (see test_official_clients); with the simulator serving
    TLS, the client runs unmodified: only its documented host variables, its key, and the
    standard SSL_CERT_FILE trust-store variable are set."""
    host = https_simulator.base_url.removeprefix("https://")
    env = {
        **os.environ,
        "FAL_KEY": "fal-test-key",
        "FAL_RUN_HOST": f"{host}/fal/run",
        "FAL_QUEUE_RUN_HOST": f"{host}/fal/queue",
        "SSL_CERT_FILE": str(certificate[0]),
    }

    process = subprocess.run(
        [sys.executable, "-c", FAL_SCRIPT],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert process.returncode == 0, process.stderr[-2000:]
    assert json.loads(process.stdout) == [[200, 120], [200, 120]]
    protocols = [job.protocol for job in https_simulator.simulator.jobs.values()]
    assert protocols == ["fal", "fal"]
