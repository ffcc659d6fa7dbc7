"""How long a cold challenge takes to prepare, and how large its arena images are.

The fair canvas (as large as the challenge's largest image, smaller ones enlarged,
off-ratio ones letterboxed) costs encoding time and bytes; this prints both for a
challenge shaped like a real one: generations of several sizes and shapes.

    python -m tests.benchmarks.arena_images [--generations 13] [--max-side 1024]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

# Mixed like real outputs: 1 MP squares, 0.25 MP squares, 16:9 at 1K, 2K squares.
SIZES = [(1024, 1024), (512, 512), (1365, 768), (2048, 2048), (1024, 1024), (768, 768)]


def photo_like(size: tuple[int, int], seed: int):
    """A smooth gradient with grain: compresses like a photograph, unlike pure noise."""
    from PIL import Image, ImageChops

    w, h = size
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, ((seed * 67) % 256, (seed * 131) % 256, (seed * 29) % 256))
    grain = Image.effect_noise(size, 24).convert("RGB")
    return ImageChops.add(ImageChops.multiply(gradient, tint), grain, scale=1.6)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=13)
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    import django
    from django.conf import settings

    django.setup()
    from leaderboard.arena.images import SourceImage, build_image_set, ensure_prepared

    with tempfile.TemporaryDirectory() as workdir:
        root = Path(workdir)
        sources = []
        for n in range(args.generations):
            size = SIZES[n % len(SIZES)]
            path = root / f"g{n}.png"
            photo_like(size, n).save(path, "PNG")
            sources.append(SourceImage(str(n), path, *size, fingerprint=str(n)))
        settings.ARENA_IMAGE_MAX_SIDE = args.max_side
        timings = []
        for round_ in range(args.rounds):
            settings.ARENA_IMAGE_DIR = root / f"cache{round_}"
            image_set = build_image_set(1, sources, [])
            started = time.perf_counter()
            ensure_prepared(image_set)
            timings.append(time.perf_counter() - started)
        served = sorted(image_set.directory.glob("*.jpg"))
        lengths = {path.stat().st_size for path in served}
        print(
            f"{args.generations} generations -> canvas {image_set.size[0]}x{image_set.size[1]}, "
            f"{len(served)} files of {', '.join(f'{n:,}' for n in sorted(lengths))} bytes; "
            f"cold prepare median {statistics.median(timings):.2f} s "
            f"({statistics.median(timings) / args.generations * 1000:.0f} ms per image, "
            f"{args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
