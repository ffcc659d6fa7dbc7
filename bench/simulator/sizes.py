"""Output sizes the simulator derives from Replicate, fal, BFL and OpenAI request bodies."""

from __future__ import annotations

from bench.sizes import SizeError, dimensions_for

_MAX_SIDE = 4096
_FAL_PRESETS = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}


def _clamp(side: int) -> int:
    return max(16, min(_MAX_SIDE, int(side)))


def _replicate_size(data: dict) -> tuple[int, int]:
    ratio = str(data.get("aspect_ratio") or "1:1")
    if ratio == "custom":
        return _clamp(data.get("width") or 1024), _clamp(data.get("height") or 1024)
    if ratio == "match_input_image":
        ratio = "1:1"
    # Seedream 4 names its tier ``size`` ("2K"); FLUX.2 names it ``resolution`` ("1 MP").
    tier = data.get("size") if data.get("size") in ("1K", "2K", "4K") else data.get("resolution")
    return _by_ratio(ratio, str(tier or "1 MP"))


def _fal_size(data: dict) -> tuple[int, int]:
    size = data.get("image_size")
    if isinstance(size, dict):
        return _clamp(size.get("width") or 1024), _clamp(size.get("height") or 1024)
    if isinstance(size, str) and size in _FAL_PRESETS:
        return _FAL_PRESETS[size]
    if data.get("aspect_ratio") or data.get("resolution"):
        ratio = str(data.get("aspect_ratio") or "1:1")
        return _by_ratio("1:1" if ratio == "auto" else ratio, str(data.get("resolution") or "1K"))
    return _FAL_PRESETS["landscape_4_3"]


def _by_ratio(ratio: str, tier: str) -> tuple[int, int]:
    try:
        width, height = dimensions_for(ratio, tier)
    except SizeError:
        width, height = 1024, 1024
    return _clamp(width), _clamp(height)
