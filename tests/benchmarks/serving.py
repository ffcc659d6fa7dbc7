"""Costs of the serving arena's measurements: SSIM per image pair (what the bench
runner adds per run) and one serving board's fit (what `manage.py serving_boards`
spends per model).

    python -m tests.benchmarks.serving [--pairs 20] [--votes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import time

import numpy as np
from PIL import Image, ImageFilter

from bench.serving import ssim
from leaderboard.ratings.differences import compare


def picture(side: int, seed: int, fmt: str) -> bytes:
    rng = np.random.default_rng(seed)
    noise = (rng.random((side, side, 3)) * 255).astype("uint8")
    image = Image.fromarray(noise).filter(ImageFilter.GaussianBlur(3))
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def time_ssim(side: int, pairs: int) -> list[float]:
    first, second = picture(side, 1, "PNG"), picture(side, 1, "JPEG")
    timings = []
    for _ in range(pairs):
        started = time.perf_counter()
        ssim(first, second)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def time_board(votes: int, offerings: int = 3, rounds: int = 1000) -> float:
    rng = random.Random(0)
    names = [f"provider-{k}/model" for k in range(offerings)]
    truth = {name: 1000.0 - 60.0 * (k == offerings - 1) for k, name in enumerate(names)}
    a, b, outcome = [], [], []
    for _ in range(votes):
        x, y = rng.sample(names, 2)
        p = 1 / (1 + 10 ** ((truth[y] - truth[x]) / 400))
        a.append(x)
        b.append(y)
        outcome.append("a" if rng.random() < p else "b")
    started = time.perf_counter()
    compare(a, b, outcome, bootstrap=rounds, seed=0)
    return (time.perf_counter() - started) * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--votes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, {os.cpu_count()} CPUs")
    for side in (512, 1024, 2048):
        timings = time_ssim(side, args.pairs)
        print(
            f"SSIM of a {side}x{side} PNG against its JPEG: median "
            f"{statistics.median(timings):.1f} ms, max {max(timings):.1f} ms ({args.pairs} pairs)"
        )
    for votes in args.votes:
        print(f"serving board, 3 offerings, {votes:,} votes, 1000 bootstrap rounds: "
              f"{time_board(votes):,.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
