"""The benchmark run: every selected offering times every matching challenge.

``run_benchmark`` takes the run lock, records a BenchRun, sends the requests with a
bounded concurrency (one shared HTTP client per provider), and hands each image to
decode and each finished sample to its child process (``bench.offloop``), which
commits it at once, with the image saved as a content-addressed Generation and the
run's ``spent_usd`` raised in the same transaction. A crash of the runner loses at
most the requests in flight: the child stores what it was handed, then exits. A 429
makes that provider's next requests wait (``Retry-After`` honoured); the spending cap
turns the remaining requests into ``skipped`` samples. SIGTERM, at any moment of the
run, lets in-flight requests finish for a grace period, abandons the rest and marks
the run interrupted; so does losing the run lock (a database restart), before
another paid request is sent.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from bench.config import SIMULATOR_URL_ENV, locations
from bench.http import make_client
from bench.lock import LockHeld, RunLock
from bench.offloop import OffLoop
from bench.plan import Shard, Task, plan_requests, provider_keys, shard_tasks
from bench.providers import (
    OK,
    SKIPPED,
    GenerationResult,
    generate,
)
from bench.store import SampleRecord, Store
from bench.suites import Suite, get_suite
from bench.timing import utc_now
from bench.writer import STORE_RETRY_S, Progress, retrying

SIMULATED_PROVIDER = "simulated"
# Decoding and storing run in a child process; the threads left here (the lock's
# watchdog, httpx's) hold the GIL briefly, and this caps each wait at 0.5 ms, not 5.
_SWITCH_INTERVAL_S = 0.0005
_MAX_BACKOFF_S = 60.0

__all__ = ["LockHeld", "RunOptions", "RunSummary", "run_benchmark", "run_benchmark_async"]


@dataclass
class RunSummary:
    """What a run did: its BenchRun id and status, sample counts by status, money, time."""

    run_id: int | None
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    generations: int = 0
    spent_usd: Decimal = Decimal(0)
    elapsed_s: float = 0.0
    skipped_providers: list[str] = field(default_factory=list)
    abandoned: int = 0
    internal_errors: int = 0
    note: str = ""

    @property
    def samples(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        """A one-line summary for logs and cron mail."""
        counts = ", ".join(f"{count} {status}" for status, count in sorted(self.counts.items()))
        return (
            f"run {self.run_id} {self.status}: {self.samples} samples"
            + (f" ({counts})" if counts else "")
            + f", {self.generations} generations, ${self.spent_usd:.4f} spent, "
            f"{self.elapsed_s:.1f} s" + (f"; {self.note}" if self.note else "")
        )


@dataclass(frozen=True)
class RunOptions:
    """How to run a benchmark: what to time, how hard, and where to store it.

    - ``database_url``/``media_root``: default to Django's (``bench.config.locations``).
    - ``suite``: a name from ``bench.suites.SUITES`` (size, format, seed, deadline).
    - ``offerings``: offering keys (``provider/model``), provider or model slugs;
      ``challenges``: challenge slugs. None selects every active one. Text-to-image
      challenges go to models that do text-to-image, edit challenges to models that
      edit (with at most the offering's number of reference images).
    - ``repeat``: requests per offering and challenge.
    - ``concurrency``: requests in flight at once, over all providers.
    - ``max_cost_usd``: spending cap; each request is priced before it is sent and
      once the next would pass the cap, it and the rest are stored as ``skipped``.
    - ``base_url_overrides``: provider slug -> base URL; the ``simulated`` provider
      also follows ``PAIRWISE_SIMULATOR_URL``.
    - ``poll_interval_s``/``deadline_s``: override the protocol's poll interval and
      the suite's per-request deadline (seconds).
    - ``ramp_s``: the workers' first requests are spread evenly over this many
      seconds instead of leaving together (a burst of simultaneous answers makes the
      last ones wait for the loop, and a provider's queue treats a burst differently).
    - ``handle_signals``: on SIGTERM/SIGINT stop sending, give in-flight requests
      ``grace_s`` seconds, abandon the rest, mark the run ``interrupted``.
    - ``progress_stream``: where progress goes (None: silent).
    - ``environ``: the environment read for provider keys (default ``os.environ``).
    - ``shard``: measure only this part of the plan (``bench.plan.Shard``), under the
      shard's own lock; ``region``: where this host measures from, stored on the run
      and on every sample.
    """

    database_url: str | None = None
    media_root: str | os.PathLike | None = None
    suite: str | Suite = "default"
    offerings: Sequence[str] | None = None
    challenges: Sequence[str] | None = None
    repeat: int = 1
    concurrency: int = 4
    max_cost_usd: Decimal | float | str | None = None
    base_url_overrides: Mapping[str, str] | None = None
    poll_interval_s: float | None = None
    deadline_s: float | None = None
    grace_s: float = 30.0
    ramp_s: float = 0.0
    handle_signals: bool = False
    progress_stream: TextIO | None = None
    environ: Mapping[str, str] | None = None
    shard: Shard | None = None
    region: str = ""


def run_benchmark(
    database_url: str | None = None,
    media_root: str | os.PathLike | None = None,
    options: RunOptions | None = None,
    **fields,
) -> RunSummary:
    """Run a benchmark to completion from synchronous code; see ``run_benchmark_async``."""
    return asyncio.run(run_benchmark_async(database_url, media_root, options, **fields))


async def run_benchmark_async(
    database_url: str | None = None,
    media_root: str | os.PathLike | None = None,
    options: RunOptions | None = None,
    **fields,
) -> RunSummary:
    """Time every selected offering on every matching challenge, ``repeat`` times.

    ``options`` is a ``RunOptions``; any of its fields may also be given as a keyword
    (``concurrency=8``), and the database URL and media root positionally. A provider
    whose key variable is unset is skipped with a message. Raises ``LockHeld`` when
    another run holds the database's run lock, and ``bench.store.StoreError`` for a
    database without tables or an unknown selection; an unknown option is a TypeError.

    Long on purpose: it is the run's one ``try``/``finally`` that
    always releases the lock, restores the interpreter's switch interval and marks the
    run's row finished, failed or interrupted, whatever stops it.
    """
    if database_url is not None:
        fields["database_url"] = database_url
    if media_root is not None:
        fields["media_root"] = media_root
    options = replace(options or RunOptions(), **fields)
    env = os.environ if options.environ is None else options.environ
    where = locations(options.database_url, options.media_root, environ=env)
    suite = get_suite(options.suite) if isinstance(options.suite, str) else options.suite
    cap = None if options.max_cost_usd is None else Decimal(str(options.max_cost_usd))
    overrides = dict(options.base_url_overrides or {})
    if SIMULATED_PROVIDER not in overrides and env.get(SIMULATOR_URL_ENV):
        overrides[SIMULATED_PROVIDER] = env[SIMULATOR_URL_ENV]
    deadline_s = options.deadline_s or suite.deadline_s
    concurrency = options.concurrency
    started = time.monotonic()
    say = _Say(options.progress_stream)
    # From here to the end a SIGTERM only sets flags: the loop runs the handler at its
    # next turn, never in the middle of a database write, and every step checks them.
    signals = _Signals(options.handle_signals, say, options.grace_s)

    try:
        store = Store(where.database_url, region=options.region)
    except BaseException:
        signals.remove()
        raise
    lock = RunLock(store.engine, shard=options.shard)
    switch_interval = sys.getswitchinterval()
    open_run_id = None
    try:
        lock.acquire()
    except BaseException:
        store.close()
        signals.remove()
        raise
    try:
        for dead_id in store.mark_abandoned_runs(current_run_id=None, now=utc_now()):
            say(f"run {dead_id} was left running by a runner that died; marked interrupted")
        offering_rows = store.load_offerings(options.offerings)
        challenge_rows = store.load_challenges(options.challenges)
        keys, skipped_providers = provider_keys(offering_rows, env, say)
        tasks = plan_requests(
            [row for row in offering_rows if row.provider_slug in keys],
            challenge_rows,
            suite,
            options.repeat,
            keys,
            overrides,
            where.media_root,
            options.poll_interval_s,
            deadline_s,
            say,
        )
        tasks = shard_tasks(tasks, options.shard)
        await asyncio.sleep(0)  # let a pending SIGTERM's handler run
        if signals.name:
            return _stopped_before_start(signals.name, started, say)
        run_id = open_run_id = store.start_run(
            suite=suite.name,
            concurrency=concurrency,
            max_cost_usd=cap,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=utc_now(),
            shard=str(options.shard or ""),
        )
        say(
            f"run {run_id}: {len(tasks)} requests ({suite.name} suite) over "
            f"{len({task.offering.id for task in tasks})} offerings, concurrency {concurrency}"
        )
        progress = Progress(len(tasks), options.progress_stream)
        writer = OffLoop(where.database_url, where.media_root, progress, region=options.region)
        sys.setswitchinterval(min(switch_interval, _SWITCH_INTERVAL_S))
        # A full collection over everything loaded so far pauses the loop for tens of
        # milliseconds; frozen objects are skipped, so collections stay short.
        gc.collect()
        gc.freeze()
        writer.start()
        try:
            state = await _execute(
                tasks, run_id, writer, concurrency, cap, lock, signals, say, options.ramp_s
            )
        finally:
            await writer.close()
            progress.close()

        status, notes = "finished", []
        if not (lock.is_lost or signals.name):
            notes += _measure_serving_pairs(store, where.media_root, run_id, say)
        if lock.is_lost or signals.name:
            status = "interrupted"
            left = f"{state.abandoned} in flight abandoned, {state.not_started} not started"
            if lock.is_lost:
                notes.append(lock.lost_reason)
            notes.append(
                f"interrupted by {signals.name}: {left}"
                if signals.name
                else f"sent no more requests: {left}"
            )
        if skipped_providers:
            notes.append("skipped providers without a key: " + ", ".join(skipped_providers))
        if state.internal_errors:
            notes.append(f"{state.internal_errors} requests hit an internal error (see log)")
        if writer.error is not None:
            status = "failed"
            name = getattr(writer.error, "name", type(writer.error).__name__)
            notes.append(f"storing samples failed: {name}")
        note = "; ".join(notes)
        _finish(store, run_id, status, note)
        open_run_id = None
        summary = RunSummary(
            run_id=run_id,
            status=status,
            counts=dict(progress.counts),
            generations=writer.generations,
            spent_usd=progress.spent_usd,
            elapsed_s=time.monotonic() - started,
            skipped_providers=skipped_providers,
            abandoned=state.abandoned,
            internal_errors=state.internal_errors,
            note=note,
        )
        say(summary.line())
        return summary
    except BaseException as error:
        if open_run_id is not None:  # whatever went wrong, the row does not stay ``running``
            stopped = isinstance(error, KeyboardInterrupt | asyncio.CancelledError)
            status = "interrupted" if stopped else "failed"
            _finish(store, open_run_id, status, f"the runner stopped: {type(error).__name__}")
        raise
    finally:
        gc.unfreeze()
        sys.setswitchinterval(switch_interval)
        lock.release()
        store.close()
        signals.remove()


class _Say:
    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream

    def __call__(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(text + "\n")
            self.stream.flush()


class _Signals:
    """SIGTERM/SIGINT as flags on the running loop: the first stops sending, the second
    ends the grace period. Installed for the whole run, so no moment is unguarded."""

    def __init__(self, enabled: bool, say, grace_s: float) -> None:
        self.name = ""
        self.grace_s = grace_s
        self.stop = asyncio.Event()
        self.grace_over = asyncio.Event()
        self.say = say
        self.in_flight = 0
        self._loop = asyncio.get_running_loop()
        self._installed = []
        if not enabled:
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                self._loop.add_signal_handler(signum, self._on_signal, signum)
                self._installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    def _on_signal(self, signum: int) -> None:
        if self.name:
            self.grace_over.set()
            return
        self.name = signal.Signals(signum).name
        self.say(
            f"{self.name}: sending no more requests; waiting up to "
            f"{self.grace_s:g} s for {self.in_flight} in flight"
        )
        self.stop.set()

    def remove(self) -> None:
        for signum in self._installed:
            self._loop.remove_signal_handler(signum)
        self._installed = []


def _measure_serving_pairs(store: Store, media_root, run_id: int, say) -> list[str]:
    """Compare the run's images of one model from different offerings (bench/serving.py).
    The samples are stored by then: a failure here costs a note, never data."""
    from bench.serving import measure_serving_pairs

    try:
        measured = measure_serving_pairs(store, Path(media_root), run_id=run_id, say=say)
    except (OSError, sa.exc.SQLAlchemyError) as error:
        say(f"serving differences not measured: {type(error).__name__}")
        return [f"serving differences not measured: {type(error).__name__}"]
    if measured:
        say(f"serving differences: {measured} image pairs compared (SSIM)")
    return []


def _finish(store: Store, run_id: int, status: str, note: str) -> None:
    retrying(
        lambda: store.finish_run(run_id, status=status, note=note, finished_at=utc_now()),
        STORE_RETRY_S,
    )


def _stopped_before_start(signal_name: str, started: float, say) -> RunSummary:
    summary = RunSummary(
        run_id=None,
        status="interrupted",
        elapsed_s=time.monotonic() - started,
        note=f"interrupted by {signal_name} before any request was sent",
    )
    say(summary.line())
    return summary


@dataclass
class _RunState:
    reserved_usd: Decimal = Decimal(0)
    abandoned: int = 0
    not_started: int = 0
    internal_errors: int = 0


async def _execute(
    tasks: list[Task],
    run_id: int,
    writer: OffLoop,
    concurrency: int,
    cap: Decimal | None,
    lock: RunLock,
    signals: _Signals,
    say,
    ramp_s: float = 0.0,
) -> _RunState:
    """Send the planned requests with ``concurrency`` workers; what happened to them.

    Long on purpose: the workers, the spending cap, per-provider back-off, the lost
    lock and the stop signals share one state, and the order of the checks made
    before each paid request has to read in one place.
    """
    state = _RunState()
    pending = list(reversed(tasks))
    not_before: dict[str, float] = {}
    strikes: Counter = Counter()
    stop = signals.stop
    clients = {}
    for task in tasks:
        provider = task.offering.provider_slug
        if provider not in clients:
            clients[provider] = make_client(
                read_timeout_s=task.endpoint.deadline_s,
                max_connections=max(concurrency, 1) + 4,
            )

    def record(task: Task, result: GenerationResult) -> None:
        writer.put(
            SampleRecord(
                run_id=run_id,
                offering_id=task.offering.id,
                challenge_id=task.challenge.id,
                mode=task.challenge.mode,
                result=result,
                seed=task.request.seed,
            ),
            task.offering.key,
            task.challenge.slug,
        )

    def take() -> Task | None:
        now = time.monotonic()
        for index in range(len(pending) - 1, -1, -1):
            if not_before.get(pending[index].offering.provider_slug, 0.0) <= now:
                return pending.pop(index)
        return None

    async def worker(start_after_s: float) -> None:
        if start_after_s > 0:
            try:
                await asyncio.wait_for(stop.wait(), start_after_s)
            except TimeoutError:
                pass
        while pending and not stop.is_set():
            if lock.is_lost:  # another run may hold the lock now: not one more paid request
                lock_lost()
                return
            task = take()
            if task is None:
                wake = min(not_before.values()) - time.monotonic()
                await asyncio.sleep(max(0.01, wake))
                continue
            if cap is not None and state.reserved_usd + task.cost_usd > cap:
                record(task, _skipped(task, f"spending cap of ${cap} reached"))
                continue
            state.reserved_usd += task.cost_usd
            signals.in_flight += 1
            try:
                result = await generate(
                    task.offering.endpoint_kind,
                    task.endpoint,
                    task.request,
                    client=clients[task.offering.provider_slug],
                    inspect=writer.inspect,
                )
            except asyncio.CancelledError:
                state.abandoned += 1
                raise
            except Exception as error:  # our bug, not the provider's fault: not a sample
                state.internal_errors += 1
                say(f"internal error on {task.offering.key}: {type(error).__name__}: {error}")
                continue
            finally:
                signals.in_flight -= 1
            provider = task.offering.provider_slug
            if result.status == "rate_limited":
                strikes[provider] += 1
                wait_s = result.retry_after_s
                if wait_s is None:
                    wait_s = min(_MAX_BACKOFF_S, 2.0 ** (strikes[provider] - 1))
                not_before[provider] = max(
                    not_before.get(provider, 0.0), time.monotonic() + min(wait_s, _MAX_BACKOFF_S)
                )
            elif result.status == OK:
                strikes[provider] = 0
            record(task, result)

    def lock_lost() -> None:
        if not stop.is_set():
            say(f"{lock.lost_reason}; sending no more requests")
            stop.set()

    loop = asyncio.get_running_loop()
    lock.on_lost = lambda: loop.call_soon_threadsafe(lock_lost)
    if lock.is_lost:
        lock_lost()
    count = max(1, concurrency)
    workers = [asyncio.create_task(worker(ramp_s * index / count)) for index in range(count)]
    all_done = asyncio.gather(*workers, return_exceptions=True)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([all_done, stopped], return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            over = asyncio.create_task(signals.grace_over.wait())
            await asyncio.wait(
                [all_done, over], timeout=signals.grace_s, return_when=asyncio.FIRST_COMPLETED
            )
            over.cancel()
            for task in workers:
                task.cancel()
            await all_done
            state.not_started = len(pending)
        else:
            for outcome in await all_done:
                if isinstance(outcome, BaseException):
                    raise outcome
    finally:
        lock.on_lost = None
        stopped.cancel()
        for task in workers:
            task.cancel()
        for client in clients.values():
            await client.aclose()
    return state


def _skipped(task: Task, reason: str) -> GenerationResult:
    return GenerationResult(
        status=SKIPPED,
        started_at=utc_now(),
        requested_width=task.request.width,
        requested_height=task.request.height,
        error=reason,
    )
