"""A garbled or hostile server: every odd answer becomes a clear `SmhRequestError` naming the
request, never a traceback from deep inside the client. The emulator answers; a wrapper
around its transport spoils the answer before the client reads it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from reconciler.client import DeleteItem, SmhReadClient, SmhRequestError, SmhWriteClient
from reconciler.emulator import Emulator
from reconciler.errors import SmhError

from .conftest import Connect, Rewriting, Sleeps, requests_of

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
