"""Decoding and storing in a child process, so no work in the runner can delay a timestamp.

A thread in the runner's process cannot do this: whenever the event loop wakes up
(or returns from any socket call) while a decoding or storing thread holds the GIL,
it waits up to ``sys.getswitchinterval()`` to get it back, several times per
response, and the follow-up GET leaves late. A child process has its own GIL. The
loop only pickles each result and hands it to a non-blocking pipe; answers come
back on another pipe that the loop reads when it is otherwise idle.

The child (``python -m bench.offloop``) decodes images on its main thread and stores
samples on a ``SampleWriter`` thread, under the ``SCHED_BATCH`` policy: at normal
policy, every image handed over woke the child, and the kernel switched to it at
once, so the loop's next answer waited out its decode (5 ms per pipe write under a
profiler, on one core). A batch task never preempts anyone when it wakes, yet keeps
its fair share of the CPU, so a busy machine slows it no more than the runner.
(``SCHED_IDLE`` would also yield at once when the runner wakes, but starves on a
saturated machine: runs and tests then stall.) It ignores SIGINT/SIGTERM and runs in its
own session: the runner decides when to stop, and the child ends when its input
pipe closes, after storing everything it was given. So a runner killed outright
still gets every handed-over sample stored, with its cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path

from bench.writer import STORE_RETRY_S, Progress

_HEADER = 8
# Up to 1 MiB in flight per pipe without a blocked write (Linux's default unprivileged
# maximum; F_SETPIPE_SZ is Linux-only, elsewhere the default 64 KiB applies).
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031


class ChildFailed(RuntimeError):
    """The storing process failed; ``name`` is the class of the error it reported."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class OffLoop:
    """The runner's side of the child process: ``inspect`` images, ``put`` samples.

    Use on one event loop: ``start()``, then ``await inspect(data)`` and ``put(...)``
    from coroutines, then ``await close()``, which returns once the child has stored
    everything. ``error`` is set when storing failed; ``generations`` counts the
    stored samples that brought a Generation.
    """

    def __init__(
        self,
        database_url: str,
        media_root: Path,
        progress: Progress,
        retry_s: float = STORE_RETRY_S,
        region: str = "",
    ) -> None:
        self.config = {
            "database_url": database_url,
            "region": region,
            "media_root": str(media_root),
            "retry_s": retry_s,
        }
        self.progress = progress
        self.error: BaseException | None = None
        self.generations = 0
        self.child_pid: int | None = None
        self._outgoing = bytearray()
        self._incoming = bytearray()
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count()
        self._watching_writes = False
        self._done: asyncio.Future | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        for fd in (to_child_w, from_child_w):
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)
        # The database URL may hold a password: it goes down the pipe, not on argv.
        # The child imports bench from where this process did, whatever its cwd and path.
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.offloop", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            start_new_session=True,
            close_fds=True,
            env=env,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.child_pid = self._process.pid
        self._to_child, self._from_child = to_child_w, from_child_r
        os.set_blocking(to_child_w, False)
        os.set_blocking(from_child_r, False)
        self._done = self._loop.create_future()
        self._loop.add_reader(from_child_r, self._on_readable)
        self._send(("config", self.config))

    async def inspect(self, data: bytes) -> tuple[int, int, str]:
        """(width, height, MIME type) of fully decoded image bytes, decoded in the child."""
        from bench.providers.base import Failure

        if self._done is None or self._done.done():
            raise RuntimeError("the decoding process is not running")
        request_id = next(self._ids)
        future = self._loop.create_future()
        self._pending[request_id] = future
        self._send(("inspect", request_id, data))
        outcome, failure = await future
        if failure is None:
            return outcome
        status, text = failure
        if status is None:  # our bug, not the image's fault
            raise RuntimeError(f"decoding failed in the child process: {text}")
        raise Failure(status, text)

    def put(self, record, offering_key: str, challenge_slug: str) -> None:
        """Hand one finished sample to the child; never blocks the loop."""
        self._send(("store", record, offering_key, challenge_slug))

    async def close(self) -> None:
        """Flush what is queued, close the child's input, wait until it stored everything."""
        if self._done is None:
            return
        while self._outgoing and not self._done.done():
            await asyncio.sleep(0.005)
        with contextlib.suppress(OSError):
            os.close(self._to_child)
        await asyncio.shield(self._done)
        self._loop.remove_reader(self._from_child)
        os.close(self._from_child)
        code = await asyncio.to_thread(self._process.wait)
        if code != 0 and self.error is None:
            self.error = ChildFailed("ChildProcessError", f"the storing process exited {code}")

    def _stopped(self) -> None:
        # No answer can come any more: whoever waits for a decode gets an internal error.
        if not self._done.done():
            self._done.set_result(None)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RuntimeError("the decoding process stopped"))
        self._pending.clear()

    # --- the pipes, on the loop ---------------------------------------------------------

    def _send(self, message) -> None:
        frame = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._outgoing += len(frame).to_bytes(_HEADER, "little")
        self._outgoing += frame
        self._flush()

    def _flush(self) -> None:
        try:
            while self._outgoing:
                written = os.write(self._to_child, self._outgoing)
                del self._outgoing[:written]
        except BlockingIOError:
            pass
        except OSError:  # the child is gone: _on_readable sees its end and reports it
            self._outgoing.clear()
        if self._outgoing and not self._watching_writes:
            self._loop.add_writer(self._to_child, self._flush)
            self._watching_writes = True
        elif not self._outgoing and self._watching_writes:
            self._loop.remove_writer(self._to_child)
            self._watching_writes = False

    def _on_readable(self) -> None:
        try:
            data = os.read(self._from_child, _PIPE_BYTES)
        except BlockingIOError:
            return
        if not data:
            self._loop.remove_reader(self._from_child)
            if not self._done.done() and self.error is None:
                self.error = ChildFailed("ChildProcessError", "the storing process died")
            self._stopped()
            return
        self._incoming += data
        while len(self._incoming) >= _HEADER:
            size = int.from_bytes(self._incoming[:_HEADER], "little")
            if len(self._incoming) < _HEADER + size:
                break
            message = pickle.loads(self._incoming[_HEADER : _HEADER + size])
            del self._incoming[: _HEADER + size]
            self._handle(message)

    def _handle(self, message) -> None:
        kind = message[0]
        if kind == "inspected":
            future = self._pending.pop(message[1], None)
            if future is not None and not future.done():
                future.set_result(message[2:])
        elif kind == "stored":
            record, offering_key, challenge_slug = message[1:]
            if record.generation_id is not None:
                self.generations += 1
            self.progress.stored(record, offering_key, challenge_slug)
        elif kind == "message":
            self.progress.message(message[1])
        elif kind == "error":
            self.error = ChildFailed(message[1], message[2])
        elif kind == "done":
            self._stopped()


# --- the child ----------------------------------------------------------------------------


class _Channel:
    """Framed pickles over a pipe, one writer at a time."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.reader = os.fdopen(fd_in, "rb")
        self.writer = os.fdopen(fd_out, "wb")
        self.lock = threading.Lock()
        self.is_open = True

    def receive(self):
        header = self.reader.read(_HEADER)
        if len(header) < _HEADER:
            return None
        return pickle.loads(self.reader.read(int.from_bytes(header, "little")))

    def send(self, message) -> None:
        frame = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            if not self.is_open:
                return
            try:
                self.writer.write(len(frame).to_bytes(_HEADER, "little") + frame)
                self.writer.flush()
            except OSError:  # the runner is gone (killed): keep storing, stop reporting
                self.is_open = False


class _ForwardedProgress:
    """What ``SampleWriter`` reports, sent to the runner (images stay here)."""

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel

    def message(self, text: str) -> None:
        self.channel.send(("message", text))

    def stored(self, record, offering_key: str, challenge_slug: str) -> None:
        record.result.image = None
        self.channel.send(("stored", record, offering_key, challenge_slug))


def _never_preempt_the_runner() -> None:
    # Before any thread starts: threads inherit the policy of the one that creates them.
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def child_main(fd_in: int, fd_out: int) -> int:
    from bench.providers.base import Failure, inspect_image
    from bench.store import Store
    from bench.writer import SampleWriter

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    _never_preempt_the_runner()
    channel = _Channel(fd_in, fd_out)
    config = channel.receive()
    if config is None:
        return 0
    config = config[1]
    try:
        store = Store(config["database_url"], region=config.get("region", ""))
    except Exception as error:
        channel.send(("error", type(error).__name__, str(error)))
        channel.send(("done",))
        return 1

    writer = SampleWriter(
        store, Path(config["media_root"]), _ForwardedProgress(channel), config["retry_s"]
    )
    writer.start()
    while (message := channel.receive()) is not None:
        if message[0] == "inspect":
            try:
                channel.send(("inspected", message[1], inspect_image(message[2]), None))
            except Failure as failure:
                channel.send(("inspected", message[1], None, (failure.status, str(failure))))
            except Exception as error:  # reported to the runner as an internal error
                failure = (None, f"{type(error).__name__}: {error}")
                channel.send(("inspected", message[1], None, failure))
        elif message[0] == "store":
            writer.put(*message[1:])
    writer.close()
    store.close()
    if writer.error is not None:
        channel.send(("error", type(writer.error).__name__, str(writer.error)))
    channel.send(("done",))
    return 0


if __name__ == "__main__":
    sys.exit(child_main(int(sys.argv[1]), int(sys.argv[2])))
