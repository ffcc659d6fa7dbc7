import pytest
from django.test import Client

from tests.arena.builders import build_arena, use_temporary_media


@pytest.fixture(autouse=True)
def arena_media(settings, tmp_path):
    use_temporary_media(settings, tmp_path)


@pytest.fixture
def world(db):
    """Three models, two text-to-image challenges, three arena images of each model for
    each: room for six fresh matchups per voter (3 pairs x 2 prompts)."""
    return build_arena(models=3, challenges=2, images=3)


@pytest.fixture
def voter():
    """A browser: a test client that keeps its cookies (voter session, CSRF token)."""
    return Client()


@pytest.fixture
def other_voter():
    return Client()
