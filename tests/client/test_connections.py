"""The network transport, over loopback: connections kept alive and never reused once a server
has closed them or said it would, answers that break HTTP read as errors, never as data, and
TLS that trusts only a certificate for the endpoint's name from an authority it trusts.

`Front` is a loopback HTTP/1.1 server on raw sockets (over TLS when given a context) in front of
the emulator: the emulator answers, and the test decides how each answer is framed and counts
the connections."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Literal

import pytest
import trustme

from reconciler.auth import Credentials, Secret
from reconciler.client import SmhReadClient, SmhRequestError
from reconciler.client.connections import MalformedHeader
from reconciler.emulator import Emulator, HttpRequest

from .support import ADMIN_TOKEN, Connect, Sleeps

Framing = Literal["keep", "close", "announce-close", "cut", "not-http", "hints-first"]


class Front:
    """Answers the n-th request as `framing[n]` says (default "keep"):

    - "keep": the emulator's answer, the connection kept open;
    - "close": the same, then the connection closed without a word;
    - "announce-close": the answer says `Connection: close`, but the server keeps the socket
      open and reads nothing more from it;
    - "cut": the headers and half the body, then the connection closed;
    - "not-http": a line that is no HTTP status line;
    - "hints-first": the answer, after an informational 103 Early Hints.
    """

    def __init__(self, emu: Emulator, framing: Mapping[int, Framing],
                 tls: ssl.SSLContext | None = None) -> None:
        self._emu = emu
        self._framing = framing
        self._tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.requests: list[bytes] = []
        self.answered = threading.Event()
        """Set once an answer has been sent, and its connection closed where it is closed."""
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer_all, args=(connection,), daemon=True).start()

    def _answer_all(self, connection: socket.socket) -> None:
        if self._tls is not None:
            try:
                connection = self._tls.wrap_socket(connection, server_side=True)
            except (ssl.SSLError, OSError):
                connection.close()  # the client refused the certificate
                return
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                chunk = connection.recv(65536)
                if not chunk:
                    connection.close()
                    return
                buffered += chunk
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ")
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            while len(buffered) < length:
                buffered += connection.recv(65536)
            body, buffered = buffered[:length], buffered[length:]
            self.requests.append(head + b"\r\n\r\n" + body)
            framing = self._framing.get(len(self.requests) - 1, "keep")
            answer = self._emu.handle(HttpRequest(method, target, headers, body))
            fields = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
            fields.append(("Content-Length", str(len(answer.body))))
            if framing == "announce-close":
                fields.append(("Connection", "close"))
            message = (f"HTTP/1.1 {answer.status} X\r\n"
                       + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode()
            if framing == "hints-first":
                message = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + message
            if framing == "not-http":
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
            else:
                cut = len(answer.body) // 2 if framing == "cut" else len(answer.body)
                connection.sendall(message + answer.body[:cut])
            if framing in ("close", "cut", "not-http"):
                connection.close()
                self.answered.set()
                return
            if framing == "announce-close":
                self._held.append(connection)
                self.answered.set()
                return
            self.answered.set()

    def close(self) -> None:
        self.listener.close()
        for connection in self._held:
            connection.close()
        self._thread.join(timeout=5)


OpenFront = Callable[..., Front]
"""`front(framing, tls=None)`: a `Front` before the test's emulator, closed after the test."""


@pytest.fixture
def front(emu: Emulator) -> Iterator[OpenFront]:
    fronts: list[Front] = []

    def open_front(framing: Mapping[int, Framing], tls: ssl.SSLContext | None = None) -> Front:
        fronts.append(Front(emu, framing, tls))
        return fronts[-1]

    yield open_front
    for opened in fronts:
        opened.close()


def reader_at(connect: Connect, url: str, token: str = ADMIN_TOKEN) -> SmhReadClient:
    client: SmhReadClient = connect(
        endpoint=url, credentials=Credentials(access_token=Secret(token)), timeout=5.0)
    return client


def test_a_run_of_requests_shares_one_connection(
    emu: Emulator, connect: Connect, front: OpenFront
) -> None:
    served = front({})
    reader = reader_at(connect, served.url)
    listings = [reader.list_directory("-", "a") for _ in range(5)]
    assert [sorted(entry.name for entry in listing) for listing in listings] == [
        ["b.txt", "c", "d"]] * 5
    assert served.connections == 1


@pytest.mark.parametrize("framing", ["close", "announce-close"])
def test_a_connection_the_server_closed_or_said_it_would_close_is_not_used_again(
    emu: Emulator, connect: Connect, front: OpenFront, sleeps: Sleeps, framing: Framing
) -> None:
    served = front({0: framing})
    reader = reader_at(connect, served.url)
    assert len(reader.list_directory("-", "a")) == 3
    assert served.answered.wait(5)
    assert len(reader.list_directory("-", "a")) == 3
    assert served.connections == 2
    assert sleeps.delays == []  # the second request went out on a new connection at once


def test_an_informational_answer_before_the_answer_is_passed_over(
    emu: Emulator, connect: Connect, front: OpenFront
) -> None:
    served = front({0: "hints-first"})
    reader = reader_at(connect, served.url)
    assert len(reader.list_directory("-", "a")) == 3
    assert len(reader.list_directory("-", "a")) == 3  # on the same connection, read to its end
    assert served.connections == 1


def test_a_body_cut_short_of_its_stated_length_is_an_error_not_a_shorter_answer(
    emu: Emulator, connect: Connect, front: OpenFront, sleeps: Sleeps
) -> None:
    served = front({n: "cut" for n in range(4)})
    reader = reader_at(connect, served.url)
    with pytest.raises(SmhRequestError, match=r"bytes before the answer's stated end") as error:
        reader.list_directory("-", "a")
    assert error.value.attempts == 4
    assert len(sleeps.delays) == 3  # a broken answer is retried, as a dropped connection is


def test_an_answer_that_is_not_http_is_an_error(
    emu: Emulator, connect: Connect, front: OpenFront
) -> None:
    served = front({n: "not-http" for n in range(4)})
    reader = reader_at(connect, served.url)
    with pytest.raises(SmhRequestError, match=r"not an HTTP answer: BadStatusLine"):
        reader.list_directory("-", "a")


def test_a_token_with_a_line_break_is_never_sent(
    emu: Emulator, connect: Connect, front: OpenFront, sleeps: Sleeps
) -> None:
    served = front({})
    reader = reader_at(connect, served.url, token=f"{ADMIN_TOKEN}\r\nX-Injected: yes")
    with pytest.raises(MalformedHeader, match="'Authorization' header holds a line break") as error:
        reader.list_directory("-", "a")
    assert ADMIN_TOKEN not in str(error.value)
    assert served.requests == [] and served.connections == 0
    assert sleeps.delays == []


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def serving_as(authority: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    return context


def test_an_https_endpoint_is_read_over_tls_on_one_kept_alive_connection(
    emu: Emulator, connect: Connect, front: OpenFront, authority: trustme.CA,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    served = front({}, serving_as(authority, "127.0.0.1"))
    reader = reader_at(connect, served.url)
    assert [len(reader.list_directory("-", "a")) for _ in range(3)] == [3, 3, 3]
    assert served.connections == 1


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted-authority", "another-name"])
def test_an_https_endpoint_whose_certificate_does_not_pass_is_sent_nothing(
    emu: Emulator, connect: Connect, front: OpenFront, authority: trustme.CA,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if trusted:
        authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    else:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    served = front({}, serving_as(authority, "smh.example.com" if trusted else "127.0.0.1"))
    reader = reader_at(connect, served.url)
    with pytest.raises(SmhRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        reader.list_directory("-", "a")
    assert served.requests == []
