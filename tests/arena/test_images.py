"""Arena images: one canvas, one byte length per challenge, no metadata, and fair to both sides."""

import io

import pytest
from PIL import Image

from leaderboard.arena.images import (
    PAD_COLOUR,
    SourceImage,
    build_image_set,
    clean_jpeg,
    common_size,
    fit_onto_canvas,
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


def test_a_challenge_is_shown_at_its_majority_shape_as_large_as_its_largest_image():
    sizes = [(1365, 768), (1360, 768), (1344, 768), (1024, 1024)]
    assert common_size(sizes, max_side=1024) == (1024, 576)
    assert common_size([(512, 512), (1024, 1024)], max_side=1024) == (1024, 1024)
    assert common_size([(512, 512), (640, 640)], max_side=1024) == (640, 640)
    assert common_size([(2048, 2048)], max_side=1024) == (1024, 1024)
    # A square image in a 16:9 challenge needs a canvas as tall as it is.
    assert common_size([(640, 360), (640, 360), (480, 480)], max_side=2048) == (854, 480)


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
    assert {Image.open(io.BytesIO(data)).size for data in served} == {(128, 128)}
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


def close_to(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def halves(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: where the halves end up shows scaling and cropping."""
    image = Image.new("RGB", size, (30, 60, 220))
    image.paste((220, 30, 30), (0, 0, size[0] // 2, size[1]))
    return image


def write(image: Image.Image, path) -> SourceImage:
    image.save(path, "PNG")
    return SourceImage(path.stem, path, *image.size, fingerprint=path.stem)


def prepare(settings, tmp_path, images: dict[str, Image.Image], max_side=1024):
    settings.ARENA_IMAGE_DIR = tmp_path / "cache"
    settings.ARENA_IMAGE_MAX_SIDE = max_side
    sources = [write(image, tmp_path / f"{name}.png") for name, image in images.items()]
    image_set = build_image_set(1, sources, [])
    served = {name: prepared_bytes(image_set, name) for name in images}
    return image_set, served


def test_a_512_and_a_1024_image_give_two_1024_canvases_with_the_small_one_upscaled(
    settings, tmp_path
):
    image_set, served = prepare(
        settings, tmp_path, {"small": halves((512, 512)), "large": halves((1024, 1024))}
    )
    assert image_set.size == (1024, 1024)
    assert len({len(data) for data in served.values()}) == 1
    small = Image.open(io.BytesIO(served["small"])).convert("RGB")
    assert small.size == (1024, 1024)
    # Enlarged whole: the red half still ends at the middle and nothing is letterboxed.
    for x, y, colour in [(5, 5, (220, 30, 30)), (500, 512, (220, 30, 30)),
                         (524, 512, (30, 60, 220)), (1018, 1018, (30, 60, 220))]:  # fmt: skip
        assert close_to(small.getpixel((x, y)), colour), (x, y, small.getpixel((x, y)))


def test_the_canvas_is_the_challenges_not_the_pairs_so_it_cannot_tell_who_is_paired(
    settings, tmp_path
):
    # Two 512 px images are enlarged too when a third model of the challenge made 1024 px:
    # a canvas sized per pair would show the voter whether that model is in the matchup.
    image_set, served = prepare(
        settings,
        tmp_path,
        {"one": halves((512, 512)), "two": halves((512, 512)), "big": halves((1024, 1024))},
    )
    sizes = {Image.open(io.BytesIO(data)).size for data in served.values()}
    assert sizes == {(1024, 1024)}
    assert len({len(data) for data in served.values()}) == 1


def test_a_smaller_image_is_enlarged_with_lanczos():
    detailed = Image.effect_noise((300, 300), 64).convert("RGB")
    fitted = fit_onto_canvas(detailed, (600, 600))
    assert fitted.tobytes() == detailed.resize((600, 600), Image.Resampling.LANCZOS).tobytes()


def corner_marks(size: tuple[int, int], mark: int) -> tuple[Image.Image, list]:
    """A grey image with a distinct colour square at each corner, and those colours."""
    w, h = size
    image = Image.new("RGB", size, (120, 120, 120))
    marks = [((0, 0), (230, 20, 20)), ((w - mark, 0), (20, 200, 20)),
             ((0, h - mark), (20, 20, 230)), ((w - mark, h - mark), (240, 220, 20))]  # fmt: skip
    for (x, y), colour in marks:
        image.paste(colour, (x, y, x + mark, y + mark))
    return image, [colour for _, colour in marks]


@pytest.mark.parametrize(
    "majority, odd, canvas, box",
    [
        # A wide image in a square challenge: bars above and below.
        ((512, 512), (512, 288), (512, 512), (0, 112, 512, 400)),
        # A tall image in a wide challenge: bars left and right.
        ((640, 360), (270, 360), (640, 360), (185, 0, 455, 360)),
    ],
)
def test_an_off_ratio_image_is_letterboxed_whole_not_cropped(
    settings, tmp_path, majority, odd, canvas, box
):
    odd_image, colours = corner_marks(odd, mark=24)
    image_set, served = prepare(
        settings,
        tmp_path,
        {"one": halves(majority), "two": halves(majority), "odd": odd_image},
    )
    assert image_set.size == canvas
    assert len({len(data) for data in served.values()}) == 1
    shown = Image.open(io.BytesIO(served["odd"])).convert("RGB")
    assert shown.size == canvas
    left, top, right, bottom = box
    inside = 8  # well inside each 24 px mark, clear of JPEG ringing at its edges
    corners = [(left + inside, top + inside), (right - inside, top + inside),
               (left + inside, bottom - inside), (right - inside, bottom - inside)]  # fmt: skip
    for point, colour in zip(corners, colours, strict=True):
        assert close_to(shown.getpixel(point), colour), (point, shown.getpixel(point))
    # The bars are the neutral pad colour, on both sides of the image.
    if top > 0:
        bars = [(canvas[0] // 2, top // 2), (canvas[0] // 2, (bottom + canvas[1]) // 2)]
    else:
        bars = [(left // 2, canvas[1] // 2), ((right + canvas[0]) // 2, canvas[1] // 2)]
    for point in bars:
        assert close_to(shown.getpixel(point), PAD_COLOUR, tolerance=6), point


def test_an_image_a_few_pixels_off_the_challenge_shape_fills_the_canvas_without_bars(
    settings, tmp_path
):
    # 1360x768 (multiples of 16) beside 1365x768: thin bars would tell them apart.
    image_set, served = prepare(
        settings,
        tmp_path,
        {"exact": halves((1365, 768)), "rounded": halves((1360, 768))},
        max_side=2048,
    )
    assert image_set.size == (1366, 768)
    shown = Image.open(io.BytesIO(served["rounded"])).convert("RGB")
    for x, y in [(0, 0), (0, 767), (1365, 0), (1365, 767), (683, 0), (0, 384)]:
        assert not close_to(shown.getpixel((x, y)), PAD_COLOUR, tolerance=30), (x, y)
