"""Named benchmark suites: the request every offering gets for every challenge.

A suite fixes the size parameters (given to ``bench.sizes.normalize_size``
per offering), the output format and the per-request deadline, so that samples of
one suite are comparable across providers and over time. Seeds change per run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    """Request parameters shared by every sample of a run (deadline in seconds).

    ``is_cheapest`` replaces the size parameters by each offering's cheapest request
    (lowest price, then fewest pixels; see ``bench.plan``), for smoke runs.
    """

    name: str
    description: str
    size: str | None = None
    aspect_ratio: str | None = "1:1"
    resolution: str | None = "1K"
    output_format: str = "jpeg"
    # None: a fresh base seed per run, so every scheduled run brings new pictures for the
    # arena's pool (the same seed would mostly repeat them, and repeats count as one).
    seed: int | None = None
    deadline_s: float = 300.0
    is_cheapest: bool = False


SUITES = {
    suite.name: suite
    for suite in (
        Suite("default", "1:1 at 1K (1024x1024), JPEG: the figures the site shows"),
        Suite("quick", "512x512 JPEG, a cheaper smoke run", size="512x512", deadline_s=120.0),
        Suite(
            "tiny",
            "96x96 PNG with a 30 s deadline, for tests and the demo",
            size="96x96",
            output_format="png",
            deadline_s=30.0,
        ),
        Suite(
            "smoke",
            "each offering's cheapest request (python -m bench smoke)",
            deadline_s=120.0,
            is_cheapest=True,
        ),
    )
}


def get_suite(name: str) -> Suite:
    """The suite called ``name``; ValueError listing the known ones otherwise."""
    try:
        return SUITES[name]
    except KeyError:
        raise ValueError(f"unknown suite {name!r} (known: {', '.join(SUITES)})") from None
