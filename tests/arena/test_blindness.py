"""An audit: fetch matchups and their images as a client would, and prove that nothing
received before the vote tells which model, vendor or provider made which image."""

import dataclasses
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from leaderboard.arena.presenters import (
    BlindMatchup,
    BlindReference,
    BlindSlot,
    image_url,
    vote_url,
)
from leaderboard.models import Generation, ImageModel, Offering, Provider
from tests.arena.builders import load_catalog_with_images
from tests.arena.pages import open_arena, read_page
from tests.arena.test_images import assert_no_metadata

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def catalog(db):
    """The real catalog; every image's metadata names its model, vendor and provider."""
    return load_catalog_with_images()


def identifying_strings() -> set[str]:
    strings = set()
    for model in ImageModel.objects.all():
        strings |= {model.name, model.slug, model.vendor}
    for provider in Provider.objects.all():
        strings |= {provider.name, provider.slug}
    strings |= set(Offering.objects.values_list("provider_model_id", flat=True))
    for generation in Generation.objects.all():
        strings |= {generation.image.name.rsplit("/", 1)[-1], generation.sha256[:12]}
    return {s for s in strings if s}


def leaks(text: str, strings: set[str]) -> list[str]:
    """The identifying strings found in `text` as whole words, ignoring case."""
    lowered = text.lower()
    return sorted(
        s for s in strings if re.search(rf"(?<![\w.-]){re.escape(s.lower())}(?![\w-])", lowered)
    )


def header_text(response) -> str:
    return "\n".join(f"{name}: {value}" for name, value in response.items()) + str(response.cookies)


@pytest.mark.parametrize("path", ["/arena/", "/arena/edit/"])
def test_nothing_a_client_receives_before_the_vote_names_a_model(catalog, path):
    strings = identifying_strings()
    browser = Client()
    seen_urls = set()
    for _ in range(8):
        response = browser.get(path)
        page = read_page(response)
        assert leaks(page.html, strings) == []
        assert leaks(header_text(response), strings) == []
        sizes = set()
        for url in page.image_urls:
            image = browser.get(url)
            assert image.status_code == 200
            assert image["Content-Type"] == "image/jpeg"
            for revealing in ("Content-Disposition", "Last-Modified", "ETag", "X-Model"):
                assert revealing not in image
            assert leaks(header_text(image), strings) == []
            data = image.content
            assert_no_metadata(data)
            if url.endswith(("/a", "/b")):
                sizes.add((len(data), Image.open(io.BytesIO(data)).size))
        # Both sides of a matchup: the same byte length and the same pixel size.
        assert len(sizes) == 1
        seen_urls.update(page.image_urls)
        api = browser.get(f"/arena/next?mode={'edit' if 'edit' in path else 't2i'}", **JSON)
        assert leaks(api.content.decode(), strings) == []
    # Image URLs are per matchup: 8 matchups, 16 different image URLs.
    assert len([u for u in seen_urls if u.endswith(("/a", "/b"))]) == 8 * 2


def test_image_urls_differ_per_matchup_even_for_the_same_two_images(catalog):
    browser = Client()
    first = open_arena(browser)
    again = open_arena(browser)
    assert not set(first.image_urls) & set(again.image_urls)
    assert all(
        re.fullmatch(r"/arena/image/[A-Za-z0-9_-]{43}/(a|b|ref\d+)", u) for u in first.image_urls
    )


def test_the_template_contract_gives_pages_only_labels_and_opaque_urls():
    allowed = {
        BlindMatchup: {
            "code",
            "mode",
            "title",
            "prompt",
            "category",
            "slots",
            "references",
            "vote_url",
        },
        BlindSlot: {"key", "label", "image_url", "width", "height"},
        BlindReference: {"image_url", "alt"},
    }
    for cls, fields in allowed.items():
        assert {f.name for f in dataclasses.fields(cls)} == fields


def test_matchup_urls_are_the_routes_own(db):
    code = "Q" * 43
    assert vote_url(code) == reverse("arena:vote", kwargs={"code": code})
    assert image_url(code, "ref2") == reverse("arena:image", kwargs={"code": code, "image": "ref2"})
