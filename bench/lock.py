"""One benchmark run at a time per database (or per shard), even when cron starts the
next one early.

Sharded runs (``bench run --shard K/N``, one per host or region) take the database's lock
shared and their shard's lock exclusively: shards run side by side, each at most once,
and never beside an unsharded run, which takes the database's lock exclusively.

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
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

# "Pairwise" as a signed 64-bit integer: the advisory lock's key.
_ADVISORY_KEY = int.from_bytes(b"Pairwise", "big", signed=True)
CHECK_INTERVAL_S = 0.2

if TYPE_CHECKING:
    from bench.plan import Shard


def shard_key(shard: Shard) -> int:
    """The advisory lock key of one shard (a signed 64-bit integer)."""
    digest = hashlib.sha256(f"Pairwise shard {shard}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


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
        shard: Shard | None = None,
        check_interval_s: float = CHECK_INTERVAL_S,
        name: str = "bench",
        what: str = "benchmark run",
    ) -> None:
        self.engine = engine
        self.shard = shard
        self.name, self.what = name, what
        self._advisory_key = _advisory_key(name)
        self._files = []
        self.check_interval_s = check_interval_s
        self._connection = None
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()
        self._lost = threading.Event()
        self.lost_reason = ""
        self.on_lost = None
        self.identity = f"pid {os.getpid()} on {socket.gethostname()}" + (
            f", shard {shard}" if shard else ""
        )

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
                if not self.is_lost:  # the connection is the lock's own: all its locks go
                    self._connection.execute(sa.text("SELECT pg_advisory_unlock_all()"))
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
        if self.shard is None:
            taken = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self._advisory_key}
            ).scalar_one()
        else:
            taken = connection.execute(
                sa.text(
                    "SELECT pg_try_advisory_lock_shared(:key) AND pg_try_advisory_lock(:shard)"
                ),
                {"key": self._advisory_key, "shard": shard_key(self.shard)},
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
            connection.close()  # and with it any lock half taken
            who = (
                holder.application_name.removeprefix(self._application_name).strip()
                if holder
                else ""
            )
            raise LockHeld(
                self._held_message()
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
        if self.shard is None:
            self._flock(lock_path(self.engine, self.name), fcntl.LOCK_EX)
            return
        self._flock(lock_path(self.engine, self.name), fcntl.LOCK_SH)
        try:
            self._flock(lock_path(self.engine, self.name, self.shard), fcntl.LOCK_EX)
        except BaseException:
            self._release_file()
            raise

    def _flock(self, path: Path, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "a+")  # noqa: SIM115 - held open for the whole run
        try:
            fcntl.flock(stream, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            stream.seek(0)
            who = stream.read().strip()
            stream.close()
            raise LockHeld(self._held_message() + (f" ({who})" if who else "")) from None
        if mode == fcntl.LOCK_EX:  # a shared holder leaves the name of the last one
            stream.seek(0)
            stream.truncate()
            stream.write(self.identity)
            stream.flush()
        self._files.append(stream)

    def _held_message(self) -> str:
        if self.shard is None:
            return f"another {self.what} is in progress on this database"
        return f"another run holds shard {self.shard}, or an unsharded run is in progress"

    def _release_file(self) -> None:
        for stream in reversed(self._files):
            fcntl.flock(stream, fcntl.LOCK_UN)
            stream.close()
        self._files = []


def _advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key of a job: "Pairwise" for bench (as it always was),
    the first 8 bytes of the name's SHA-256 for the others; signed 64-bit."""
    if name == "bench":
        return _ADVISORY_KEY
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_path(engine: Engine, name: str = "bench", shard: Shard | None = None) -> Path:
    """The host lock file of a database for the job ``name``, or of one shard of its runs.

    SQLite: ``<database>.<name>-lock`` beside it. Others: ``pairwise-<name>-<digest>.lock``
    in the temporary folder, the digest of the server's host, port and database name
    (never the password). A shard's file adds ``-shard-K-of-N``.
    """
    suffix = f"-shard-{shard.index}-of-{shard.count}" if shard else ""
    url = make_url(str(engine.url))
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            return Path(tempfile.gettempdir()) / f"pairwise-{name}-memory{suffix}.lock"
        return Path(f"{database}.{name}-lock{suffix}")
    where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pairwise-{name}-{digest}{suffix}.lock"
