"""The HTTP/1.1 transport under every network session: httpx's requests and answers, over
connections the standard library's `http.client` reads.

A plan or an apply is hundreds to thousands of requests. Over httpx's own transport (httpcore
with h11) a request for an 85 KB listing page costs about 1.4 times the CPU it costs over this
one with one thread, and more with many, httpcore's pool looking at every connection on each
request: a plan at `--concurrency` 32 spends over a quarter less CPU over this one. This
transport does only what a session needs: HTTP/1.1 requests with a body in bytes, over
connections kept alive per origin (the most recently used first, one a server closed or sent
anything on while idle never reused, none kept idle longer than `KEEPALIVE_EXPIRY`).

Every socket wait, from connecting to the answer's last byte, ends at the deadline of the
request the calling thread is sending (`set_deadline`), so headers or a body dribbled a byte at
a time end as a silent server does. Failures are httpx's transport errors, as the retry policy
expects: a timeout is a `ConnectTimeout`, `WriteTimeout` or `ReadTimeout`, an answer that breaks
HTTP (a bad status line, too many or too long headers, a body that ends before its stated
length) a `RemoteProtocolError`, and any other socket error a `ConnectError`, `WriteError` or
`ReadError`.
"""

from __future__ import annotations

import http.client
import io
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, Literal

import httpx

from reconciler.auth import redact
from reconciler.errors import ReconcileError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

READ_SIZE: Final = 64 * 1024
"""Bytes read from a socket at a time, and the largest chunk an answer's body is read in."""
MAX_IDLE: Final = 100
"""Connections kept alive per origin: more than the largest `--concurrency`, so that every
thread's connection is reused."""
KEEPALIVE_EXPIRY: Final = 5.0
"""Seconds a connection may sit idle and still be reused, as httpx's own transport: servers
close idle connections after a while, and one closed just as a request is sent on it fails."""

_PORTS: Final = {"http": 80, "https": 443}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

Origin = tuple[str, str, int]
Phase = Literal["connect", "write", "read"]

_deadlines = threading.local()


def set_deadline(ends: float | None) -> None:
    """When the request the calling thread sends next must be done (monotonic seconds), or
    None for no deadline."""
    _deadlines.ends = ends


def within_deadline(timeout: float | None) -> float | None:
    """A socket wait of at most `timeout` that also ends at the calling request's deadline."""
    ends: float | None = getattr(_deadlines, "ends", None)
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise TimeoutError("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


_TIMEOUTS: Final[dict[Phase, type[httpx.TimeoutException]]] = {
    "connect": httpx.ConnectTimeout, "write": httpx.WriteTimeout, "read": httpx.ReadTimeout}
_ERRORS: Final[dict[Phase, type[httpx.NetworkError]]] = {
    "connect": httpx.ConnectError, "write": httpx.WriteError, "read": httpx.ReadError}


def _failure(error: Exception, phase: Phase) -> httpx.TransportError | None:
    """`error`, raised while `phase` went on, as the httpx error it is; None if it is not a
    network or protocol failure."""
    if isinstance(error, TimeoutError):
        return _TIMEOUTS[phase](str(error) or "timed out")
    if isinstance(error, http.client.HTTPException | ValueError) and phase == "read":
        if isinstance(error, http.client.RemoteDisconnected):
            return httpx.RemoteProtocolError("the server closed the connection without answering")
        return httpx.RemoteProtocolError(f"not an HTTP answer: {type(error).__name__}: {error}")
    if isinstance(error, OSError):
        return _ERRORS[phase](str(error) or type(error).__name__)
    return None


@contextmanager
def _failing_as(phase: Phase) -> Iterator[None]:
    """Raises what fails in the block as the httpx error it is (`_failure`)."""
    try:
        yield
    except Exception as error:
        failure = _failure(error, phase)
        if failure is None:
            raise
        raise failure from error


class _SocketReader(io.RawIOBase):
    """A connection's socket as `http.client` reads an answer from it: every wait for bytes at
    most the read timeout, and over by the deadline of the request reading it."""

    def __init__(self, sock: socket.socket, timeout: float | None) -> None:
        super().__init__()
        self._sock = sock
        self._timeout = timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        self._sock.settimeout(within_deadline(self._timeout))
        return self._sock.recv_into(buffer)


class _Source:
    """What `http.client.HTTPResponse` reads from: it asks for a file and is given `reader`."""

    def __init__(self, reader: io.BufferedReader[_SocketReader]) -> None:
        self._reader = reader

    def makefile(self, mode: str) -> io.BufferedReader[_SocketReader]:
        return self._reader


class _Connection:
    def __init__(self, origin: Origin, sock: socket.socket) -> None:
        self.origin = origin
        self.sock = sock
        self.idle_since = 0.0

    def reusable(self, now: float) -> bool:
        """Whether this idle connection may carry another request: not idle too long, and
        neither closed by the server nor sent anything on since its last answer."""
        if now - self.idle_since > KEEPALIVE_EXPIRY:
            return False
        try:
            if hasattr(select, "poll"):
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                return not poller.poll(0)
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        self.sock.close()


class _Body(httpx.SyncByteStream):
    """An answer's body, read in chunks; its connection goes back to the pool once the body
    has been read to its end and the server keeps the connection open, and is closed
    otherwise."""

    def __init__(self, pool: Http11Transport, connection: _Connection,
                 answer: http.client.HTTPResponse) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self._answer = answer
        self._complete = False

    def __iter__(self) -> Iterator[bytes]:
        answer = self._answer
        while True:
            with _failing_as("read"):
                chunk = answer.read(READ_SIZE)
            if not chunk:
                break
            yield chunk
        if answer.length:  # `http.client` reads a body cut short as one that ended
            raise httpx.RemoteProtocolError(
                f"the server closed the connection {answer.length} bytes before the answer's "
                f"stated end")
        self._complete = True

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._complete and not self._answer.will_close:
            self._pool.check_in(connection)
        else:
            connection.close()


class MalformedHeader(ReconcileError):
    """A header of a request is malformed (a name that is no HTTP token, or a value with a line
    break or NUL, which would end it early and start another): the request is refused before
    anything is sent, and not retried."""


def _head(request: httpx.Request) -> bytes:
    """The request line and headers; `MalformedHeader` for a header that would break them."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    for name, value in request.headers.raw:
        if not _TOKEN.fullmatch(name) or b"\r" in value or b"\n" in value or b"\0" in value:
            raise MalformedHeader(
                f"refused to send {request.method} {redact(request.url.path)}: its "
                f"{name.decode('latin-1')!r} header holds a line break or NUL, or the name is "
                f"malformed")
        lines.append(name + b": " + value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


def _answer(reader: io.BufferedReader[_SocketReader], method: str) -> http.client.HTTPResponse:
    """The final answer's status line and headers, past any informational (1xx) ones, which
    `http.client` skips only for 100 Continue."""
    while True:
        answer = http.client.HTTPResponse(_Source(reader), method=method)  # type: ignore[arg-type]
        answer.begin()
        if not 100 <= answer.status < 200 or answer.status == 101:
            return answer
        # The reader reads the next answer: dropping this one must not close it.
        answer.fp = None  # type: ignore[assignment]


class Http11Transport(httpx.BaseTransport):
    """HTTP/1.1 over kept-alive connections, thread-safe; `ssl_context` for `https://`."""

    def __init__(self, ssl_context: ssl.SSLContext, *, max_idle: int = MAX_IDLE) -> None:
        self.ssl_context = ssl_context
        self._max_idle = max_idle
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in _PORTS:
            raise httpx.UnsupportedProtocol(f"no transport for {url.scheme!r} URLs")
        if "transfer-encoding" in request.headers:
            raise httpx.LocalProtocolError("refused to send a request body of unknown length")
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        message = _head(request) + request.read()
        connection = self._check_out((url.scheme, url.host, url.port or _PORTS[url.scheme]),
                                     timeouts.get("connect"))
        try:
            with _failing_as("write"):
                connection.sock.settimeout(within_deadline(timeouts.get("write")))
                connection.sock.sendall(message)
            with _failing_as("read"):
                reader = io.BufferedReader(
                    _SocketReader(connection.sock, timeouts.get("read")), READ_SIZE)
                answer = _answer(reader, request.method)
        except BaseException:
            connection.close()
            raise
        headers = [(name.encode("latin-1"), value.encode("latin-1"))
                   for name, value in answer.getheaders()]
        return httpx.Response(
            answer.status, headers=headers, stream=_Body(self, connection, answer),
            extensions={"http_version": b"HTTP/1.0" if answer.version == 10 else b"HTTP/1.1",
                        "reason_phrase": answer.reason.encode("latin-1", "replace")})

    def _check_out(self, origin: Origin, timeout: float | None) -> _Connection:
        stale: list[_Connection] = []
        found: _Connection | None = None
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(origin)
            while idle:
                connection = idle.pop()
                if connection.reusable(now):
                    found = connection
                    break
                stale.append(connection)
        for connection in stale:
            connection.close()
        return found if found is not None else self._connect(origin, timeout)

    def check_in(self, connection: _Connection) -> None:
        """Keep `connection`, its answer read whole, for the next request to its origin."""
        connection.idle_since = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(connection.origin, [])
            if not self._closed and len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()

    def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        with _failing_as("connect"):
            sock = socket.create_connection((host, port), within_deadline(timeout))
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if scheme == "https":
                    sock.settimeout(within_deadline(timeout))
                    sock = self.ssl_context.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        return _Connection(origin, sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [c for connections in self._idle.values() for c in connections]
            self._idle.clear()
        for connection in idle:
            connection.close()
