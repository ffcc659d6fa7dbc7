"""Reading the edit endpoint's multipart upload without trusting its size.

Two limits, both in settings: GATEWAY_MAX_UPLOAD_BYTES for the whole body, checked
against Content-Length before a byte of it is read, and GATEWAY_MAX_IMAGE_BYTES per
image, enforced chunk by chunk while Django streams the parts (small parts stay in
memory, larger ones spill to temporary files). A body that goes past either limit
stops being read at once.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.http.multipartparser import MultiPartParserError
from PIL import Image, UnidentifiedImageError

from bench.providers import ReferenceImage
from leaderboard.gateway.errors import BadRequest, TooLarge

MAX_IMAGES = 9
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
MAX_REFERENCE_PIXELS = 64 * 1024 * 1024


class LimitedUploadHandler(FileUploadHandler):
    """Counts the bytes and files of an upload; stops reading past the limits.

    It passes every chunk on to Django's own handlers, so it never holds data itself.
    """

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.max_image_bytes = settings.GATEWAY_MAX_IMAGE_BYTES
        self.file_bytes = 0
        self.files = 0
        self.problem: str | None = None

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.files += 1
        self.file_bytes = 0
        if self.files > MAX_IMAGES:
            self.problem = "too_many_files"
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.file_bytes += len(raw_data)
        if self.file_bytes > self.max_image_bytes:
            self.problem = "file_too_large"
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def check_declared_length(request, limit: int | None, *, param: str | None = None) -> None:
    """TooLarge when the request says it is longer than ``limit`` bytes (nothing read)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Content-Length is not a number.") from None
    if limit is not None and length > limit:
        raise TooLarge(
            f"The request body is {length} bytes; the limit is {limit} bytes.", param=param
        )


def read_edit_form(request) -> tuple[dict, list[ReferenceImage]]:
    """The edit form's fields and its images (``image`` or ``image[]``, 1 to 9 of them)."""
    check_declared_length(request, settings.GATEWAY_MAX_UPLOAD_BYTES, param="image")
    limiter = LimitedUploadHandler(request)
    request.upload_handlers = [
        limiter,
        MemoryFileUploadHandler(request),
        TemporaryFileUploadHandler(request),
    ]
    try:
        fields = {name: request.POST.get(name) for name in request.POST}
        files = request.FILES.getlist("image") + request.FILES.getlist("image[]")
    except RequestDataTooBig:
        raise TooLarge("The form fields are too large.") from None
    except MultiPartParserError:
        raise BadRequest("The body is not a valid multipart/form-data upload.") from None
    if limiter.problem == "file_too_large":
        raise TooLarge(
            f"An image is over the limit of {limiter.max_image_bytes} bytes.", param="image"
        )
    if limiter.problem == "too_many_files":
        raise BadRequest(f"At most {MAX_IMAGES} images per request.", param="image")
    for name in request.FILES:
        if name == "mask":
            raise BadRequest("mask is not supported; describe the edit in the prompt.", param=name)
        if name not in ("image", "image[]"):
            raise BadRequest(f"Unexpected file field {name!r}; send images as 'image'.", param=name)
    if not files:
        raise BadRequest(
            "Missing required parameter: 'image' (1 to 9 PNG, JPEG or WebP files).",
            param="image",
            code="missing_required_parameter",
        )
    try:
        return fields, [_reference(upload) for upload in files]
    finally:
        for upload in files:
            upload.close()


def _reference(upload) -> ReferenceImage:
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BadRequest(
            f"{upload.name or 'An upload'} is not an image; send PNG, JPEG or WebP.",
            param="image",
        ) from None
    if fmt not in ACCEPTED_FORMATS:
        raise BadRequest(
            f"{upload.name or 'An upload'} is {fmt}; send PNG, JPEG or WebP.", param="image"
        )
    if width * height > MAX_REFERENCE_PIXELS:
        raise BadRequest(
            f"{upload.name or 'An upload'} has {width}x{height} pixels; the limit is 64 MP.",
            param="image",
        )
    return ReferenceImage(data, Image.MIME[fmt], width, height)
