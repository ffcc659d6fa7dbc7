"""The images the simulator serves: real PNG/JPEG/WebP pictures drawn from the seed and prompt."""

from __future__ import annotations

import hashlib
import io
import random
import secrets

_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXT = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}


# --- images -----------------------------------------------------------------------------


def render_image(
    text: str,
    width: int,
    height: int,
    fmt: str = "PNG",
    variant: str = "",
    seed: int | str | None = None,
) -> bytes:
    """A real image of ``width`` x ``height`` pixels: ``text`` over a seeded composition.

    Colours and shapes come from the hash of (``seed``, ``variant``, ``text``): every
    request seed draws a different picture, and ``variant`` (the model id, never
    drawn) makes two models' answers to one seeded prompt differ. No colour belongs to
    a model. Without a seed each call draws a fresh picture, as providers do.
    """
    from PIL import Image, ImageDraw, ImageFont

    if seed is None:
        seed = secrets.token_hex(8)
    rng = random.Random(hashlib.sha256(f"{seed}\n{variant}\n{text}".encode()).digest())
    # A smooth seeded field under the shapes: without it, pictures of a few shapes on a
    # flat colour share their coarse structure, and perceptual hashes of unrelated
    # pictures come within a few bits of each other (the public-crawl test's check).
    field = Image.new("RGB", (6, 6))
    field.putdata([tuple(rng.randrange(40, 200) for _ in range(3)) for _ in range(36)])
    image = field.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 8)):
        x, y = rng.randrange(width), rng.randrange(height)
        r = max(1, rng.randint(min(width, height) // 10, max(1, min(width, height) // 3)))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    size = max(8, min(width, height) // 14)
    font = ImageFont.load_default(size=size)
    words, lines, line = text.split(), [], ""
    per_line = max(4, int(width / (size * 0.55)))
    for word in words:
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    y = size // 2
    for line in lines[: max(1, height // (size + 4))]:
        draw.text((size // 2, y), line, fill=(255, 255, 255), font=font)
        y += size + 4
    out = io.BytesIO()
    options = {"quality": 85} if fmt in ("JPEG", "WEBP") else {"compress_level": 1}
    image.save(out, format=fmt, **options)
    return out.getvalue()
