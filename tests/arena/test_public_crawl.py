"""Pools that never meet: crawl every public page and API of the demo and find no image
the arena may still serve, by bytes or by perceptual hash, against both the original
files and the re-encoded images the arena serves."""

import hashlib
import io
import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import imagehash
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from PIL import Image

from leaderboard.arena import images, pool
from leaderboard.models import ArenaMode, Generation
from leaderboard.publication import may_show_publicly

pytestmark = [pytest.mark.slow]
LINK = re.compile(r"""(?:href|src)=["']([^"']+)["']|srcset=["']([^"']+)["']""")
JSON_URL = re.compile(r'"(/[^"\s]+)"')
# Perceptual hashes of different demo pictures lie far apart; an image and its re-encoded
# arena copy lie within a few bits (checked below, so the detector is known to work).
SAME_PICTURE_BITS = 6
MAX_PAGES = 600
NOT_CRAWLED = ("/admin/", "/arena/", "/openai/", "/static/")


def phash(data: bytes):
    with Image.open(io.BytesIO(data)) as image:
        return imagehash.phash(image.convert("RGB"))


def crawl(client: Client) -> tuple[set[str], dict[str, bytes]]:
    """Every page reachable from the home page and the data page; every image on them."""
    queue, seen, found_images = ["/", "/data/", "/api/leaderboard"], set(), {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop()
        path = urlsplit(url).path
        if url in seen or path.startswith(NOT_CRAWLED) or "://" in url:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 and path.startswith(settings.MEDIA_URL):
            # Media are the web server's job in production: read the file it would send.
            file = Path(settings.MEDIA_ROOT) / path.removeprefix(settings.MEDIA_URL)
            if file.is_file():
                found_images[url] = file.read_bytes()
            continue
        if response.status_code != 200:
            continue
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("image/"):
            found_images[url] = b"".join(response) if response.streaming else response.content
            continue
        body = b"".join(response) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        links = [a or b for a, b in LINK.findall(text)]
        if "json" in content_type:
            links += JSON_URL.findall(json.dumps(json.loads(text)))
        for link in links:
            for candidate in link.split(","):
                candidate = candidate.strip().split(" ")[0]
                if candidate and not candidate.startswith(("#", "mailto:", "data:")):
                    queue.append(urljoin(url, candidate).split("#")[0])
    return seen, found_images


@pytest.fixture
def demo(settings, tmp_path, database_url):
    settings.DATABASE_URL = database_url  # the runner (no Django) writes the test database
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARENA_IMAGE_DIR = tmp_path / "arena-images"
    settings.PAGES_SNAPSHOT_CHECK_S = 0
    settings.PAGES_EXPORT_DIR = tmp_path / "exports"
    pool.clear_cache()
    call_command("demo", votes=300, repeat=2, stdout=io.StringIO())
    pool.clear_cache()


def test_no_public_page_or_api_of_the_demo_shows_an_image_the_arena_may_serve(demo):
    hidden = [g for g in Generation.objects.all() if not may_show_publicly(g)]
    assert Generation.objects.filter(pool="arena").count() > 100  # a pool worth hiding
    originals = {g.id: (Path(settings.MEDIA_ROOT) / g.image.name).read_bytes() for g in hidden}
    served = {}
    for mode in ArenaMode.values:
        catalog = pool.arena_catalog(mode, refresh=True)
        for image_set in catalog.image_sets.values():
            for source in image_set.generations:
                data = images.prepared_bytes(image_set, source.id)
                if data is not None and int(source.id) in originals:
                    served[int(source.id)] = data
    assert len(served) > 100
    # The serving arena's images (one model from several providers) are hidden too.
    serving_images = set(
        Generation.objects.filter(offering__provider__slug__startswith="simulated-").values_list(
            "id", flat=True
        )
    )
    assert serving_images and serving_images <= set(served)
    # The demo's measured differences call out the provider that serves a smaller JPEG.
    model_page = Client().get("/models/flux.2-pro/").content.decode()
    assert "Simulated West returns smaller images: 384x384" in model_page
    assert "Simulated West returns JPEG where the others return PNG" in model_page
    assert "Simulated (loopback) and Simulated East: median SSIM 1.0000" in model_page
    hidden_bytes = {hashlib.sha256(d).hexdigest() for d in [*originals.values(), *served.values()]}
    hidden_hashes = {gid: phash(data) for gid, data in originals.items()}
    hidden_hashes.update({-gid: phash(data) for gid, data in served.items()})
    # The detector works: each arena copy is recognised as its original.
    for gid in list(served)[:50]:
        assert hidden_hashes[gid] - hidden_hashes[-gid] <= SAME_PICTURE_BITS

    pages, found = crawl(Client())
    assert len(pages) > 60 and any(path.startswith("/models/") for path in pages)
    public_images = {url: data for url, data in found.items() if "/media/generations/" in url}
    assert len(public_images) > 50  # the galleries do show (showcase) images

    same_bytes = [
        u for u, d in public_images.items() if hashlib.sha256(d).hexdigest() in hidden_bytes
    ]
    assert same_bytes == []
    same_picture = []
    for url, data in public_images.items():
        picture = phash(data)
        if min(picture - other for other in hidden_hashes.values()) <= SAME_PICTURE_BITS:
            same_picture.append(url)
    assert same_picture == []
