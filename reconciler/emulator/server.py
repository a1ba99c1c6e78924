"""Adapters around `Emulator.handle`: a WSGI app, an in-process httpx transport and a real
threaded loopback HTTP server (werkzeug).

A dropped connection has to look like one to the client: over loopback the socket is shut down
without a byte of answer; in process the transport raises `httpx.RemoteProtocolError`, which is
what httpx raises when a server closes the connection before responding.

The loopback server keeps connections alive (HTTP/1.1): every answer carries its
Content-Length (a HEAD answer the length its GET would have), so a client sends its next
request on the same connection instead of opening a new one each time.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import quote

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .http import Handler, HttpRequest

REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
           207: "Multi-Status", 302: "Found", 304: "Not Modified", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}

StartResponse = Callable[..., Any]
logger = logging.getLogger(__name__)


class EmulatorTransport(httpx.BaseTransport):
    """Serves httpx requests from the emulator in the calling thread."""

    def __init__(self, emulator: Handler) -> None:
        self._emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        target = request.url.raw_path.decode("ascii")
        answer = self._emulator.handle(HttpRequest(request.method, target, headers, body))
        if answer.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request)
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body,
                              request=request)


def make_wsgi_app(emulator: Handler) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # The raw URI keeps %2F apart from "/" until the core decodes it; PATH_INFO is already
        # decoded (and, per PEP 3333, latin-1 mangled).
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if not target:
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            target = quote(path, safe="/")
            if environ.get("QUERY_STRING"):
                target += "?" + environ["QUERY_STRING"]
        headers = {key[5:].replace("_", "-").lower(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        answer = emulator.handle(HttpRequest(environ["REQUEST_METHOD"], target, headers, body))
        if answer.drop:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            # werkzeug treats a ConnectionError as a dropped client and writes nothing more.
            raise ConnectionAbortedError("connection dropped by fault injection")
        reason = REASONS.get(answer.status, "Unknown")
        sent = list(answer.headers)
        if answer.status not in NO_BODY_STATUSES and not any(
                name.lower() == "content-length" for name, _ in sent):
            length = answer.length if answer.length is not None else len(answer.body)
            sent.append(("Content-Length", str(length)))
        start_response(f"{answer.status} {reason}", sent)
        return [answer.body] if answer.body else []

    return app


NO_BODY_STATUSES = frozenset({204, 304})


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler with HTTP/1.1 keep-alive.

    werkzeug's own `run_wsgi` closes every connection after its answer (and then drains the
    socket, which would swallow a kept-alive client's next request), so this one writes the
    app's single body itself. A dropped answer, a request body the app may not have read in
    full (chunked) and a failure in the app close the connection.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: send each at once
    timeout = 120  # an idle kept-alive connection frees its thread after this many seconds

    def log(self, type: str, message: str, *args: Any) -> None:
        pass

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        if "HTTP_TRANSFER_ENCODING" in environ:
            self.close_connection = True
        answered: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            answered[:] = [status, headers]
            return lambda data: None

        try:
            body = b"".join(self.server.app(environ, start_response))
        except ConnectionError:
            self.close_connection = True
            return
        except Exception:
            logger.exception("emulator app failed on %s %s", self.command, self.path)
            answered[:] = ["500 Internal Server Error", [("Content-Length", "0")]]
            body = b""
            self.close_connection = True
        status, headers = answered
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def send_response(self, code: int, message: str | None = None) -> None:
        # Without the `Date` of this machine's clock: the emulator sends its own clock's.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())


def make_loopback_server(emulator: Handler, host: str = "127.0.0.1",
                         port: int = 0) -> BaseWSGIServer:
    """A threaded werkzeug server for the emulator; binding failures raise `OSError`.

    The socket is bound here and handed to werkzeug, because werkzeug reacts to a bind
    failure by printing to stderr and exiting the process.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        # werkzeug duplicates the descriptor, so this one can be closed afterwards.
        return make_server(host, listener.getsockname()[1], make_wsgi_app(emulator),
                           threaded=True, request_handler=_QuietHandler,
                           fd=listener.fileno())


@contextmanager
def serve(emulator: Handler, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve on loopback from a background thread; yields the base URL."""
    server = make_loopback_server(emulator, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="smh-emulator", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
