"""Arena images: one shape, one size, one byte length per challenge, and no metadata."""

import io

import pytest
from PIL import Image

from leaderboard.arena.images import (
    SourceImage,
    build_image_set,
    clean_jpeg,
    common_size,
    prepared_bytes,
    snap_ratio,
)
from tests.arena.builders import image_bytes

TELL = "FLUX.2 [pro] by Black Forest Labs via Replicate"
# What any kind of metadata would look like in the bytes.
METADATA_MARKERS = [
    b"Exif",
    b"http://ns.adobe.com",
    b"xmpmeta",
    b"c2pa",
    b"jumb",
    b"ICC_PROFILE",
    b"tEXt",
    b"iTXt",
    b"zTXt",
    b"caBX",
    b"FLUX",
    b"Black Forest",
    b"Replicate",
]


def assert_no_metadata(data: bytes):
    for marker in METADATA_MARKERS:
        assert marker not in data, marker
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    # Only the JFIF header's structural fields remain (identical for every image).
    assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
    assert image.info.get("jfif_density", (1, 1)) == (1, 1)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_re_encoding_strips_exif_xmp_text_chunks_icc_and_c2pa(tmp_path, fmt):
    source = tmp_path / f"generated.{fmt.lower()}"
    source.write_bytes(image_bytes((10, 120, 200), (80, 60), fmt=fmt, tell=TELL))
    original = source.read_bytes()
    assert b"FLUX" in original or b"Black Forest" in original  # the test image does tell

    assert_no_metadata(clean_jpeg(source, (40, 40)))


def test_exif_orientation_is_applied_before_it_is_dropped(tmp_path):
    source = tmp_path / "sideways.jpg"
    source.write_bytes(image_bytes(size=(80, 40), fmt="JPEG", orientation=6))  # rotate 90
    assert Image.open(io.BytesIO(clean_jpeg(source, None))).size == (40, 80)


def test_each_image_snaps_to_the_nearest_standard_shape():
    assert snap_ratio(1024, 1024) == (1, 1)
    assert snap_ratio(1365, 768) == (16, 9)
    assert snap_ratio(1360, 768) == (16, 9)
    assert snap_ratio(1183, 887) == (4, 3)
    assert snap_ratio(768, 1344) == (9, 16)


def test_a_challenge_is_shown_at_the_shape_most_images_have_and_never_enlarged():
    sizes = [(1365, 768), (1360, 768), (1344, 768), (1024, 1024)]
    assert common_size(sizes, max_side=1024) == (1024, 576)
    assert common_size([(512, 512), (1024, 1024)], max_side=1024) == (512, 512)
    assert common_size([(2048, 2048)], max_side=1024) == (1024, 1024)


def test_every_image_of_a_challenge_has_the_same_size_and_byte_length(settings, tmp_path):
    settings.ARENA_IMAGE_DIR = tmp_path / "cache"
    sources = []
    for n, (fmt, size, colour) in enumerate(
        [
            ("PNG", (120, 120), (250, 250, 250)),
            ("JPEG", (128, 120), (10, 10, 10)),
            ("WEBP", (96, 96), (0, 128, 255)),
        ]
    ):
        path = tmp_path / f"g{n}.{fmt.lower()}"
        path.write_bytes(image_bytes(colour, size, fmt=fmt, tell=TELL))
        sources.append(SourceImage(str(n), path, *size, fingerprint=str(n)))
    image_set = build_image_set(1, sources, [])
    served = [prepared_bytes(image_set, str(n)) for n in range(3)]
    assert len({len(data) for data in served}) == 1
    assert {Image.open(io.BytesIO(data)).size for data in served} == {(96, 96)}
    for data in served:
        assert_no_metadata(data)


def test_new_generations_make_a_new_image_set(tmp_path):
    path = tmp_path / "g.png"
    path.write_bytes(image_bytes())
    one = build_image_set(1, [SourceImage("1", path, 96, 96, "aaa")], [])
    two = build_image_set(
        1, [SourceImage("1", path, 96, 96, "aaa"), SourceImage("2", path, 96, 96, "bbb")], []
    )
    assert one.key != two.key
    assert one.key == build_image_set(1, [SourceImage("1", path, 96, 96, "aaa")], []).key
