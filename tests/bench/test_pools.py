"""Distinct pictures: the simulator draws by the request seed, and the store counts
identical pixels once and picks the showcase image of each offering x challenge."""

import io
from collections import Counter
from datetime import UTC, datetime

import httpx
from PIL import Image

from bench.pools import pixel_sha256
from bench.providers.base import GenerationResult
from bench.simulator import render_image
from bench.store import SampleRecord, Store
from leaderboard.models import BenchSample, Generation
from tests.bench.builders import challenge, simulated_catalog


def test_every_request_seed_draws_a_different_picture_and_no_colour_belongs_to_a_model():
    pictures = {
        (model, prompt, seed): render_image(prompt, 64, 64, "PNG", model, seed)
        for model in ("fal-ai/flux-2-pro", "google/imagen-4")
        for prompt in ("A fox in snow", "A lighthouse at dawn")
        for seed in range(10)
    }
    assert len({pixel_sha256(data) for data in pictures.values()}) == len(pictures) == 40
    # The same seed draws the same picture again (seeded, like the real models).
    again = render_image("A fox in snow", 64, 64, "PNG", "google/imagen-4", 3)
    assert again == pictures[("google/imagen-4", "A fox in snow", 3)]
    # A model's backgrounds (the top-left pixel) vary with the seed: no model colour.
    for model in ("fal-ai/flux-2-pro", "google/imagen-4"):
        corners = Counter(
            Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0))
            for (m, _, _), data in pictures.items()
            if m == model
        )
        assert len(corners) >= 15, corners


def test_the_simulator_serves_a_new_picture_for_each_seed_and_each_unseeded_request(simulator):
    def image(**extra):
        with httpx.Client(base_url=simulator.base_url) as http:
            answer = http.post(
                "/fal/run/fal-ai/flux-2-pro", json={"prompt": "A red fox", **extra}
            ).json()
            return http.get(answer["images"][0]["url"]).content

    seeded = [image(seed=1), image(seed=2), image(seed=1)]
    assert pixel_sha256(seeded[0]) != pixel_sha256(seeded[1])
    assert pixel_sha256(seeded[0]) == pixel_sha256(seeded[2])
    assert pixel_sha256(image()) != pixel_sha256(image())


def png(colour, *, comment=""):
    out = io.BytesIO()
    image = Image.new("RGB", (32, 32), colour)
    if comment:
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", comment)
        image.save(out, "PNG", pnginfo=info)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def webp_lossless(colour):
    out = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(out, "WEBP", lossless=True)
    return out.getvalue()


def ok(data, content_type="image/png"):
    return GenerationResult(
        status="ok",
        started_at=datetime.now(UTC),
        width=32,
        height=32,
        content_type=content_type,
        image=data,
    )


def test_identical_pixels_are_one_generation_and_the_first_is_the_showcase_image(
    database_url, media_root
):
    (offering, other) = simulated_catalog(("replicate", "fal_queue"))
    lighthouse = challenge("lighthouse", "A lighthouse at dawn")
    store = Store(database_url)
    try:
        first = [
            SampleRecord(None, offering.id, lighthouse.id, "t2i", ok(png((10, 20, 30)))),
            # The same pixels with different bytes (a text chunk), in the same batch.
            SampleRecord(
                None, offering.id, lighthouse.id, "t2i", ok(png((10, 20, 30), comment="x"))
            ),
            SampleRecord(None, offering.id, lighthouse.id, "t2i", ok(png((40, 50, 60)))),
        ]
        store.write_results(first, media_root)
        # Later, the same picture as lossless WebP, from another offering.
        later = [
            SampleRecord(
                None, other.id, lighthouse.id, "t2i", ok(webp_lossless((10, 20, 30)), "image/webp")
            ),
            SampleRecord(None, other.id, lighthouse.id, "t2i", ok(png((70, 80, 90)))),
        ]
        store.write_results(later, media_root)
    finally:
        store.close()

    generations = Generation.objects.order_by("id")
    assert [(g.offering_id, g.pool) for g in generations] == [
        (offering.id, "showcase"),
        (offering.id, "arena"),
        (other.id, "showcase"),
    ]
    picture = generations[0]
    assert picture.pixel_sha256 == pixel_sha256(png((10, 20, 30)))
    linked = [s.generation_id for s in BenchSample.objects.order_by("id")]
    assert linked == [picture.id, picture.id, generations[1].id, picture.id, generations[2].id]


def test_each_scheduled_run_brings_new_arena_candidates(database_url, media_root, simulator):
    from bench.runner import run_benchmark

    simulated_catalog(("replicate", "fal_queue"))
    challenge("lighthouse", "A lighthouse at dawn")

    def run():
        return run_benchmark(
            database_url,
            media_root,
            suite="tiny",
            poll_interval_s=0.005,
            base_url_overrides={"simulated": simulator.base_url},
        )

    run()
    assert sorted(Generation.objects.values_list("pool", flat=True)) == ["showcase"] * 2
    run()
    run()
    # Fresh seeds every run: new pictures, each an arena candidate (showcase exists).
    pools = Counter(Generation.objects.values_list("pool", flat=True))
    assert pools == {"showcase": 2, "arena": 4}
    assert len(set(Generation.objects.values_list("pixel_sha256", flat=True))) == 6
