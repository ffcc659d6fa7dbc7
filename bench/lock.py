"""One benchmark run at a time per database, even when cron starts the next one early.

The same lock, under another ``name``, keeps the site's cron jobs (``manage.py
ratings``, ``manage.py stats``) from overlapping with themselves.

Two locks, both released by the kernel or the server when the process dies, however
it dies (a crashed run never blocks the next one, which marks the dead run's row
interrupted):

- ``flock`` on a file on this host: beside the database for SQLite, in the temporary
  folder (named after the database's host, port and name) for PostgreSQL. It
  survives anything the database does, so a second cron run on this host never
  starts while the first is alive.
- PostgreSQL also gets a session advisory lock on a dedicated connection, for runners
  on other hosts. A database restart drops that session and the lock with it, without
  a word; a watchdog thread checks the connection every ``check_interval_s`` and
  flags the loss, and the runner sends no paid request once ``is_lost`` is set.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import tempfile
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

# "Pairwise" as a signed 64-bit integer: the advisory lock's key.
_ADVISORY_KEY = int.from_bytes(b"Pairwise", "big", signed=True)
CHECK_INTERVAL_S = 0.2


class LockHeld(RuntimeError):
    """Another run holds the lock; the message says who, when it can tell."""


class RunLock:
    """The run lock of one database. ``acquire`` raises LockHeld; use as a context manager.

    ``is_lost`` turns true (and ``lost_reason`` says why) when the PostgreSQL session
    holding the advisory lock dies while the run goes on; it never turns false again.
    ``on_lost``, when set, is called then, from the watchdog thread.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        check_interval_s: float = CHECK_INTERVAL_S,
        name: str = "bench",
        what: str = "benchmark run",
    ) -> None:
        self.engine = engine
        self.name, self.what = name, what
        self._advisory_key = _advisory_key(name)
        self.check_interval_s = check_interval_s
        self._connection = None
        self._file = None
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()
        self._lost = threading.Event()
        self.lost_reason = ""
        self.on_lost = None
        self.identity = f"pid {os.getpid()} on {socket.gethostname()}"

    @property
    def is_lost(self) -> bool:
        return self._lost.is_set()

    def acquire(self) -> RunLock:
        """Take the lock without waiting, or raise LockHeld."""
        self._acquire_file()
        if self.engine.dialect.name == "postgresql":
            try:
                self._acquire_advisory()
            except BaseException:
                self._release_file()
                raise
            self._watchdog = threading.Thread(
                target=self._watch, name="bench-lock-watchdog", daemon=True
            )
            self._watchdog.start()
        return self

    def release(self) -> None:
        """Let go of both locks; a session the server already dropped is not an error."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join()
            self._watchdog = None
        if self._connection is not None:
            try:
                if not self.is_lost:
                    self._connection.execute(
                        sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self._advisory_key}
                    )
            except sa.exc.DBAPIError:
                pass  # the session is gone, and its lock with it
            finally:
                try:
                    self._connection.close()
                except sa.exc.DBAPIError:
                    pass
                self._connection = None
        self._release_file()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _watch(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            try:
                self._connection.execute(sa.text("SELECT 1"))
            except sa.exc.DBAPIError as error:
                self.lost_reason = (
                    "lost the run lock: the database dropped its session "
                    f"({type(error.orig).__name__})"
                )
                self._lost.set()
                if self.on_lost is not None:
                    self.on_lost()
                return

    def _acquire_advisory(self) -> None:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(
            sa.text("SELECT set_config('application_name', :name, false)"),
            {"name": f"{self._application_name} {self.identity}"[:63]},
        )
        taken = connection.execute(
            sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self._advisory_key}
        ).scalar_one()
        if not taken:
            holder = connection.execute(
                sa.text(
                    "SELECT a.application_name, a.backend_start FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND l.pid <> pg_backend_pid() AND a.application_name LIKE :prefix LIMIT 1"
                ),
                {"prefix": f"{self._application_name} %"},
            ).first()
            connection.close()
            who = (
                holder.application_name.removeprefix(self._application_name).strip()
                if holder
                else ""
            )
            raise LockHeld(
                f"another {self.what} is in progress on this database"
                + (
                    f" ({who}, connected since {holder.backend_start:%Y-%m-%d %H:%M:%S %Z})"
                    if holder
                    else ""
                )
            )
        self._connection = connection

    @property
    def _application_name(self) -> str:
        return f"pairwise-{self.name}"

    def _acquire_file(self) -> None:
        path = lock_path(self.engine, self.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "a+")  # noqa: SIM115 - held open for the whole run
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stream.seek(0)
            who = stream.read().strip()
            stream.close()
            raise LockHeld(
                f"another {self.what} is in progress on this database"
                + (f" ({who})" if who else "")
            ) from None
        stream.seek(0)
        stream.truncate()
        stream.write(self.identity)
        stream.flush()
        self._file = stream

    def _release_file(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key of a job: "Pairwise" for bench (as it always was),
    the first 8 bytes of the name's SHA-256 for the others; signed 64-bit."""
    if name == "bench":
        return _ADVISORY_KEY
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_path(engine: Engine, name: str = "bench") -> Path:
    """The host lock file of a database, for the job ``name``.

    SQLite: ``<database>.<name>-lock`` beside it. Others: ``pairwise-<name>-<digest>.lock``
    in the temporary folder, the digest of the server's host, port and database name
    (never the password).
    """
    url = make_url(str(engine.url))
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            return Path(tempfile.gettempdir()) / f"pairwise-{name}-memory.lock"
        return Path(f"{database}.{name}-lock")
    where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pairwise-{name}-{digest}.lock"
