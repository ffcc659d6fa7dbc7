"""Output images: convert to the requested format, store under unguessable names.

Stored images live in MEDIA_ROOT/gateway/ named by 192 random bits and are served by
the API itself at /openai/v1/images/files/<name> (so they work whatever serves
/media/): the name is the only key to an image, as with OpenAI's own image URLs.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "avif": "AVIF"}
CONTENT_TYPES = {
    "png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
    "avif": "image/avif",
}  # fmt: skip
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif", "avif": "avif"}
# Quality of a lossy re-encode when the request gave no output_compression.
DEFAULT_QUALITY = 90
STORAGE_DIR = "gateway"


@dataclass(frozen=True)
class OutputImage:
    data: bytes
    output_format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.output_format]


def convert(data: bytes, output_format: str, compression: int | None = None) -> OutputImage:
    """The image in ``output_format`` ("png", "jpeg", "webp", "gif", "avif").

    Bytes already in that format are kept as they are, unless a compression level
    must be applied (``compression`` 0-100 is the lossy quality; PNG and GIF ignore it).
    ``data`` is an adapter's output, already decoded in full there
    (``bench.providers.inspect_image``): kept bytes need only their header read here,
    so 200 answers arriving at once decode each picture once, not twice.
    """
    with Image.open(io.BytesIO(data)) as image:
        current = (image.format or "").upper()
        width, height = image.size
        wanted = PIL_FORMATS[output_format]
        needs_quality = compression is not None and output_format in ("jpeg", "webp", "avif")
        if current == wanted and not needs_quality:
            return OutputImage(data, output_format, width, height)
        out = io.BytesIO()
        quality = DEFAULT_QUALITY if compression is None else compression
        if wanted == "JPEG":
            image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
        elif wanted in ("WEBP", "AVIF"):
            mode = "RGBA" if "A" in image.getbands() else "RGB"
            image.convert(mode).save(out, wanted, quality=quality)
        elif wanted == "GIF":
            image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE).save(out, "GIF")
        else:
            image.save(out, "PNG")
    return OutputImage(out.getvalue(), output_format, width, height)


FILE_NAME_RE = re.compile(r"([A-Za-z0-9_-]{32})\.(png|jpg|webp|gif|avif)")


def store(image: OutputImage) -> str:
    """Save the image under a new unguessable file name and return that name."""
    file_name = f"{secrets.token_urlsafe(24)}.{EXTENSIONS[image.output_format]}"
    default_storage.save(storage_path(file_name), ContentFile(image.data))
    return file_name


def storage_path(file_name: str) -> str:
    return f"{STORAGE_DIR}/{file_name[:2]}/{file_name}"


def open_stored(file_name: str):
    """(file, content type) of a stored image; FileNotFoundError for any other name."""
    match = FILE_NAME_RE.fullmatch(file_name)
    if match is None:
        raise FileNotFoundError(file_name)
    extension = match[2]
    output_format = next(f for f, ext in EXTENSIONS.items() if ext == extension)
    return default_storage.open(storage_path(file_name), "rb"), CONTENT_TYPES[output_format]
