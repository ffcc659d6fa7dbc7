"""Measured differences between providers of one model, for the serving arena.

One benchmark run asks every offering of a model the same thing: the same prompt,
seed, size and format. When the runner has stored a run's images it compares, for each
model x challenge x seed, the images of every two offerings and stores their structural
similarity (SSIM) in `leaderboard_servingdifference`. The delivered size, format and
file size are the generations' own columns; the site puts them side by side.

No Django here (bench never imports the site); numpy and scipy only.
"""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from scipy.ndimage import gaussian_filter

from bench.pools import DUPLICATE

DIFFERENCE_TABLE = "leaderboard_servingdifference"
# Wang, Bovik, Sheikh and Simoncelli (2004), "Image quality assessment: from error
# visibility to structural similarity": Gaussian window of sigma 1.5, K1 0.01, K2 0.03,
# grey levels 0-255. The window is truncated at 3.5 sigma (an 11x11 window, as theirs).
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2, SSIM_RANGE = 0.01, 0.03, 255.0
# Images are compared at most this large (long side): SSIM of 1024 px images costs
# ~0.2 s each, and what it detects (blur, re-encoding, other pictures) shows at 512.
MAX_SIDE = 512


def grey_levels(data: bytes) -> np.ndarray:
    """An image's luminance (ITU-R 601-2, as Pillow's "L") as a float array."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def ssim(first: bytes, second: bytes, *, max_side: int = MAX_SIDE) -> float:
    """Mean structural similarity of two encoded images (1.0 = identical pixels).

    Both are decoded to grey levels and resized (Lanczos) to the smaller one's width and
    height, capped at `max_side`, so a provider that delivers fewer pixels is compared at
    its own resolution. SSIM per Wang et al. (2004), Gaussian-weighted local statistics,
    averaged over the pixels whose window lies inside the image.
    """
    from PIL import Image

    images = []
    for data in (first, second):
        with Image.open(io.BytesIO(data)) as image:
            images.append(image.convert("L"))
    width = min(image.width for image in images)
    height = min(image.height for image in images)
    scale = min(1.0, max_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    x, y = (
        np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
        for image in images
    )
    return structural_similarity(x, y)


def structural_similarity(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM of two equal-shape grey-level arrays (0-255), Wang et al. (2004) eq. 13.

    SSIM = ((2 mu_x mu_y + C1)(2 sigma_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 +
    sigma_y^2 + C2)), C1 = (K1 L)^2, C2 = (K2 L)^2, local moments under the Gaussian window.
    """
    if x.shape != y.shape:
        raise ValueError("SSIM needs two images of one shape")

    def blur(a):
        return gaussian_filter(a, SSIM_SIGMA, truncate=SSIM_TRUNCATE, mode="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * SSIM_RANGE) ** 2, (SSIM_K2 * SSIM_RANGE) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    pad = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
    inner = index[pad:-pad, pad:-pad] if min(index.shape) > 2 * pad else index
    return float(inner.mean())


def measure_serving_pairs(store, media_root: Path, *, run_id: int | None = None, say=None) -> int:
    """Store the SSIM of every two offerings' images of one model x challenge x seed.

    An offering's image is the generation its sample points at: when two offerings
    returned pixel-identical pictures the runner kept one generation, and their SSIM is
    1 without decoding anything. With `run_id`, only that run's requests (each run draws
    its own seeds); without, every group that lacks a measurement (the demo's images,
    which have no samples, and older runs). Returns the number of pairs measured.
    """
    table = sa.Table(DIFFERENCE_TABLE, sa.MetaData(), autoload_with=store.engine)
    groups: dict[tuple, dict[int, tuple[int, str]]] = defaultdict(dict)
    with store.engine.connect() as connection:
        for row in connection.execute(_answers_query(store, run_id)):
            key = (row.image_model_id, row.challenge_id, row.seed)
            groups[key].setdefault(row.offering_id, (row.id, row.image))
        done = set(
            connection.execute(
                sa.select(table.c.offering_a_id, table.c.offering_b_id, table.c.challenge_id,
                          table.c.seed)
            )
        )  # fmt: skip
    rows = []
    for (model_id, challenge_id, seed), answers in groups.items():
        for (oa, (ga, path_a)), (ob, (gb, path_b)) in itertools.combinations(
            sorted(answers.items()), 2
        ):
            if (oa, ob, challenge_id, seed) in done:
                continue
            try:
                value = (
                    1.0
                    if ga == gb
                    else ssim(
                        (media_root / path_a).read_bytes(), (media_root / path_b).read_bytes()
                    )
                )
            except (OSError, ValueError) as error:
                if say:
                    say(f"serving difference of generations {ga} and {gb} skipped: {error}")
                continue
            rows.append(
                dict(
                    image_model_id=model_id, challenge_id=challenge_id, seed=seed,
                    offering_a_id=oa, offering_b_id=ob, generation_a_id=ga, generation_b_id=gb,
                    ssim=value, computed_at=store.timestamp(datetime.now(UTC)),
                )
            )  # fmt: skip
    if rows:
        with store.engine.begin() as connection:
            connection.execute(sa.insert(table), rows)
    return len(rows)


def _answers_query(store, run_id: int | None):
    """(offering that answered, its generation) rows: from the samples, which name the
    offering even when its picture was a duplicate, and, without a run, from the
    generations themselves too (demo images have no samples)."""
    g, o, s = store.generation, store.offering, store.sample
    columns = (g.c.id, g.c.image, g.c.challenge_id, g.c.seed, o.c.image_model_id)
    from_samples = (
        sa.select(s.c.offering_id, *columns)
        .join(g, g.c.id == s.c.generation_id)
        .join(o, o.c.id == s.c.offering_id)
        .where(g.c.seed.is_not(None), g.c.pool != DUPLICATE)
    )
    if run_id is not None:
        return from_samples.where(s.c.run_id == run_id).order_by(g.c.id)
    from_generations = (
        sa.select(g.c.offering_id, *columns)
        .join(o, o.c.id == g.c.offering_id)
        .where(g.c.seed.is_not(None), g.c.pool != DUPLICATE)
    )
    union = sa.union(from_samples, from_generations).subquery()
    return sa.select(union).order_by(union.c.id)
