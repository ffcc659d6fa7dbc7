"""Running the simulator: an asyncio server, a background thread, TLS and ``serve_forever``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

from bench.simulator.core import Simulator
from bench.simulator.http import DEFAULT_HOST, DEFAULT_PORT, _Session
from bench.simulator.profiles import Profile
from bench.wire import Connection, TLSConnection, enable_kernel_stamps

# --- running ----------------------------------------------------------------------------


class SimulatorServer:
    """A simulator listening on a port of the running loop; ``base_url`` once started.

    With ``ssl_context`` it serves HTTPS (for clients that insist on it).
    """

    def __init__(
        self,
        profile: Profile | dict | None = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.simulator = Simulator(profile)
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task | None = None
        self._sessions: set[asyncio.Task] = set()

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        listener = socket.create_server((self.host, self.port), backlog=1024, reuse_port=False)
        enable_kernel_stamps(listener)
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accepting = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(self._listener)
            task = loop.create_task(self._session(sock))
            self._sessions.add(task)
            task.add_done_callback(self._sessions.discard)

    async def _session(self, sock: socket.socket) -> None:
        connection: Connection | TLSConnection = Connection(sock)
        if self.ssl_context is not None:
            connection = TLSConnection(connection, self.ssl_context, server_side=True)
            try:
                await connection.handshake()
            except (OSError, ssl.SSLError):
                connection.close()
                return
        await _Session(self.simulator, connection).serve()

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._accepting is not None:
            await asyncio.gather(self._accepting, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()


class SimulatorThread:
    """A simulator serving from a background thread; use as a context manager.

    ``base_url`` and ``simulator`` (its jobs are the ground truth) are available
    inside the ``with`` block.
    """

    def __init__(
        self,
        port: int = 0,
        profile: Profile | dict | str | Path | None = None,
        host: str = DEFAULT_HOST,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if isinstance(profile, str | Path):
            profile = Profile.load(profile)
        self.server = SimulatorServer(profile, host, port, ssl_context)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def simulator(self) -> Simulator:
        return self.server.simulator

    def __enter__(self) -> SimulatorThread:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as error:  # reported to the caller below
                errors.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="bench-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)


@contextlib.contextmanager
def serve_in_thread(
    port: int = 0,
    profile: Profile | dict | str | Path | None = None,
    host: str = DEFAULT_HOST,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[str]:
    """Run the simulator in a background thread; yields its base URL (``http://127.0.0.1:P``).

    ``port=0`` picks a free port. ``profile`` is a ``Profile``, its JSON dict, or a
    path to a JSON file; None is ``DEFAULT_PROFILE`` (sub-second delays, a few
    percent of 429s, 5xx and moderation). The server stops when the block exits. With
    ``ssl_context`` it serves HTTPS.
    """
    with SimulatorThread(port=port, profile=profile, host=host, ssl_context=ssl_context) as running:
        yield running.base_url


async def serve_forever(
    port: int = DEFAULT_PORT,
    profile=None,
    host: str = DEFAULT_HOST,
    ready=None,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Serve until cancelled (``python -m bench simulate``); ``ready(base_url)`` once listening."""
    if isinstance(profile, str | Path):
        profile = Profile.load(profile)
    server = SimulatorServer(profile, host, port, ssl_context)
    await server.start()
    if ready is not None:
        ready(server.base_url)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def server_ssl_context(cert_file: str | Path, key_file: str | Path) -> ssl.SSLContext:
    """A TLS server context from PEM files, for clients that only speak HTTPS."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
