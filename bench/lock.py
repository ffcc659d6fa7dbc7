"""One benchmark run at a time per database, even when cron starts the next one early.

PostgreSQL: a session-level advisory lock held on a dedicated connection. SQLite:
``flock`` on a file beside the database. Both belong to the process, so the kernel
or the server releases them when it dies, however it dies: a crashed run never
blocks the next one, which then marks the dead run's row as interrupted.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

# "Pairwise" as a signed 64-bit integer: the advisory lock's key.
_ADVISORY_KEY = int.from_bytes(b"Pairwise", "big", signed=True)
_APPLICATION_NAME = "pairwise-bench"


class LockHeld(RuntimeError):
    """Another run holds the lock; the message says who, when it can tell."""


class RunLock:
    """The run lock of one database. ``acquire`` raises LockHeld; use as a context manager."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection = None
        self._file = None
        self.identity = f"pid {os.getpid()} on {socket.gethostname()}"

    def acquire(self) -> RunLock:
        """Take the lock without waiting, or raise LockHeld."""
        if self.engine.dialect.name == "postgresql":
            self._acquire_advisory()
        else:
            self._acquire_file()
        return self

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY}
                )
            finally:
                self._connection.close()
                self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _acquire_advisory(self) -> None:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(
            sa.text("SELECT set_config('application_name', :name, false)"),
            {"name": f"{_APPLICATION_NAME} {self.identity}"[:63]},
        )
        taken = connection.execute(
            sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}
        ).scalar_one()
        if not taken:
            holder = connection.execute(
                sa.text(
                    "SELECT a.application_name, a.backend_start FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND l.pid <> pg_backend_pid() LIMIT 1"
                )
            ).first()
            connection.close()
            who = holder.application_name.removeprefix(_APPLICATION_NAME).strip() if holder else ""
            raise LockHeld(
                "another benchmark run is in progress on this database"
                + (
                    f" ({who}, connected since {holder.backend_start:%Y-%m-%d %H:%M:%S %Z})"
                    if holder
                    else ""
                )
            )
        self._connection = connection

    def _acquire_file(self) -> None:
        path = lock_path(self.engine)
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "a+")  # noqa: SIM115 - held open for the whole run
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stream.seek(0)
            who = stream.read().strip()
            stream.close()
            raise LockHeld(
                "another benchmark run is in progress on this database"
                + (f" ({who})" if who else "")
            ) from None
        stream.seek(0)
        stream.truncate()
        stream.write(self.identity)
        stream.flush()
        self._file = stream


def lock_path(engine: Engine) -> Path:
    """The lock file of a SQLite database: ``<database>.bench-lock`` beside it."""
    database = make_url(str(engine.url)).database or ""
    if database in ("", ":memory:"):
        return Path(os.environ.get("TMPDIR", "/tmp")) / "pairwise-bench-memory.lock"
    return Path(database + ".bench-lock")
