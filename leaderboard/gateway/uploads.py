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
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
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
MEGAPIXEL = 1024 * 1024  # the price sheets' megapixel (bench/pricing.py)


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
    except SuspiciousOperation as error:  # too many fields or files (Django's own limits)
        raise BadRequest(f"The form is refused: {error}", param="image") from None
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
    """The upload as a reference image, once it has been fully decoded and measured.

    Every pixel is decoded before any provider is paid: a truncated or corrupt file
    fails here, not upstream. The size is checked from the header first, so an image
    over GATEWAY_MAX_REFERENCE_MP is refused without decoding it. Providers resize
    anything over their cap (4 MP on the price sheets) and bill it as the cap, so a
    larger upload only costs bandwidth and memory.
    """
    name = upload.name or "An upload"
    data = upload.read()
    max_mp = settings.GATEWAY_MAX_REFERENCE_MP
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
            if fmt not in ACCEPTED_FORMATS:
                raise BadRequest(f"{name} is {fmt}; send PNG, JPEG or WebP.", param="image")
            if width * height > max_mp * MEGAPIXEL:
                raise BadRequest(
                    f"{name} is {width}x{height} ({width * height / MEGAPIXEL:.1f} MP); "
                    f"the limit is {max_mp} MP per reference image (e.g. 2048x2048). "
                    "Scale it down first.",
                    param="image",
                )
            image.load()  # decodes every pixel: truncated or corrupt data raises here
    except BadRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise BadRequest(
            f"{name} is not a complete image (unreadable, truncated or corrupt); "
            "send PNG, JPEG or WebP.",
            param="image",
        ) from None
    return ReferenceImage(data, Image.MIME[fmt], width, height)
