"""Which pool a new generation joins, and what "the same picture" means.

The arena stays blind only if its images appear nowhere else with a model's name.
So every Generation belongs to one pool:

- ``showcase``: drawn for the public pages (galleries, challenge pages); never
  served in the arena. The runner makes the first successful generation of each
  offering x challenge a showcase image, until one exists.
- ``arena``: a candidate the arena may serve, until it has been shown in
  ARENA_MAX_IMPRESSIONS matchups.
- ``retired``: an arena image that reached its limit; the pages may show it once
  its last matchup has expired.
- ``duplicate``: pixel-identical to an earlier generation (kept for the record,
  never served, never shown; the earlier one counts).

No Django here: the runner writes these values through bench/store.py, and
leaderboard/models/catalog.py takes its choices from this module.
"""

from __future__ import annotations

import hashlib
import io

SHOWCASE = "showcase"
ARENA = "arena"
RETIRED = "retired"
DUPLICATE = "duplicate"
POOLS = (SHOWCASE, ARENA, RETIRED, DUPLICATE)


def pixel_sha256(data: bytes) -> str:
    """SHA-256 of an image's decoded pixels (mode, size and raw RGB/RGBA bytes).

    Two files that decode to the same picture (the same pixels saved as PNG and as
    lossless WebP, or with different metadata) get the same digest; "" when the
    bytes do not decode.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            pixels = image.convert("RGBA" if has_alpha else "RGB")
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return ""
    digest = hashlib.sha256(f"{pixels.mode}:{pixels.width}x{pixels.height}:".encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()
