"""The loopback server and the WSGI app: real HTTP, concurrency, path encodings."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

from .support import ADMIN, LIBRARY, api, names

pytestmark = pytest.mark.e2e


def test_serve_yields_loopback_url_and_answers(emu: Emulator) -> None:
    with emu.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, params={"access_token": ADMIN}) as c:
            root = c.get(api("directory"))
            assert root.status_code == 200
            assert root.headers["X-Request-Id"]
            assert names(root) == ["docs", "photos", "tmp", "hello.txt"]
            assert names(c.get(f"/api/v1/directory/{LIBRARY}/-/photos%2F2024")) == [
                "a.jpg", "b.jpg", "c.mp4"]
            head = c.head(api("file", "hello.txt"))
            assert head.status_code == 200 and head.content == b""
            deleted = c.delete(api("file", "hello.txt"), params={"permanent": "1"})
            assert deleted.status_code == 204 and deleted.headers["X-Request-Id"]
            assert c.get("/_emulator/stats").json()["total"] == 4


def test_concurrent_requests_on_real_server(emu: Emulator) -> None:
    paths = [f"bulk/f{i:03d}.txt" for i in range(200)]
    emu = Emulator.from_seed({"library": LIBRARY, "secret": "s", "token": ADMIN,
                              "spaces": {"-": paths}})
    emu.set_faults({"latency_ms": 20})
    with emu.serve() as base_url, httpx.Client(
            base_url=base_url, params={"access_token": ADMIN},
            limits=httpx.Limits(max_connections=32)) as c:
        def delete(path: str) -> int:
            return c.delete(api("file", *path.split("/"))).status_code

        def listing(_: int) -> int:
            return c.get(api("directory", "bulk"), params={"limit": "50"}).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            deletes = list(pool.map(delete, paths))
            lists = list(pool.map(listing, range(32)))
    assert deletes == [200] * 200
    assert lists == [200] * 32
    state = emu.state()["spaces"]["-"]
    assert state["paths"] == ["bulk/"]
    ids = [r["recycledItemId"] for r in state["recycled"]]
    assert sorted(ids) == list(range(1, 201))
    assert emu.stats()["total"] == 232


def test_concurrency_actually_overlaps(emu: Emulator) -> None:
    import time
    emu.set_faults({"latency_ms": 200})
    with emu.serve() as base_url, httpx.Client(base_url=base_url,
                                                params={"access_token": ADMIN}) as c:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: c.get(api("directory")).status_code, range(8)))
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 8
    assert elapsed < 1.0  # eight 200 ms requests served side by side, not one after another


def test_wsgi_app_directly(emu: Emulator) -> None:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": "DELETE", "PATH_INFO": f"/api/v1/file/{LIBRARY}/-/hello.txt",
               "QUERY_STRING": f"access_token={ADMIN}", "wsgi.input": io.BytesIO(b""),
               "CONTENT_LENGTH": "0"}
    body = b"".join(emu.wsgi_app(environ, start_response))
    assert captured["status"] == "200 OK"
    assert captured["headers"]["X-Request-Id"]
    assert b"recycledItemId" in body


def test_serve_on_a_busy_port_raises_oserror(emu: Emulator) -> None:
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError), emu.serve(port=busy.getsockname()[1]):
            pass


def test_loopback_keeps_the_connection_open(emu: Emulator) -> None:
    """Answers carry their length, so one connection carries request after request."""
    import http.client
    from urllib.parse import urlsplit

    with emu.serve() as base_url:
        where = urlsplit(base_url)
        connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=5)
        listing = f"/api/v1/directory/{LIBRARY}/-/?access_token={ADMIN}"
        connection.request("GET", listing)
        answer = connection.getresponse()
        body = answer.read()
        socket_used = connection.sock
        assert answer.status == 200 and not answer.will_close
        assert int(answer.headers["Content-Length"]) == len(body) > 0

        connection.request("GET", "/_emulator/faults")
        faults = connection.getresponse().read()
        connection.request("HEAD", "/_emulator/faults")
        head = connection.getresponse()
        assert head.read() == b"" and head.headers["Content-Length"] == str(len(faults))
        connection.request("HEAD", listing)  # SMH's existence check: 200 without a body
        exists = connection.getresponse()
        assert exists.status == 200 and exists.read() == b"" and not exists.will_close
        connection.request("DELETE", f"/api/v1/file/{LIBRARY}/-/hello.txt?access_token={ADMIN}")
        deleted = connection.getresponse()
        assert deleted.status == 200 and deleted.read() and not deleted.will_close
        connection.request("GET", f"/api/v1/nothing?access_token={ADMIN}")
        missing = connection.getresponse()
        assert missing.status == 404 and missing.read()
        assert connection.sock is socket_used  # never reconnected
        connection.close()
    assert emu.stats()["total"] == 4


def test_a_dropped_answer_closes_only_its_connection(emu: Emulator) -> None:
    emu.set_faults({"drop_rate": 1.0})
    with emu.serve() as base_url, httpx.Client(base_url=base_url,
                                                params={"access_token": ADMIN}) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(api("directory"))
        emu.set_faults({})
        assert c.get(api("directory")).status_code == 200
        assert c.get(api("directory", "docs")).status_code == 200
