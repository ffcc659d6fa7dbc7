"""Small helpers for tests: readable builders and paths, no fixtures."""

from pathlib import Path

from leaderboard.management.locks import sqlalchemy_url  # noqa: F401 (one copy)

REPO_ROOT = Path(__file__).resolve().parent.parent
VOTES_DIR = REPO_ROOT / "tests" / "data" / "votes"
