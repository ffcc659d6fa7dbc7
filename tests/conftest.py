"""Fixtures shared by every test package."""

import pytest

from tests.support import sqlalchemy_url


@pytest.fixture
def database_url(transactional_db, django_db_blocker):
    """A SQLAlchemy URL for the migrated test database, for code that runs without Django.

    Rows written through it are visible to Django and back, because the
    transactional_db fixture commits instead of wrapping each test in a transaction.
    """
    from django.db import connection

    return sqlalchemy_url(connection.settings_dict)


@pytest.fixture(autouse=True)
def forget_arena_caches():
    """Each worker caches the arena's catalog and recent voters; a test starts without."""
    yield
    from leaderboard.arena.pool import clear_cache

    clear_cache()


@pytest.fixture(autouse=True)
def close_gateway_connections():
    """The API's threads keep their connections; none outlives the test (or its database)."""
    yield
    from leaderboard.gateway.blocking import close_all

    close_all()
