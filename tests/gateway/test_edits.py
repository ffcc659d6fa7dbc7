"""Edits: multipart uploads of 1 to 9 images, through the official client, and their limits."""

import base64
import socket
from urllib.parse import urlsplit

import httpx
import openai
import pytest

from leaderboard.models import ApiRequest, BenchSample, Offering
from tests.gateway.builders import decoded, png


def test_an_edit_with_one_image_returns_a_url(api, catalog):
    result = api.images.edit(
        model="flux.2-pro", image=("in.png", png(), "image/png"), prompt="Make it blue",
        size="1024x1024",
    )  # fmt: skip

    assert decoded(httpx.get(result.data[0].url).content) == ("PNG", 1024, 1024)
    offering = Offering.objects.get(provider__slug="simulated", image_model__slug="flux.2-pro")
    [job] = catalog.simulator.jobs.values()
    assert (job.model, job.references) == (offering.edit_model_id or offering.provider_model_id, 1)
    assert BenchSample.objects.get().mode == "edit"


def test_an_edit_with_several_images_sends_them_all_on_every_protocol(api, catalog):
    images = [
        ("in0.png", png(), "image/png"),
        ("in1.jpg", png(fmt="JPEG"), "image/jpeg"),
        ("in2.webp", png(fmt="WEBP"), "image/webp"),
    ]
    # fal queue, BFL and OpenAI multipart (replicate is the test above).
    for model in ("flux.2-max", "flux.2-flex", "nano-banana"):
        result = api.images.edit(
            model=model, image=images, prompt="Combine them", response_format="b64_json", n=2
        )

        assert len(result.data) == 2, model
        assert all(decoded(base64.b64decode(item.b64_json))[0] == "PNG" for item in result.data)
    assert [job.references for job in catalog.simulator.jobs.values()] == [3] * 6


def test_more_images_than_the_model_takes_are_refused_naming_image(api):
    with pytest.raises(openai.BadRequestError) as caught:
        api.images.edit(model="nano-banana", image=[("a.png", png(), "image/png")] * 4,
                        prompt="Too many")  # fmt: skip

    assert caught.value.status_code == 400 and caught.value.body["param"] == "image"


def test_more_than_nine_images_are_refused(api):
    with pytest.raises(openai.BadRequestError) as caught:
        api.images.edit(model="flux.2-pro", image=[("a.png", png(), "image/png")] * 10,
                        prompt="Too many")  # fmt: skip

    assert caught.value.body["param"] == "image"
    assert "At most 9" in caught.value.message


def test_an_upload_that_is_not_a_png_jpeg_or_webp_is_refused(api):
    for upload in [("a.txt", b"hello", "text/plain"), ("a.gif", png(fmt="GIF"), "image/gif")]:
        with pytest.raises(openai.BadRequestError) as caught:
            api.images.edit(model="flux.2-pro", image=upload, prompt="Edit")
        assert caught.value.body["param"] == "image"


def test_an_edit_on_a_model_that_does_not_edit_names_model(api):
    with pytest.raises(openai.BadRequestError) as caught:
        api.images.edit(model="grok-imagine-image", image=("a.png", png(), "image/png"),
                        prompt="Edit")  # fmt: skip

    assert caught.value.body["param"] == "model"


def test_an_edit_without_an_image_names_image(live_server, api_key):
    response = httpx.post(
        live_server.url + "/openai/v1/images/edits",
        headers={"Authorization": f"Bearer {api_key}"},
        files={"model": (None, "flux.2-pro"), "prompt": (None, "Edit")},
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image"


def test_a_mask_is_refused_rather_than_ignored(api):
    with pytest.raises(openai.BadRequestError) as caught:
        api.images.edit(model="flux.2-pro", image=("a.png", png(), "image/png"),
                        mask=("m.png", png(), "image/png"), prompt="Edit")  # fmt: skip

    assert caught.value.body["param"] == "mask"


def test_an_image_over_the_per_image_limit_is_refused_with_413(api, settings):
    settings.GATEWAY_MAX_IMAGE_BYTES = 100_000

    with pytest.raises(openai.APIStatusError) as caught:
        api.images.edit(model="flux.2-pro", image=("big.bin", b"\0" * 300_000, "image/png"),
                        prompt="Edit")  # fmt: skip

    assert caught.value.status_code == 413
    assert caught.value.body["param"] == "image"
    assert ApiRequest.objects.get().status_code == 413


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(live_server, api_key):
    """A client claiming a 10 GB body gets its 413 after sending 64 KB of it: the
    server answers from Content-Length alone, never reading (let alone holding) the rest."""
    address = urlsplit(live_server.url)
    head = (
        "POST /openai/v1/images/edits HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\n"
        f"Authorization: Bearer {api_key}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {10 * 1024**3}\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(head.encode() + b"--xyz\r\n" + b"\0" * 65536)
        answer = b""
        while b"}}" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
    answer = answer.decode("latin-1")

    assert answer.startswith("HTTP/1.1 413")
    assert '"code": "request_too_large"' in answer
