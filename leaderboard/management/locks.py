"""One copy at a time of a cron job on this site's database.

`manage.py ratings` and `manage.py stats` each take the benchmark runner's run lock
(``bench.lock.RunLock``) under their own name: a file lock on this host and, on
PostgreSQL, a session advisory lock for other hosts; both go when the process dies.
A second copy started while the first still runs exits at once with a clear message
and status 1 rather than wait: cron starts the next one soon enough, and two fits of
the same votes would only race to mark their boards current.
"""

from contextlib import contextmanager
from urllib.parse import quote

from django.core.management.base import CommandError
from django.db import connection

from bench.lock import LockHeld, RunLock
from bench.store import make_engine


@contextmanager
def job_lock(name: str):
    """Hold the `name` job's lock on the default database for the block, or raise
    CommandError (exit status 1) when another process holds it."""
    engine = make_engine(sqlalchemy_url(connection.settings_dict))
    lock = RunLock(engine, name=name, what=f"`manage.py {name}`")
    try:
        lock.acquire()
    except LockHeld as error:
        engine.dispose()
        raise CommandError(f"{error}; this one stops without running") from None
    try:
        yield
    finally:
        lock.release()
        engine.dispose()


def sqlalchemy_url(settings_dict: dict) -> str:
    """The SQLAlchemy URL of a Django database settings dict (SQLite or PostgreSQL)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgresql+psycopg://{auth}{host}{port}/{settings_dict['NAME']}"
