"""First conformance checks of the delete seeds' examples."""

from __future__ import annotations

import httpx

from reconciler.emulator import Emulator

from .conftest import LIBRARY


def test_delete_file_to_bin_then_permanent_then_missing(client: httpx.Client) -> None:
    recycled = client.delete(f"/api/v1/file/{LIBRARY}/-/hello.txt")
    assert recycled.status_code == 200
    assert isinstance(recycled.json()["recycledItemId"], int)
    permanent = client.delete(f"/api/v1/file/{LIBRARY}/-/docs/handbook.pdf",
                              params={"permanent": "1"})
    assert permanent.status_code == 204
    assert permanent.content == b""
    assert permanent.headers["X-Request-Id"]
    missing = client.delete(f"/api/v1/file/{LIBRARY}/-/hello.txt")
    assert missing.status_code == 404
    body = missing.json()
    assert body == {"status": 404, "code": "FileNotFound", "message": "File not found.",
                    "requestId": missing.headers["X-Request-Id"]}
    assert missing.headers["Content-Type"] == "application/json; charset=utf-8"


def test_loopback_server_answers(emu: Emulator) -> None:
    with emu.serve() as base_url, httpx.Client(base_url=base_url) as c:
        response = c.get(f"/api/v1/directory/{LIBRARY}/-/", params={"access_token": "admin-token"})
    assert response.status_code == 200
    assert [item["name"] for item in response.json()["contents"]] == [
        "docs", "photos", "tmp", "hello.txt"]
