import pytest

from leaderboard.pages.cache import forget_snapshot


@pytest.fixture(autouse=True)
def fresh_pages(settings, tmp_path):
    """An empty page cache, a snapshot re-read on every request, private media and exports."""
    settings.PAGES_SNAPSHOT_CHECK_S = 0
    settings.PAGES_EXPORT_DIR = tmp_path / "exports"
    settings.MEDIA_ROOT = tmp_path / "media"
    forget_snapshot()
    yield
    forget_snapshot()
