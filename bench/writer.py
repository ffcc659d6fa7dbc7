"""Storing a run's samples off the event loop, and showing its progress.

The loop that sends requests and stamps times only hands each finished result to
``SampleWriter.put`` (a queue append); hashing, file writes and database commits
happen in the writer thread, so none of them can delay a request or a timestamp.
"""

from __future__ import annotations

import collections
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from bench.store import SampleRecord, Store

_BATCH = 200
# How often the writer looks for finished samples: the most a sample waits to be stored.
POLL_S = 0.01
# A database restart drops every connection for a few seconds; samples wait and are
# stored when it is back rather than lost.
STORE_RETRY_S = 60.0


class Progress:
    """Live counts: a redrawn bar on a terminal, one plain line per sample otherwise."""

    def __init__(self, total: int, stream: TextIO | None, is_tty: bool | None = None) -> None:
        self.total = total
        self.stream = stream
        self.is_tty = stream is not None and (stream.isatty() if is_tty is None else is_tty)
        self.counts: Counter = Counter()
        self.started = time.monotonic()
        self.spent_usd = Decimal(0)
        self._lock = threading.Lock()

    def message(self, text: str) -> None:
        if self.stream is None:
            return
        with self._lock:
            if self.is_tty:
                self.stream.write("\r\033[K")
            self.stream.write(text + "\n")
            self.stream.flush()

    def stored(self, record: SampleRecord, offering_key: str, challenge_slug: str) -> None:
        """Called after the sample was committed, so a printed line is a stored sample."""
        result = record.result
        with self._lock:
            self.counts[result.status] += 1
            self.spent_usd += result.cost_usd or 0
            done = sum(self.counts.values())
            if self.stream is None:
                return
            if self.is_tty:
                width = 24
                filled = int(width * done / max(1, self.total))
                counts = " · ".join(f"{status} {n}" for status, n in sorted(self.counts.items()))
                self.stream.write(
                    f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}  "
                    f"{counts}  {time.monotonic() - self.started:.1f} s"
                )
            else:
                timing = (
                    f" {result.generation_ms:,.0f} ms (ttfb {result.ttfb_ms:,.0f} ms)"
                    if result.generation_ms is not None
                    else ""
                )
                error = f" {result.error}" if result.error else ""
                request_id = (
                    f" id={result.provider_request_id}" if result.provider_request_id else ""
                )
                self.stream.write(
                    f"sample {done}/{self.total} {offering_key} {challenge_slug} "
                    f"{result.status}{timing}{request_id}{error}\n"
                )
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.is_tty:
            with self._lock:
                self.stream.write("\n")
                self.stream.flush()


class SampleWriter(threading.Thread):
    """Commits finished samples as they arrive, in small batches, off the event loop.

    Group commit: whatever is queued when the thread wakes goes into one transaction,
    so a burst costs one commit and a lone sample is stored within milliseconds. A
    batch the database refuses because it is unreachable is retried for
    ``STORE_RETRY_S``; any other error stops storing (``error``) and fails the run.
    """

    def __init__(
        self, store: Store, media_root: Path, progress: Progress, retry_s: float = STORE_RETRY_S
    ) -> None:
        super().__init__(name="bench-writer", daemon=True)
        self.store, self.media_root, self.progress = store, media_root, progress
        self.retry_s = retry_s
        self.queue: collections.deque = collections.deque()
        self.is_closing = False
        self.error: BaseException | None = None
        self.generations = 0

    def put(self, record: SampleRecord, offering_key: str, challenge_slug: str) -> None:
        # A plain append: waking a sleeping thread costs the caller a system call (and on
        # a virtual machine an interrupt to an idle CPU), time the event loop would lose.
        self.queue.append((record, offering_key, challenge_slug))

    def close(self) -> None:
        self.is_closing = True
        self.join()

    def run(self) -> None:
        while True:
            is_last = self.is_closing
            batch = []
            while self.queue and len(batch) < _BATCH:
                batch.append(self.queue.popleft())
            if not batch:
                if is_last:
                    return
                time.sleep(POLL_S)
                continue
            if self.error is not None:
                continue
            try:
                self._store([item[0] for item in batch])
            except BaseException as error:  # reported by run_benchmark, which fails the run
                self.error = error
                self.progress.message(f"error: could not store samples: {error}")
                continue
            for record, offering_key, challenge_slug in batch:
                if record.generation_id is not None:
                    self.generations += 1
                self.progress.stored(record, offering_key, challenge_slug)

    def _store(self, records: list[SampleRecord]) -> None:
        def warn(error) -> None:
            self.progress.message(
                f"database unreachable ({type(error.orig).__name__}); "
                f"holding {len(records)} samples and retrying"
            )

        retrying(lambda: self.store.write_results(records, self.media_root), self.retry_s, warn)


def retrying(action, retry_s: float, on_retry=None):
    """``action()``, retried with backoff while the database is unreachable, for ``retry_s``.

    Only connection-level failures (``OperationalError``, ``InterfaceError``: a restart,
    a dropped connection) are retried; the transaction was rolled back, so running it
    again stores it once.
    """
    deadline = time.monotonic() + retry_s
    pause_s = 0.05
    has_warned = False
    while True:
        try:
            return action()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            if time.monotonic() + pause_s > deadline:
                raise
            if on_retry is not None and not has_warned:
                on_retry(error)
                has_warned = True
            time.sleep(pause_s)
            pause_s = min(1.0, pause_s * 2)
