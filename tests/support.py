"""Small helpers for tests: readable builders and paths, no fixtures."""

from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parent.parent
VOTES_DIR = REPO_ROOT / "tests" / "data" / "votes"


def sqlalchemy_url(settings_dict: dict) -> str:
    """The SQLAlchemy URL of a Django database settings dict (SQLite or PostgreSQL)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgresql+psycopg://{auth}{host}{port}/{settings_dict['NAME']}"
