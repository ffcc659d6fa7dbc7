"""Readable builders for arena tests: models, challenges and real little images.

Images are written under the (temporary) MEDIA_ROOT. Many carry metadata that names
the model that "made" them (EXIF, XMP, PNG text chunks, C2PA boxes, ICC profiles),
so tests can prove the arena strips every trace of it.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from PIL import Image, ImageCms, PngImagePlugin

from bench.pools import pixel_sha256
from leaderboard.arena import pool
from leaderboard.models import (
    ArenaMode,
    Category,
    Challenge,
    ChallengeReference,
    Generation,
    ImageModel,
    Offering,
    Provider,
)

COLOURS = [
    (200, 60, 60),
    (60, 160, 80),
    (50, 90, 200),
    (220, 180, 40),
    (150, 70, 170),
    (40, 40, 40),
]


def use_temporary_media(settings, tmp_path: Path) -> None:
    """Point MEDIA_ROOT and the arena's image cache at tmp_path; no catalog caching."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARENA_IMAGE_DIR = tmp_path / "arena-images"
    settings.ARENA_POOL_CACHE_S = 0
    settings.ARENA_MIN_VOTE_MS = 0
    (tmp_path / "media").mkdir(exist_ok=True)
    pool.clear_cache()


def c2pa_box(claim: str) -> bytes:
    """A JUMBF superbox labelled c2pa, as C2PA manifests are embedded."""
    label = b"c2pa\0"
    description = (
        struct.pack(">I4s", 8 + 16 + 1 + len(label), b"jumd")
        + b"c2pa"
        + bytes(12)
        + b"\x03"
        + label
    )
    content = struct.pack(">I4s", 8 + len(claim), b"json") + claim.encode()
    return struct.pack(">I4s", 8 + len(description) + len(content), b"jumb") + description + content


def with_jpeg_app11(jpeg: bytes, payload: bytes) -> bytes:
    """Insert an APP11 (JUMBF/C2PA) segment right after the JPEG's SOI marker."""
    segment = b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def xmp_packet(text: str) -> bytes:
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="{text}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def image_bytes(
    colour=(120, 120, 120),
    size: tuple[int, int] = (96, 96),
    *,
    fmt: str = "PNG",
    tell: str = "",
    orientation: int | None = None,
    variant: int = 0,
    mark: tuple[int, int, int] | None = None,
) -> bytes:
    """A small image with a diagonal line (`variant` shifts it: another picture). With
    `tell`, it carries that text in every kind of metadata its format allows (EXIF, XMP,
    text chunks, C2PA, ICC description)."""
    image = Image.new("RGB", size, colour)
    for x in range(size[0]):
        image.putpixel((x, (x * size[1] // size[0] + 7 * variant) % size[1]), (255, 255, 255))
    if mark is not None:  # a corner of its own: no two generations share their pixels
        image.paste(mark, (0, 0, 8, 8))
    out = io.BytesIO()
    exif = Image.Exif()
    if tell:
        exif[0x010F] = tell  # Make
        exif[0x0131] = tell  # Software
        exif[0x010E] = tell  # ImageDescription
    if orientation:
        exif[0x0112] = orientation
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if tell else None
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if tell:
            info.add_text("parameters", f"model: {tell}")
            info.add_itxt("XML:com.adobe.xmp", xmp_packet(tell).decode())
            info.add_text("Software", tell, zip=True)
            info.add(b"caBX", c2pa_box(f'{{"claim_generator": "{tell}"}}'))
        image.save(
            out, "PNG", pnginfo=info, exif=exif if (tell or orientation) else None, icc_profile=icc
        )
        return out.getvalue()
    if fmt == "JPEG":
        options = {"exif": exif, "quality": 90}
        if tell:
            options.update(xmp=xmp_packet(tell), icc_profile=icc, comment=tell)
        image.save(out, "JPEG", **options)
        data = out.getvalue()
        return with_jpeg_app11(data, b"JP" + c2pa_box(tell)) if tell else data
    if fmt == "WEBP":
        options = {"exif": exif, "quality": 90}
        if tell:
            options.update(xmp=xmp_packet(tell), icc_profile=icc)
        image.save(out, "WEBP", **options)
        return out.getvalue()
    raise ValueError(fmt)


def add_generation(
    offering: Offering,
    challenge: Challenge,
    *,
    size: tuple[int, int] = (96, 96),
    fmt: str = "PNG",
    colour=None,
    tell: str | None = None,
    variant: int = 0,
    pool: str = "arena",
) -> Generation:
    """A generation of `offering` for `challenge` with a real image file in MEDIA_ROOT.

    By default the file's metadata names the model, vendor and provider (`tell`).
    `variant` draws a different picture; `pool` is arena (a candidate) unless given.
    """
    model = offering.image_model
    if tell is None:
        tell = f"{model.name} by {model.vendor} via {offering.provider.name} ({model.slug})"
    colour = colour or COLOURS[(offering.pk + challenge.pk) % len(COLOURS)]
    mark = (offering.pk % 256, challenge.pk % 256, variant % 256)
    data = image_bytes(colour, size, fmt=fmt, tell=tell, variant=variant, mark=mark)
    digest = hashlib.sha256(data).hexdigest()
    name = f"generations/{model.slug}-{offering.provider.slug}-{digest[:12]}.{fmt.lower()}"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Generation.objects.create(
        offering=offering,
        challenge=challenge,
        image=name,
        width=size[0],
        height=size[1],
        bytes=len(data),
        sha256=digest,
        content_type=f"image/{fmt.lower()}",
        pixel_sha256=pixel_sha256(data),
        pool=pool,
    )


@dataclass
class ArenaWorld:
    """A small arena: models (each with one offering), challenges, one image per pair."""

    category: Category
    provider: Provider
    models: list[ImageModel]
    offerings: list[Offering]
    challenges: list[Challenge]
    generations: list[Generation] = field(default_factory=list)

    def generation(self, model: ImageModel, challenge: Challenge) -> Generation:
        return next(
            g
            for g in self.generations
            if g.offering.image_model_id == model.pk and g.challenge_id == challenge.pk
        )


def build_arena(
    models: int = 3,
    challenges: int = 2,
    *,
    mode: str = ArenaMode.TEXT_TO_IMAGE,
    category: str = "portraiture",
    sizes: list[tuple[int, int]] | None = None,
    fmt: str = "PNG",
    images: int = 1,
) -> ArenaWorld:
    """`models` models with `images` arena images for each of `challenges` challenges."""
    category_row, _ = Category.objects.get_or_create(
        slug=category, defaults={"name": category.replace("-", " ").title()}
    )
    provider, _ = Provider.objects.get_or_create(
        slug="testprov", defaults={"name": "Testprov Cloud", "base_url": "http://127.0.0.1:9"}
    )
    existing = ImageModel.objects.count()
    model_rows, offering_rows = [], []
    for n in range(models):
        number = existing + n + 1
        model = ImageModel.objects.create(
            slug=f"painter-{number}",
            name=f"Painter {number}",
            vendor=f"Vendor {number} Labs",
            does_edit=True,
        )
        model_rows.append(model)
        offering_rows.append(
            Offering.objects.create(
                image_model=model,
                provider=provider,
                provider_model_id=f"testprov/painter-{number}",
                endpoint_kind="openai_images",
                pricing={"unit": "image", "usd": "0.01"},
            )
        )
    start = Challenge.objects.count()
    challenge_rows = [
        Challenge.objects.create(
            slug=f"{category}-challenge-{start + n + 1}",
            title=f"Challenge {start + n + 1}",
            prompt=f"A lighthouse at dusk, number {start + n + 1}",
            mode=mode,
            category=category_row,
        )
        for n in range(challenges)
    ]
    if mode == ArenaMode.EDIT:
        for challenge in challenge_rows:
            add_reference(challenge)
    world = ArenaWorld(category_row, provider, model_rows, offering_rows, challenge_rows)
    for challenge in challenge_rows:
        for k, offering in enumerate(offering_rows):
            size = sizes[k % len(sizes)] if sizes else (96, 96)
            for n in range(images):
                world.generations.append(
                    add_generation(offering, challenge, size=size, fmt=fmt, variant=n)
                )
    return world


def add_reference(challenge: Challenge, position: int = 0) -> ChallengeReference:
    name = f"references/{challenge.slug}-{position}.png"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes((90, 90, 160), (64, 80), tell="reference camera"))
    return ChallengeReference.objects.create(
        challenge=challenge, position=position, image=name, width=64, height=80
    )


def load_catalog_with_images() -> list[Generation]:
    """The real catalog, with a metadata-laden image per (simulated offering, challenge)."""
    call_command("loaddata", "catalog", verbosity=0)
    for reference in ChallengeReference.objects.all():
        path = Path(settings.MEDIA_ROOT) / reference.image.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_bytes((90, 90, 160), (64, 80), tell="reference camera"))
    generations = []
    offerings = Offering.objects.filter(provider__slug="simulated").select_related(
        "image_model", "provider"
    )
    formats = ["PNG", "JPEG", "WEBP"]
    for challenge in Challenge.objects.all():
        for k, offering in enumerate(offerings):
            model = offering.image_model
            if challenge.mode == ArenaMode.EDIT and not model.does_edit:
                continue
            # Different formats and sizes per model, as real providers return them.
            size = (96 + 16 * (k % 3), 96)
            generations.append(
                add_generation(offering, challenge, size=size, fmt=formats[k % len(formats)])
            )
    return generations
