"""The providers' official Python clients, unchanged but for their base URL, get images back.

That is the proof that the simulator speaks the real protocols (paths, status
codes, headers, JSON shapes), and so that the adapters tested against it would
work against the real services.
"""

import io

import openai
import pytest
import replicate
from PIL import Image

from bench.simulator import Profile
from tests.bench.builders import fast_profile


def decoded_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size


def test_the_openai_client_generates_and_edits_images(simulator):
    import base64

    client = openai.OpenAI(base_url=f"{simulator.base_url}/v1", api_key="sk-test")

    generated = client.images.generate(
        model="gpt-image-2.5-flare",
        prompt="A lighthouse at dawn",
        size="1024x1024",
        output_format="png",
    )
    png = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(png, "PNG")
    edited = client.images.edit(
        model="gpt-image-2.5-flare",
        image=[("a.png", png.getvalue(), "image/png"), ("b.png", png.getvalue(), "image/png")],
        prompt="Paint it blue",
        size="1024x1536",
    )

    assert decoded_size(base64.b64decode(generated.data[0].b64_json)) == (1024, 1024)
    assert generated.usage.output_tokens > 0 and generated.size == "1024x1024"
    assert decoded_size(base64.b64decode(edited.data[0].b64_json)) == (1024, 1536)
    assert [job.references for job in simulator.simulator.jobs.values()] == [0, 2]


def test_the_openai_client_sees_the_moderation_error_shape(simulator):
    simulator.simulator.profile = Profile(fast_profile({"failures": {"moderated": 1.0}}))
    client = openai.OpenAI(base_url=f"{simulator.base_url}/v1", api_key="sk-test")

    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt-image-2.5-flare", prompt="something", size="1024x1024")

    assert caught.value.code == "moderation_blocked"


def test_the_replicate_client_runs_a_model_and_reads_its_output(simulator):
    """client.run wraps only https: and data: outputs in FileOutput; on plain-HTTP loopback
    the output is the URL string, which the client's own HTTP client then fetches."""
    client = replicate.Client(api_token="r8_test", base_url=simulator.base_url)
    model_input = {"prompt": "A red fox in snow", "aspect_ratio": "16:9", "output_format": "png"}

    url = client.run("black-forest-labs/flux-2-pro", input=model_input)
    simulator.simulator.profile = Profile(fast_profile({"inline": True}))
    inline = client.run("black-forest-labs/flux-2-pro", input=model_input)

    assert url.startswith(f"{simulator.base_url}/files/replicate/")
    assert decoded_size(client._client.get(url).content) == (1365, 768)
    assert isinstance(inline, replicate.helpers.FileOutput)
    assert decoded_size(inline.read()) == (1365, 768)


def test_the_replicate_client_polls_a_prediction_to_completion(simulator):
    client = replicate.Client(api_token="r8_test", base_url=simulator.base_url)

    prediction = client.models.predictions.create(
        model="black-forest-labs/flux-2-pro",
        input={"prompt": "A fox", "aspect_ratio": "custom", "width": 512, "height": 384},
    )
    prediction.wait()

    assert prediction.status == "succeeded"
    assert prediction.metrics["predict_time"] > 0
    data = client._client.get(prediction.output).content
    assert decoded_size(data) == (512, 384)


def test_the_replicate_client_reports_a_moderated_prediction_as_a_model_error(simulator):
    simulator.simulator.profile = Profile(fast_profile({"failures": {"moderated": 1.0}}))
    client = replicate.Client(api_token="r8_test", base_url=simulator.base_url)

    with pytest.raises(replicate.exceptions.ModelError, match="E005"):
        client.run("black-forest-labs/flux-2-pro", input={"prompt": "x"})


def test_fal_client_cannot_be_pointed_at_a_plain_http_simulator():
    """fal-client cannot reach a plain-HTTP loopback simulator without patching it.

    It builds every URL as ``https://{FAL_RUN_HOST}/`` and ``https://{FAL_QUEUE_RUN_HOST}/``
    (fal_client/client.py, hosts read from the environment at import time): the host
    can be changed, the scheme cannot. We do not monkeypatch around that. Instead the
    simulator can serve HTTPS, and test_tls.py runs fal-client unmodified against it
    (FAL_RUN_HOST, FAL_QUEUE_RUN_HOST and the standard SSL_CERT_FILE set).
    """
    import fal_client.client

    assert fal_client.client.RUN_URL_FORMAT.startswith("https://")
    assert fal_client.client.QUEUE_URL_FORMAT.startswith("https://")
