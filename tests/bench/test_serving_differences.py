"""Measured differences between providers of one model: SSIM as Wang et al. (2004)
define it, and the runner measuring every two offerings' images of one request."""

import io

import numpy as np
from PIL import Image, ImageFilter
from scipy.ndimage import gaussian_filter

from bench.runner import run_benchmark
from bench.serving import ssim, structural_similarity
from leaderboard.models import BenchSample, Generation, ServingDifference
from tests.bench.builders import challenge, image_model, offering, provider


def encoded(image: Image.Image, fmt="PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_ssim_matches_scikit_image_on_golden_cases():
    # Values from skimage.metrics.structural_similarity 0.26.0 with gaussian_weights=True,
    # sigma=1.5, use_sample_covariance=False, data_range=255 (Wang et al.'s settings).
    rng = np.random.default_rng(0)
    golden = [0.958626, 0.377381, 0.119153, 0.055004]
    for k, expected in enumerate(golden):
        x = gaussian_filter(rng.random((200, 300)) * 255, 1 + k)
        y = np.clip(x + rng.normal(0, 5 + 10 * k, x.shape), 0, 255)
        assert round(structural_similarity(x, y), 6) == expected


def test_ssim_is_one_for_the_same_picture_and_falls_with_blur_and_shrinking():
    rng = np.random.default_rng(1)
    noise = (rng.random((256, 256, 3)) * 255).astype("uint8")
    picture = Image.fromarray(noise).filter(ImageFilter.GaussianBlur(2))
    original = encoded(picture)
    assert ssim(original, original) == 1.0
    assert ssim(original, encoded(picture, "WEBP", lossless=True)) == 1.0
    jpeg = ssim(original, encoded(picture, "JPEG", quality=90))
    degraded = picture.resize((192, 192)).filter(ImageFilter.GaussianBlur(1))
    smaller = ssim(original, encoded(degraded))
    other = Image.fromarray(np.roll(noise, 40, axis=0)).filter(ImageFilter.GaussianBlur(2))
    assert 1.0 > jpeg > smaller > ssim(original, encoded(other))
    assert ssim(original, encoded(degraded)) == ssim(encoded(degraded), original)


def test_the_runner_measures_each_two_offerings_of_a_model_with_the_same_seed(
    database_url, media_root, simulator
):
    model = image_model("shared-model")
    first = offering(provider("simulated"), model, "fal_queue", model_id="sim/shared-a")
    second = offering(provider("other"), model, "replicate", model_id="sim/shared-b")
    loner = offering(provider("third"), image_model("loner"), "bfl")
    challenge("lighthouse", "A lighthouse at dawn")
    challenge("fox", "A red fox in snow")
    summary = run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        repeat=2,
        poll_interval_s=0.005,
        base_url_overrides={p: simulator.base_url for p in ("simulated", "other", "third")},
    )
    assert summary.counts == {"ok": 12}
    differences = list(ServingDifference.objects.select_related("generation_a", "generation_b"))
    # 2 challenges x 2 seeds, one pair of offerings each; the lone model has no pair.
    assert len(differences) == 4
    for difference in differences:
        a, b = difference.generation_a, difference.generation_b
        assert {a.offering_id, b.offering_id} == {first.id, second.id}
        assert (difference.offering_a_id, difference.offering_b_id) == (first.id, second.id)
        assert a.challenge_id == b.challenge_id == difference.challenge_id
        assert a.seed == b.seed == difference.seed
        assert difference.image_model_id == model.id
        # The simulator draws another picture per model id: far from identical.
        assert 0.0 < difference.ssim < 0.9
    assert not Generation.objects.filter(
        offering=loner,
        id__in=[g for d in differences for g in (d.generation_a_id, d.generation_b_id)],
    ).exists()
    # Each stored image came from a sample of this run, and nothing is measured twice.
    assert BenchSample.objects.filter(generation__isnull=False).count() == 12


def test_two_providers_returning_identical_pixels_measure_as_one_picture(
    database_url, media_root, simulator
):
    # The same provider model id on the simulator draws the same picture for a seed: the
    # runner keeps one generation, and both samples point at it.
    model = image_model("proxied-model")
    first = offering(provider("simulated"), model, "fal_queue", model_id="sim/same")
    second = offering(provider("reseller"), model, "replicate", model_id="sim/same")
    challenge("lighthouse", "A lighthouse at dawn")
    summary = run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        repeat=2,
        poll_interval_s=0.005,
        base_url_overrides={p: simulator.base_url for p in ("simulated", "reseller")},
    )
    assert summary.counts == {"ok": 4}
    assert Generation.objects.count() == 2  # one picture per seed
    differences = list(ServingDifference.objects.all())
    assert len(differences) == 2
    for difference in differences:
        assert (difference.offering_a_id, difference.offering_b_id) == (first.id, second.id)
        assert difference.generation_a_id == difference.generation_b_id
        assert difference.ssim == 1.0
