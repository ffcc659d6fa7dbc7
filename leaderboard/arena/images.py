"""Arena images: one format, one size and one byte length per challenge, no metadata.

Before a vote nothing about an image may hint at the model that made it. So every
generation of a challenge is decoded (EXIF orientation applied, colours converted to
sRGB), fitted whole onto the challenge's one canvas and re-encoded as a baseline JPEG
with no EXIF, XMP, ICC, comments, PNG text or C2PA/JUMBF segments. Each file is then
padded with zero bytes after the JPEG end marker (decoders ignore them) to the same
length as the largest one of its challenge, so Content-Length says nothing either.

The canvas is fair to both sides: it has the challenge's shape and is as large as the
largest image (capped at ARENA_IMAGE_MAX_SIDE), so a lower-resolution image is enlarged
(Lanczos) and judged as it is, never does it shrink its opponent; an image of another
shape is letterboxed with a neutral colour, never cropped.

A challenge's prepared set lives in ARENA_IMAGE_DIR/<key>/, where the key hashes the
challenge's generations and the pipeline version: new generations make a new set.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import math
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageCms, ImageOps

log = logging.getLogger(__name__)

PIPELINE_VERSION = 2
JPEG_QUALITY = 86
REFERENCE_MAX_SIDE = 640
PAD_ALIGN_BYTES = 4096
# The shapes providers are asked for; each image is snapped to the nearest one.
STANDARD_RATIOS = (
    (1, 1), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16),
    (4, 5), (5, 4), (21, 9), (9, 21), (2, 1), (1, 2),
)  # fmt: skip
_SRGB = ImageCms.createProfile("sRGB")
# Letterbox bars: a neutral grey, the same as the arena's image frames.
PAD_COLOUR = (228, 228, 228)
# Shapes closer than 2% to the canvas fill it (an invisible stretch) instead of getting
# bars a pixel or two thick, which would tell one provider's rounding from another's.
FILL_TOLERANCE = 0.02


@dataclass(frozen=True)
class SourceImage:
    """One stored image to prepare: an id that names it in the set, its file, its size."""

    id: str
    path: Path
    width: int
    height: int
    fingerprint: str


@dataclass(frozen=True)
class ImageSet:
    """What one challenge's arena images are made from, and where they go."""

    challenge_id: int
    size: tuple[int, int]
    generations: tuple[SourceImage, ...]
    references: tuple[SourceImage, ...]
    key: str

    @property
    def directory(self) -> Path:
        return Path(settings.ARENA_IMAGE_DIR) / self.key

    def path_of(self, image_id: str) -> Path:
        return self.directory / f"{image_id}.jpg"


def snap_ratio(width: int, height: int) -> tuple[int, int]:
    """The standard aspect ratio nearest to width:height (by log ratio)."""
    actual = math.log(width / height)
    return min(STANDARD_RATIOS, key=lambda r: abs(math.log(r[0] / r[1]) - actual))


def challenge_ratio(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The challenge's shape: the standard ratio most of its images have (ties: squarer)."""
    if not sizes:
        return (1, 1)
    ratios = Counter(snap_ratio(w, h) for w, h in sizes)
    return max(ratios, key=lambda r: (ratios[r], -abs(math.log(r[0] / r[1]))))


def common_size(sizes: list[tuple[int, int]], max_side: int) -> tuple[int, int]:
    """The one canvas every image of a challenge is shown on.

    Shape: the challenge's ratio. Scale: just large enough to hold the largest image
    whole without shrinking it, capped at `max_side` on the long side. It is one size for
    the whole challenge rather than per pair, so the canvas size cannot tell a voter
    which models are in a matchup. Sides are even numbers.
    """
    if not sizes:
        return (max_side, max_side)
    rw, rh = challenge_ratio(sizes)
    width = max(max(w, h * rw / rh) for w, h in sizes)
    height = width * rh / rw
    scale = min(1.0, max_side / max(width, height))
    return (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))


def fit_onto_canvas(image: Image.Image, canvas: tuple[int, int]) -> Image.Image:
    """`image` whole on a `canvas`-sized board: scaled (Lanczos) to touch its edges and
    letterboxed with PAD_COLOUR when its shape differs; nothing is cropped."""
    canvas_w, canvas_h = canvas
    w, h = image.size
    if abs(math.log((w / h) / (canvas_w / canvas_h))) <= FILL_TOLERANCE:
        target = canvas
    else:
        scale = min(canvas_w / w, canvas_h / h)
        target = (max(1, min(canvas_w, round(w * scale))), max(1, min(canvas_h, round(h * scale))))
    if image.size != target:
        image = image.resize(target, Image.Resampling.LANCZOS)
    if target == canvas:
        return image
    board = Image.new("RGB", canvas, PAD_COLOUR)
    board.paste(image, ((canvas_w - target[0]) // 2, (canvas_h - target[1]) // 2))
    return board


def build_image_set(
    challenge_id: int,
    generations: list[SourceImage],
    references: list[SourceImage],
) -> ImageSet:
    size = common_size(
        [(g.width, g.height) for g in generations if g.width and g.height],
        settings.ARENA_IMAGE_MAX_SIDE,
    )
    digest = hashlib.sha256(f"v{PIPELINE_VERSION}|{challenge_id}|{size}".encode())
    for image in sorted(generations, key=lambda g: g.id) + list(references):
        digest.update(f"|{image.id}:{image.fingerprint}".encode())
    return ImageSet(
        challenge_id=challenge_id,
        size=size,
        generations=tuple(generations),
        references=tuple(references),
        key=digest.hexdigest()[:32],
    )


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"
            return ImageCms.profileToProfile(image.convert(mode), source, _SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            log.warning("ignoring an unreadable ICC profile")
    return image


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def clean_jpeg(path: Path, size: tuple[int, int] | None, max_side: int = 0) -> bytes:
    """Decode `path` and re-encode it as a metadata-free baseline JPEG.

    With `size`, the whole image is fitted onto a canvas of exactly that size (see
    `fit_onto_canvas`); otherwise it keeps its shape and is shrunk to fit `max_side`.
    """
    with Image.open(path) as opened:
        opened.load()
        image = ImageOps.exif_transpose(opened)
        image = _flatten(_to_srgb(image))
    if size is not None:
        image = fit_onto_canvas(image, size)
    elif max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A fresh image carries no info dict at all, so nothing can tag along into the file.
    bare = Image.new("RGB", image.size)
    bare.paste(image)
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return out.getvalue()


def pad_to(data: bytes, length: int) -> bytes:
    return data + b"\0" * (length - len(data))


def ensure_prepared(image_set: ImageSet) -> None:
    """Write the challenge's prepared images unless they exist (safe across processes)."""
    if image_set.directory.is_dir():
        return
    root = Path(settings.ARENA_IMAGE_DIR)
    root.mkdir(parents=True, exist_ok=True)
    # One worker prepares a set while the others wait for it, instead of all of them
    # re-encoding the same images at once on a cold start.
    with open(root / f"{image_set.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_set.directory.is_dir():
            return
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
        try:
            _write_set(image_set, staging)
            os.rename(staging, image_set.directory)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    try:
        os.unlink(root / f"{image_set.key}.lock")
    except FileNotFoundError:
        pass


def _write_set(image_set: ImageSet, staging: Path) -> None:
    encoded = {}
    for generation in image_set.generations:
        try:
            encoded[generation.id] = clean_jpeg(generation.path, image_set.size)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            log.error("arena: cannot prepare generation %s: %s", generation.id, error)
    if encoded:
        longest = max(len(data) for data in encoded.values())
        length = -(-longest // PAD_ALIGN_BYTES) * PAD_ALIGN_BYTES
        for image_id, data in encoded.items():
            (staging / f"{image_id}.jpg").write_bytes(pad_to(data, length))
    for reference in image_set.references:
        try:
            data = clean_jpeg(reference.path, None, REFERENCE_MAX_SIDE)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            log.error("arena: cannot prepare reference %s: %s", reference.id, error)
            continue
        (staging / f"{reference.id}.jpg").write_bytes(data)


def prepared_bytes(image_set: ImageSet, image_id: str) -> bytes | None:
    """The bytes the arena serves for one image of the set, or None if it has none."""
    ensure_prepared(image_set)
    try:
        return image_set.path_of(image_id).read_bytes()
    except FileNotFoundError:
        return None
