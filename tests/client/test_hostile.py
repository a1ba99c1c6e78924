"""A garbled or hostile server: every odd answer becomes a clear `SmhRequestError` naming the
request, never a traceback from deep inside the client. The emulator answers; a wrapper
around its transport spoils the answer before the client reads it."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import httpx
import pytest

from reconciler.auth import Credentials, Secret
from reconciler.client import DeleteItem, SmhReadClient, SmhRequestError, SmhWriteClient
from reconciler.client.session import REQUEST_DEADLINE, _network_transport
from reconciler.emulator import Emulator
from reconciler.errors import SmhError

from .support import SECRET, Connect, Rewriting, Sleeps, requests_of

Spoil = Callable[[httpx.Request, int, bytes], tuple[int, bytes]]


def on(route: str, change: Callable[[Any], Any]) -> Spoil:
    """Rewrites the JSON answers of one resource with `change(doc) -> doc`."""

    def rewrite(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        if f"/api/v1/{route}/" not in request.url.path or not body:
            return status, body
        return status, json.dumps(change(json.loads(body))).encode()

    return rewrite


def raw(route: str, body: bytes, status: int | None = None) -> Spoil:
    def rewrite(request: httpx.Request, old_status: int, old_body: bytes) -> tuple[int, bytes]:
        if f"/api/v1/{route}/" in request.url.path:
            return status or old_status, body
        return old_status, old_body

    return rewrite


def contents(change: Callable[[list[dict[str, Any]]], Any]) -> Spoil:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        doc["contents"] = change(doc["contents"])
        return doc

    return on("directory", apply)


def first_item(**fields: Any) -> Spoil:
    def change(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items[0].update(fields)
        return items

    return contents(change)


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (raw("directory", b"<html>502 Bad Gateway</html>"), "not JSON: <html>502 Bad Gateway"),
        (raw("directory", b"[" * 100_000 + b"]" * 100_000), "not JSON"),
        (on("directory", lambda doc: [doc]), "answer is a list, not an object"),
        (contents(lambda items: "everything"), "answer.contents is a string, not a list"),
        (contents(lambda items: [*items, 7]), r"contents\[4\] is a number, not an object"),
        (first_item(name=None), r"contents\[0\].name is missing, not a string"),
        (first_item(name="../../etc"), "unusable name '../../etc'"),
        (first_item(name="x/y"), "unusable name 'x/y'"),
        (first_item(name=".."), "unusable name '..'"),
        (first_item(size={"huge": True}), "size is an object, not a string"),
        (first_item(type=["dir"]), "type is a list, not a string"),
        (on("directory", lambda doc: {**doc, "nextMarker": {"m": 1}}),
         "nextMarker is an object, not a string or integer"),
        (on("directory", lambda doc: {**doc, "nextMarker": True}),
         "nextMarker is a boolean"),
    ],
)
def test_garbled_listings_are_clear_errors(
    emu: Emulator, connect: Connect, spoil: Spoil, expected: str
) -> None:
    reader: SmhReadClient = connect(transport=Rewriting(emu.transport(), spoil))
    with pytest.raises(SmhRequestError, match=expected) as caught:
        reader.list_directory("-", "")
    assert str(caught.value).startswith("GET /api/v1/directory/smhdemo/-")
    assert "unexpected answer: " in str(caught.value) and "(HTTP 200)" in str(caught.value)


@pytest.mark.parametrize("directory", ["", "docs"])  # a mixed page; one of files only
def test_bad_utf8_in_a_field_the_listing_does_not_keep_is_still_not_json(
    emu: Emulator, connect: Connect, directory: str
) -> None:
    def spoil(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        return status, body.replace(b'"contents":', b'"note":"\xff","contents":', 1)

    reader: SmhReadClient = connect(transport=Rewriting(emu.transport(), spoil))
    with pytest.raises(SmhRequestError, match="not JSON"):
        reader.list_directory("-", directory)
    assert [entry.path for entry in connect().list_directory("-", "docs")] == [
        "docs/handbook.pdf"]


def test_an_html_error_page_is_reported_with_a_preview(
    emu: Emulator, connect: Connect
) -> None:
    spoil = raw("directory", b"<html><h1>Forbidden by proxy</h1></html>", status=403)
    reader: SmhReadClient = connect(transport=Rewriting(emu.transport(), spoil))
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "")
    assert caught.value.status == 403 and caught.value.code is None
    assert "Forbidden by proxy" in str(caught.value)


class Endless(httpx.BaseTransport):
    """Answers listings with a body that never ends (the emulator answers everything else)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/api/v1/directory/" not in request.url.path:
            return self.inner.handle_request(request)

        def body() -> Iterator[bytes]:
            chunk = b" " * (1 << 20)
            while True:
                self.sent += len(chunk)
                yield chunk

        return httpx.Response(200, content=body(), request=request)


def test_a_huge_answer_is_cut_off(emu: Emulator, connect: Connect) -> None:
    endless = Endless(emu.transport())
    reader: SmhReadClient = connect(transport=endless)
    with pytest.raises(SmhRequestError, match="answer larger than"):
        reader.list_directory("-", "")
    assert endless.sent <= 33 * (1 << 20)


def _batch(change: Callable[[list[dict[str, Any]]], Any]) -> Spoil:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        doc["result"] = change(doc["result"])
        return doc

    return on("batch", apply)


ITEMS = [DeleteItem("hello.txt", False), DeleteItem("tmp", True), DeleteItem("a/b.txt", False)]


def test_batch_results_out_of_order_are_matched_by_path(emu: Emulator, connect: Connect) -> None:
    writer: SmhWriteClient = connect(
        SmhWriteClient, transport=Rewriting(emu.transport(), _batch(lambda r: r[::-1]))
    )
    reply = writer.batch_delete("-", ITEMS)
    assert reply.results is not None
    assert [(r.path, r.status) for r in reply.results] == [
        ("hello.txt", 200), ("tmp", 204), ("a/b.txt", 200)
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda r: [{**row, "status": str(row["status"])} for row in r],
        lambda r: [{**row, "path": "/" + "/".join(row["path"]) + "/"} for row in r],
        lambda r: [{k: v for k, v in row.items() if k != "path"} for row in r],
        lambda r: [{**row, "recycledItemId": str(row["recycledItemId"])}
                   if "recycledItemId" in row else row for row in r],
    ],
)
def test_batch_results_in_the_other_forms_a_server_may_send_read_alike(
    emu: Emulator, connect: Connect, change: Callable[[Any], Any]
) -> None:
    writer: SmhWriteClient = connect(
        SmhWriteClient, transport=Rewriting(emu.transport(), _batch(change))
    )
    reply = writer.batch_delete("-", ITEMS)
    assert reply.results is not None
    assert [(r.path, r.status, r.code) for r in reply.results] == [
        ("hello.txt", 200, None), ("tmp", 204, None), ("a/b.txt", 200, None)
    ]
    assert all(isinstance(r.recycled_item_id, int) for r in reply.results if r.status == 200)


def test_a_batch_result_message_is_redacted_and_made_printable(
    emu: Emulator, connect: Connect
) -> None:
    secret = SECRET
    said = _batch(lambda r: [{**r[0], "status": 500, "code": "Oops\x07",
                              "message": f"key {secret}\nleaked"}, *r[1:]])
    writer: SmhWriteClient = connect(SmhWriteClient, transport=Rewriting(emu.transport(), said))
    reply = writer.batch_delete("-", ITEMS)
    assert reply.results is not None
    first = reply.results[0]
    assert (first.status, first.code) == (500, "Oops?")
    assert first.message is not None and secret not in first.message
    assert first.message.startswith("key ") and first.message.endswith("?leaked")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r[:2], "2 results for 3 items"),
        (lambda r: [{**r[0], "path": ["elsewhere"]}, *r[1:]], "no result for 'hello.txt'"),
        (lambda r: [{"status": 200}, r[2], r[1]], "does not say its item"),
        (lambda r: [{**r[0], "status": "ok"}, *r[1:]], r"result\[0\].status is a string"),
        (lambda r: {"not": "a list"}, "result is an object, not a list"),
    ],
)
def test_batch_results_that_cannot_be_matched_are_refused(
    emu: Emulator, connect: Connect, change: Callable[[Any], Any], expected: str
) -> None:
    writer: SmhWriteClient = connect(
        SmhWriteClient, transport=Rewriting(emu.transport(), _batch(change))
    )
    with pytest.raises(SmhRequestError, match=expected):
        writer.batch_delete("-", ITEMS)


def test_a_token_answer_without_a_token_is_a_clear_error(
    emu: Emulator, connect: Connect
) -> None:
    def spoil(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        if request.url.path == "/api/v1/token":
            return 200, b'{"expiresIn": 60}'
        return status, body

    reader: SmhReadClient = connect(transport=Rewriting(emu.transport(), spoil))
    with pytest.raises(SmhRequestError, match="accessToken is missing, not a string"):
        reader.list_directory("-", "")


class BadGzip(httpx.BaseTransport):
    """Claims a gzip body for listings and sends bytes that are not gzip."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/api/v1/directory/" not in request.url.path:
            return self.inner.handle_request(request)
        return httpx.Response(200, headers={"Content-Encoding": "gzip"},
                              content=iter([b"definitely not gzip"]), request=request)


def test_a_body_that_does_not_match_its_encoding_is_a_clear_error(
    emu: Emulator, connect: Connect, sleeps: Sleeps
) -> None:
    reader: SmhReadClient = connect(transport=BadGzip(emu.transport()))
    with pytest.raises(SmhRequestError, match="undecodable answer"):
        reader.list_directory("-", "")
    assert sleeps.delays == []


def test_an_entry_listed_twice_is_kept_once_but_a_changed_type_is_an_error(
    emu: Emulator, connect: Connect
) -> None:
    doubled = contents(lambda items: [*items, items[-1]])
    reader: SmhReadClient = connect(transport=Rewriting(emu.transport(), doubled))
    assert [e.path for e in reader.list_directory("-", "")] == ["a", "docs", "tmp", "hello.txt"]
    retyped = contents(lambda items: [*items, {**items[0], "type": "file"}])
    reader = connect(transport=Rewriting(emu.transport(), retyped))
    with pytest.raises(SmhError, match="'a' both as dir and as file"):
        reader.list_directory("-", "")


def test_a_bin_count_without_total_is_counted_by_listing(
    emu: Emulator, connect: Connect
) -> None:
    def no_total(doc: dict[str, Any]) -> dict[str, Any]:
        doc.pop("totalNum", None)
        return doc

    writer: SmhWriteClient = connect(SmhWriteClient,
                                     transport=Rewriting(emu.transport(), on("recycled", no_total)))
    writer.batch_delete("-", [DeleteItem("hello.txt", False), DeleteItem("tmp", False)])
    assert writer.recycle_bin_items("-") == 2
    assert len(requests_of(emu, "recycled")) == 2  # the page-mode ask, then the listing


# -- listings are bounded ----------------------------------------------------------------------


class Marked(httpx.BaseTransport):
    """Drops the made-up markers before the emulator sees them (it would refuse them)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_remove_param("marker")
        return self.inner.handle_request(request)


def test_a_directory_serving_more_entries_than_allowed_is_an_error(
    emu: Emulator, connect: Connect
) -> None:
    reader: SmhReadClient = connect(page_size=1)
    assert len(reader.list_directory("-", "", max_entries=4)) == 4
    with pytest.raises(SmhRequestError, match="served more than 3 entries"):
        reader.list_directory("-", "", max_entries=3)
    assert len(requests_of(emu, "directory")) == 4 + 4  # the second stopped at its fourth page


def test_rows_repeated_on_every_page_stop_at_the_entry_cap(
    emu: Emulator, connect: Connect
) -> None:
    """A server that sends the same page with a fresh marker for ever."""
    served = iter(range(10**9))
    again = on("directory", lambda doc: {**doc, "nextMarker": f"fresh-{next(served)}"})
    reader: SmhReadClient = connect(transport=Rewriting(Marked(emu.transport()), again))
    with pytest.raises(SmhRequestError, match="served more than 10 entries"):
        reader.list_directory("-", "", max_entries=10)
    assert len(requests_of(emu, "directory")) == 3  # 4 rows a page


@pytest.mark.parametrize("pages", [1, 2, 30])
def test_a_listing_stops_after_the_page_cap(
    emu: Emulator, connect: Connect, pages: int
) -> None:
    served = iter(range(10**9))
    spoil = on("directory", lambda doc: {**doc, "contents": [],
                                          "nextMarker": f"m{next(served)}"})
    reader: SmhReadClient = connect(transport=Rewriting(Marked(emu.transport()), spoil))
    reader.max_pages = pages
    with pytest.raises(SmhRequestError, match=f"did not end after {pages} pages"):
        reader.list_directory("-", "")
    assert len(requests_of(emu, "directory")) == pages


def test_the_recycle_bin_listing_is_bounded_too(emu: Emulator, connect: Connect) -> None:
    served = iter(range(10**9))
    spoil = on("recycled", lambda doc: {**doc, "contents": [],
                                         "nextMarker": f"m{next(served)}"})
    reader: SmhReadClient = connect(transport=Rewriting(Marked(emu.transport()), spoil))
    reader.max_pages = 5
    with pytest.raises(SmhRequestError, match="did not end after 5 pages"):
        reader.list_recycle_bin("-")


@pytest.mark.parametrize("doc", [{}, {"contents": None}, {"nextMarker": "m1"},
                                 {"contents": [{"recycledItemId": 1, "originalPath": ["a"]}]}])
def test_a_recycle_bin_page_not_in_the_documented_shape_is_an_error(
    emu: Emulator, connect: Connect, doc: dict[str, Any]
) -> None:
    reader: SmhReadClient = connect(
        transport=Rewriting(emu.transport(), on("recycled", lambda _: doc)))
    with pytest.raises(SmhRequestError, match="unexpected answer"):
        reader.list_recycle_bin("-")


# -- every request has a deadline --------------------------------------------------------------


class Dribbling(httpx.BaseTransport):
    """Answers listings with a valid body sent a byte at a time, `pause` seconds apart."""

    def __init__(self, inner: httpx.BaseTransport, pause: float) -> None:
        self.inner = inner
        self.pause = pause

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if "/api/v1/directory/" not in request.url.path:
            return response
        body = response.read()

        def dribble() -> Iterator[bytes]:
            for byte in body:
                time.sleep(self.pause)
                yield bytes([byte])

        return httpx.Response(response.status_code, content=dribble(), request=request)


def test_a_body_dribbled_a_byte_at_a_time_ends_at_the_deadline(
    emu: Emulator, connect: Connect, sleeps: Sleeps
) -> None:
    reader: SmhReadClient = connect(transport=Dribbling(emu.transport(), 0.01), deadline=0.3)
    started = time.monotonic()
    with pytest.raises(SmhRequestError, match=r"did not arrive in full within 0\.3 s"):
        reader.list_directory("-", "")
    assert time.monotonic() - started < 2
    assert sleeps.delays == []  # not retried: a server that dribbles would dribble again


def test_a_slow_but_steady_answer_within_the_deadline_is_read(
    emu: Emulator, connect: Connect
) -> None:
    reader: SmhReadClient = connect(transport=Dribbling(emu.transport(), 0.0), deadline=5)
    assert len(reader.list_directory("-", "")) == 4


def dribbling_server(pause: float, *, headers: bool = False
                     ) -> tuple[socket.socket, threading.Thread, str]:
    """A loopback HTTP server that answers one request with headers and then a body of spaces
    a byte every `pause` seconds, never reaching the length it promised (with `headers`, it
    dribbles a header line instead)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: " if headers else
                               b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 100000\r\n\r\n")
            with suppress(OSError):
                while not stop.wait(pause):
                    connection.sendall(b"x" if headers else b" ")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.stop = stop  # type: ignore[attr-defined]
    return listener, thread, f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("headers", [False, True], ids=["body", "headers"])
def test_a_dribbling_server_over_loopback_ends_at_the_deadline(
    connect: Connect, sleeps: Sleeps, headers: bool
) -> None:
    listener, thread, url = dribbling_server(0.02, headers=headers)
    try:
        reader: SmhReadClient = connect(
            endpoint=url, credentials=Credentials(access_token=Secret("dribble-tok-31")),
            deadline=0.5, timeout=5.0, attempts=3)
        started = time.monotonic()
        with pytest.raises(SmhRequestError, match=r"did not arrive in full within 0\.5 s"):
            reader.list_directory("-", "")
        assert time.monotonic() - started < 3
        assert sleeps.delays == []
    finally:
        thread.stop.set()  # type: ignore[attr-defined]
        listener.close()
        thread.join(timeout=5)


@pytest.mark.slow
def test_a_dribbling_server_is_cut_off_at_the_stated_deadline(connect: Connect) -> None:
    listener, thread, url = dribbling_server(1.0)
    try:
        reader: SmhReadClient = connect(
            endpoint=url, credentials=Credentials(access_token=Secret("dribble-tok-32")),
            attempts=1)
        started = time.monotonic()
        with pytest.raises(SmhRequestError, match=f"within {REQUEST_DEADLINE:g} s"):
            reader.list_directory("-", "")
        assert REQUEST_DEADLINE <= time.monotonic() - started < REQUEST_DEADLINE + 5
    finally:
        thread.stop.set()  # type: ignore[attr-defined]
        listener.close()
        thread.join(timeout=5)


def _tls_context(endpoint: str) -> ssl.SSLContext:
    transport = _network_transport(endpoint)
    context = transport.ssl_context
    assert isinstance(context, ssl.SSLContext)
    return context


def test_an_https_endpoint_checks_certificates_and_an_http_one_trusts_none() -> None:
    secure = _tls_context("https://smh.example.com")
    assert secure.verify_mode is ssl.CERT_REQUIRED and secure.check_hostname
    assert secure.cert_store_stats()["x509_ca"] > 0
    # A plain-HTTP endpoint never speaks TLS; were it to, no certificate could pass.
    plain = _tls_context("http://127.0.0.1:8080")
    assert plain.verify_mode is ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0
