import pytest
from django.test import Client

from tests.arena.builders import build_arena, use_temporary_media
from tests.arena.pages import prove


@pytest.fixture(autouse=True)
def arena_media(settings, tmp_path):
    use_temporary_media(settings, tmp_path)
    settings.ARENA_POW_MAX_NUMBER = 500  # the real proof of work, made cheap for tests


@pytest.fixture
def world(db):
    """Three models, two text-to-image challenges, three arena images of each model for
    each: room for six fresh matchups per voter (3 pairs x 2 prompts)."""
    return build_arena(models=3, challenges=2, images=3)


def proven_client() -> Client:
    client = Client()
    assert prove(client).status_code == 200
    return client


@pytest.fixture
def voter(db):
    """A browser whose voter identity has passed its proof of work: a test client that
    keeps its cookies (voter identity, CSRF token)."""
    return proven_client()


@pytest.fixture
def other_voter(db):
    return proven_client()
