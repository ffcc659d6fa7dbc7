"""HTTP caching: public pages and the data API carry validators and answer 304s;
the arena and the API gateway stay private."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.http import http_date

from leaderboard.models import ImageModel
from tests.pages import builders
from tests.pages.builders import board

pytestmark = pytest.mark.django_db

PUBLIC = [
    "/",
    "/leaderboard/?mode=t2i",
    "/models/flux.2-pro/",
    "/providers/fal/",
    "/api/leaderboard?mode=t2i",
    "/api/leaderboard.csv?mode=t2i",
    "/api/models/flux.2-pro",
    "/api/providers/stats",
]


@pytest.fixture
def site():
    builders.site_with_results()


@pytest.mark.parametrize("path", PUBLIC)
def test_a_public_answer_names_its_validators_and_lets_shared_caches_keep_it(client, site, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["ETag"].startswith('"') and response["Last-Modified"]
    cache_control = response["Cache-Control"]
    assert "public" in cache_control and "s-maxage=60" in cache_control


@pytest.mark.parametrize("path", PUBLIC)
def test_a_request_with_the_current_etag_gets_304_without_a_body(client, site, path):
    etag = client.get(path)["ETag"]

    again = client.get(path, headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and "s-maxage" in again["Cache-Control"]


@pytest.mark.parametrize("path", ["/leaderboard/?mode=t2i", "/api/leaderboard?mode=t2i"])
def test_a_request_since_the_last_modification_gets_304(client, site, path):
    last_modified = client.get(path)["Last-Modified"]

    assert client.get(path, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = http_date(timezone.now().timestamp() - 10 * 86400)
    assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200


def test_the_data_api_304_still_allows_any_origin(client, site):
    etag = client.get("/api/models/flux.2-pro")["ETag"]

    again = client.get("/api/models/flux.2-pro", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/leaderboard/?mode=t2i", "/api/leaderboard?mode=t2i"])
def test_a_new_snapshot_answers_the_old_etag_with_the_new_content(client, site, path):
    first = client.get(path)
    board(
        {"nano-banana-pro": (1401, 1390, 1412)}, computed_at=timezone.now() + timedelta(seconds=1)
    )

    again = client.get(
        path, headers={"If-None-Match": first["ETag"], "If-Modified-Since": first["Last-Modified"]}
    )

    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert again.content != first.content


def test_a_catalog_edit_changes_the_etag_of_the_page_it_shows_on(client, site, settings):
    settings.PAGES_CACHE_S = 0  # the edit shows once the cached page expires
    first = client.get("/models/flux.2-pro/")
    ImageModel.objects.filter(slug="flux.2-pro").update(name="FLUX.2 [pro] renamed")

    again = client.get("/models/flux.2-pro/", headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 200 and "renamed" in again.content.decode()
    assert again["ETag"] != first["ETag"]


def test_the_same_page_has_the_same_etag_on_every_worker(client, site):
    from leaderboard.pages.cache import forget_snapshot

    first = client.get("/leaderboard/?mode=t2i")["ETag"]
    forget_snapshot()  # another worker: its own cache, rendered afresh

    assert client.get("/leaderboard/?mode=t2i")["ETag"] == first


@pytest.mark.parametrize("path", ["/arena/t2i/", "/arena/next?mode=t2i", "/openai/v1/models"])
def test_the_arena_and_the_api_gateway_are_never_shared(client, site, path):
    response = client.get(path)

    assert response["Cache-Control"] == "private, no-store"
    assert "ETag" not in response
