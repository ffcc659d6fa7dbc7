"""Sockets that know when bytes arrived, for timing that the event loop cannot distort.

A Python timestamp taken when a coroutine sees data is late by however long the
event loop was busy with other requests; at a few hundred requests in flight that
is milliseconds. Here every read asks the kernel when the data reached the socket
(``SO_TIMESTAMPNS``, Linux), and every write is stamped just before the bytes are
handed to it, so both ends of an interval are where the network put them. On
platforms without kernel timestamps the read stamp falls back to the clock at the
moment the read returned.

``Connection`` is a non-blocking TCP socket on the running loop, ``TLSConnection``
runs TLS over it with ``ssl.MemoryBIO`` (so the raw reads keep their stamps), and
``WireBackend`` plugs them into httpcore. The simulator serves with the same
classes, so its ground truth is taken the same way.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import struct
import sys
import time

import httpcore

from bench.timing import now_ns

# SO_TIMESTAMPNS (struct timespec of CLOCK_REALTIME in each read's control data);
# the constant is 35 on every Linux architecture and missing from the socket module.
_SO_TIMESTAMPNS = 35 if sys.platform.startswith("linux") else None
_ANCILLARY_BYTES = socket.CMSG_SPACE(16)
_READ_BYTES = 65536


def enable_kernel_stamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp arriving data; on a listening socket, accepted ones inherit it.

    Set it before data arrives: packets queued earlier carry no stamp.
    """
    if _SO_TIMESTAMPNS is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


_offset = {"ns": 0, "until_ns": 0}


def _realtime_offset_ns() -> int:
    # Kernel stamps are CLOCK_REALTIME. Reading both clocks for every stamp would make
    # the offset jitter by ~0.1 us and could swap two stamps' order; one offset a second
    # keeps order, and the clocks drift apart by far less than that in a second.
    now = time.monotonic_ns()
    if now >= _offset["until_ns"]:
        _offset["ns"] = time.time_ns() - time.monotonic_ns()
        _offset["until_ns"] = now + 1_000_000_000
    return _offset["ns"]


def _kernel_stamp(ancillary, offset_ns: int) -> int:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds * 1_000_000_000 + nanoseconds - offset_ns
    return now_ns()


class Connection:
    """A connected, non-blocking TCP socket on the running event loop.

    ``last_read_ns`` is the monotonic time at which the data of the latest ``recv``
    reached the socket (kernel time); ``last_write_ns`` when the latest ``send``
    started handing bytes to the kernel.
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.has_kernel_stamps = enable_kernel_stamps(sock)
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.first_read_ns: int | None = None
        self.last_read_ns: int | None = None
        self.last_write_ns: int | None = None
        self.ssl_object: ssl.SSLObject | None = None

    async def recv(self, max_bytes: int = _READ_BYTES) -> bytes:
        """Up to ``max_bytes`` bytes, waiting for some; b"" at end of stream.

        Sets ``first_read_ns`` (arrival of the read's first byte) and ``last_read_ns``
        (of its last byte). A read that drains several packets carries the latest
        one's stamp, so the first byte's is taken by peeking at it alone first.
        """
        while True:
            offset_ns = _realtime_offset_ns()
            try:
                if self.has_kernel_stamps:
                    _, ancillary, _, _ = self.sock.recvmsg(1, _ANCILLARY_BYTES, socket.MSG_PEEK)
                    first_ns = _kernel_stamp(ancillary, offset_ns)
                data, ancillary, _, _ = self.sock.recvmsg(max_bytes, _ANCILLARY_BYTES)
            except (BlockingIOError, InterruptedError):
                await self._ready(self.loop.add_reader, self.loop.remove_reader)
                continue
            self.last_read_ns = _kernel_stamp(ancillary, offset_ns)
            self.first_read_ns = (
                min(first_ns, self.last_read_ns) if self.has_kernel_stamps else self.last_read_ns
            )
            return data

    async def send(self, data: bytes) -> None:
        """Hand all of ``data`` to the kernel, waiting while its buffer is full."""
        view = memoryview(data)
        self.last_write_ns = now_ns()
        while view:
            try:
                sent = self.sock.send(view)
            except (BlockingIOError, InterruptedError):
                await self._ready(self.loop.add_writer, self.loop.remove_writer)
                continue
            view = view[sent:]

    async def wait_closed_by_peer(self) -> bool:
        """Wait until the socket is readable; True if the peer closed it (no data pending)."""
        await self._ready(self.loop.add_reader, self.loop.remove_reader)
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def is_readable(self) -> bool:
        """Whether a read would not block: data, end of stream or an error (pool health check)."""
        if self.sock.fileno() < 0:
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def abort(self) -> None:
        """Close with a reset, as a provider whose connection breaks does."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.sock.close()

    async def _ready(self, add, remove) -> None:
        waiter = self.loop.create_future()
        descriptor = self.sock.fileno()
        add(descriptor, _wake, waiter)
        try:
            await waiter
        finally:
            remove(descriptor)


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class TLSConnection:
    """TLS over a ``Connection`` through memory BIOs; reads keep the raw reads' kernel stamps."""

    def __init__(
        self,
        raw: Connection,
        context: ssl.SSLContext,
        *,
        server_hostname: str | None = None,
        server_side: bool = False,
    ) -> None:
        self.raw = raw
        self.sock = raw.sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
        )

    @property
    def first_read_ns(self) -> int | None:
        return self.raw.first_read_ns

    @property
    def last_read_ns(self) -> int | None:
        return self.raw.last_read_ns

    @property
    def last_write_ns(self) -> int | None:
        return self.raw.last_write_ns

    async def handshake(self) -> None:
        await self._drive(self.ssl_object.do_handshake)

    async def recv(self, max_bytes: int = _READ_BYTES) -> bytes:
        try:
            return await self._drive(self.ssl_object.read, max_bytes)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    async def send(self, data: bytes) -> None:
        await self._drive(self.ssl_object.write, data)

    async def wait_closed_by_peer(self) -> bool:
        return await self.raw.wait_closed_by_peer()

    def is_readable(self) -> bool:
        return self._incoming.pending > 0 or self.ssl_object.pending() > 0 or self.raw.is_readable()

    def abort(self) -> None:
        self.raw.abort()

    def close(self) -> None:
        self.raw.close()

    async def _drive(self, operation, *args):
        while True:
            try:
                result = operation(*args)
            except ssl.SSLWantReadError:
                await self._flush()
                data = await self.raw.recv(_READ_BYTES)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            await self._flush()
            return result

    async def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            await self.raw.send(pending)


class WireStream(httpcore.AsyncNetworkStream):
    """httpcore's view of a ``Connection`` or ``TLSConnection``, with its stamps."""

    def __init__(self, connection: Connection | TLSConnection) -> None:
        self.connection = connection

    @property
    def first_read_ns(self) -> int | None:
        return self.connection.first_read_ns

    @property
    def last_read_ns(self) -> int | None:
        return self.connection.last_read_ns

    @property
    def last_write_ns(self) -> int | None:
        return self.connection.last_write_ns

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self.connection.recv(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("no data within the read timeout") from None
        except OSError as error:
            raise httpcore.ReadError(str(error)) from None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                await self.connection.send(buffer)
        except TimeoutError:
            raise httpcore.WriteTimeout("could not send within the write timeout") from None
        except OSError as error:
            raise httpcore.WriteError(str(error)) from None

    async def aclose(self) -> None:
        self.connection.close()

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        tls = TLSConnection(self.connection, ssl_context, server_hostname=server_hostname)
        try:
            async with asyncio.timeout(timeout):
                await tls.handshake()
        except TimeoutError:
            self.connection.close()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as error:
            self.connection.close()
            raise httpcore.ConnectError(f"TLS handshake failed: {error}") from None
        return WireStream(tls)

    def get_extra_info(self, info: str):
        sock = self.connection.sock
        if info == "ssl_object":
            return getattr(self.connection, "ssl_object", None)
        if info == "socket":
            return sock
        if info == "is_readable":
            return self.connection.is_readable()
        try:
            if info == "client_addr":
                return sock.getsockname()
            if info == "server_addr":
                return sock.getpeername()
        except OSError:
            return None
        return None


class WireBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend opening ``WireStream`` connections (asyncio only)."""

    async def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ) -> WireStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                error: OSError | None = None
                for family, kind, protocol, _, address in addresses:
                    sock = socket.socket(family, kind, protocol)
                    try:
                        sock.setblocking(False)
                        for option in socket_options or ():
                            sock.setsockopt(*option)
                        if local_address:
                            sock.bind((local_address, 0))
                        await loop.sock_connect(sock, address)
                    except OSError as failure:
                        sock.close()
                        error = failure
                        continue
                    except BaseException:
                        sock.close()
                        raise
                    return WireStream(Connection(sock))
                raise error or OSError(f"no address for {host}")
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"could not connect within {timeout} s") from None
        except OSError as failure:
            raise httpcore.ConnectError(str(failure)) from None

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not supported by bench")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
