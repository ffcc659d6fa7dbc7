"""The official openai client generates images through our gateway, on every protocol."""

import base64

import httpx

from leaderboard.models import ApiKey, ApiRequest, BenchSample
from tests.gateway.builders import decoded

# The catalog's simulated offering of each model speaks one protocol.
PROTOCOL_MODELS = {
    "replicate": "flux.2-pro",
    "fal_queue": "flux.2-max",
    "bfl": "flux.2-flex",
    "openai_images": "nano-banana",
    "fal_sync": "nano-banana-pro",
}


def fetch(url: str) -> bytes:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    return response.content


def test_a_generation_comes_back_as_a_url_to_a_png_from_every_protocol(api):
    # One test for the five protocols: each case is one request on the same live server.
    for kind, model in PROTOCOL_MODELS.items():
        result = api.images.generate(model=model, prompt="A lighthouse at dawn")

        assert len(result.data) == 1, kind
        assert result.data[0].revised_prompt == "A lighthouse at dawn"
        assert result.data[0].b64_json is None
        assert "/openai/v1/images/files/" in result.data[0].url
        assert decoded(fetch(result.data[0].url))[0] == "PNG", kind
        sample = BenchSample.objects.latest("id")
        assert (sample.source, sample.status, sample.offering.endpoint_kind) == (
            "gateway", "ok", kind,
        )  # fmt: skip
    assert BenchSample.objects.count() == len(PROTOCOL_MODELS)


def test_b64_json_carries_the_image_inline_and_the_header_names_the_provider(api):
    raw = api.images.with_raw_response.generate(
        model="flux.2-pro", prompt="A fox", size="1024x768", response_format="b64_json"
    )
    result = raw.parse()

    assert raw.headers["x-pairwise-provider"] == "simulated"
    assert result.data[0].url is None
    assert decoded(base64.b64decode(result.data[0].b64_json)) == ("PNG", 1024, 768)
    assert result.size == "1024x768" and result.output_format == "png"


def test_n_three_makes_three_parallel_upstream_requests_and_three_images(api, catalog):
    result = api.images.generate(model="flux.2-max", prompt="Three apples", n=3, size="512x512")

    assert len(result.data) == 3
    assert len({item.url for item in result.data}) == 3
    assert all(decoded(fetch(item.url))[1:] == (512, 512) for item in result.data)
    assert BenchSample.objects.filter(source="gateway", status="ok").count() == 3
    assert len(catalog.simulator.jobs) == 3


# flux.2-pro is served here by the simulated Replicate FLUX.2 offering: custom sizes go
# as pixels in multiples of 32 (256..2048), table sizes as aspect_ratio + megapixel
# resolution labels, which the provider renders at the exact ratio and area.
SIZE_FORMS = [
    ("1024x768", {}, (1024, 768)),  # WxH: shape and scale
    ("1000x700", {}, (992, 704)),  # WxH rounded to the offering's multiples of 32
    ("16:9", {}, (1365, 768)),  # W:H stands for aspect_ratio, at the default 1 MP
    ("auto", {}, (1024, 1024)),  # the offering's default ratio and tier
    (None, {"aspect_ratio": "16:9"}, (1365, 768)),
    (None, {"resolution": "2K"}, (2048, 2048)),  # 2K is 4 MP: "4 MP", not 2048x2048 pixels
    (None, {"aspect_ratio": "4:3", "resolution": "2K"}, (2365, 1774)),
    (None, {"aspect_ratio": "7:2", "resolution": "1K"}, (1563, 670)),  # nearest: 21:9
    ("512x512", {"aspect_ratio": "16:9", "resolution": "2K"}, (512, 512)),  # size wins
]


def test_every_size_form_reaches_the_provider_as_the_normalized_size(api):
    for size, extra, expected in SIZE_FORMS:
        kwargs = {"size": size} if size else {}
        result = api.images.generate(
            model="flux.2-pro", prompt="Sizes", response_format="b64_json", extra_body=extra,
            **kwargs,
        )  # fmt: skip

        assert decoded(base64.b64decode(result.data[0].b64_json))[1:] == expected, (size, extra)


def test_a_label_only_offering_gets_the_nearest_ratio_of_a_pixel_size(api):
    # nano-banana's offering takes ratios, not pixels: 1000x760 is nearest to 4:3 at 1K.
    result = api.images.generate(
        model="nano-banana", prompt="Ratios", size="1000x760", response_format="b64_json"
    )

    assert decoded(base64.b64decode(result.data[0].b64_json))[1:] == (1183, 887)


def test_every_output_format_is_returned_in_that_format(api):
    formats = {"jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "avif": "AVIF", "png": "PNG"}
    for output_format, pil_format in formats.items():
        result = api.images.generate(
            model="flux.2-flex", prompt="Formats", size="256x256", response_format="b64_json",
            extra_body={"output_format": output_format},
        )  # fmt: skip

        image = decoded(base64.b64decode(result.data[0].b64_json))
        assert image == (pil_format, 256, 256), output_format
        assert result.output_format == output_format


def test_output_compression_is_applied_by_the_gateway_when_the_provider_lacks_it(api):
    def jpeg_bytes(compression):
        result = api.images.generate(
            model="flux.2-flex", prompt="Noise " * 20, size="512x512", output_format="jpeg",
            output_compression=compression, response_format="b64_json",
        )  # fmt: skip
        return len(base64.b64decode(result.data[0].b64_json))

    assert jpeg_bytes(5) < jpeg_bytes(95)


def test_fals_sync_mode_passes_through_and_its_inline_image_is_served(api, catalog):
    result = api.images.generate(
        model="nano-banana-pro", prompt="Inline", extra_body={"sync_mode": True}
    )

    assert decoded(fetch(result.data[0].url))[0] == "PNG"
    assert BenchSample.objects.get().status == "ok"


def test_a_prompt_body_over_djangos_upload_limit_is_a_413(live_server, api_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = httpx.post(
        live_server.url + "/openai/v1/images/generations",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"model": "flux.2-pro", "prompt": "x" * 20_000},
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_usage_is_counted_per_key_and_every_call_is_recorded(api, api_key):
    api.images.generate(model="flux.2-pro", prompt="One", size="1024x1024", n=2)

    key = ApiKey.objects.get()
    assert (key.request_count, key.image_count) == (1, 2)
    assert key.cost_usd == 2 * BenchSample.objects.first().cost_usd > 0
    call = ApiRequest.objects.get()
    assert (call.endpoint, call.status_code, call.images_returned, call.providers) == (
        "generations", 200, 2, "simulated",
    )  # fmt: skip


def test_models_lists_our_models_with_their_modes(api):
    models = {model.id: model for model in api.models.list()}

    assert models["flux.2-pro"].modes == ["generations", "edits"]
    assert models["grok-imagine-image"].modes == ["generations"]
    assert api.models.retrieve("nano-banana").owned_by == "Google"


def test_only_stored_image_names_are_served(live_server, catalog):
    for name in ("notatoken.png", "A" * 32 + ".png"):
        response = httpx.get(f"{live_server.url}/openai/v1/images/files/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "not_found"
    escape = httpx.get(f"{live_server.url}/openai/v1/images/files/..%2f..%2fsettings.py")
    assert escape.status_code == 404
