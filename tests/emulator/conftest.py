"""Fixtures for the emulator conformance tests: an emulator per scenario, reached through httpx
(in process by default, over real loopback where the test says so)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.emulator import Clock, Emulator

LIBRARY = "smhtest"
SECRET = "test-secret"
ADMIN = "admin-token"

BASE_SEED: dict[str, Any] = {
    "library": LIBRARY,
    "secret": SECRET,
    "token": ADMIN,
    "spaces": {
        "-": [
            "docs/handbook.pdf",
            "docs/drafts/v0.docx",
            "photos/2024/a.jpg",
            "photos/2024/b.jpg",
            "photos/2024/c.mp4",
            "photos/archive/",
            "tmp/x.part",
            "tmp/cache/y.part",
            "hello.txt",
        ],
    },
}


@pytest.fixture
def clock() -> Clock:
    return Clock(start=1_800_000_000.0)


@pytest.fixture
def emu(clock: Clock) -> Emulator:
    return Emulator.from_seed(BASE_SEED, clock=clock)


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.transport(), base_url="https://smhtest.api.tencentsmh.cn",
                      params={"access_token": ADMIN}) as c:
        yield c


@pytest.fixture
def anon(emu: Emulator) -> Iterator[httpx.Client]:
    """A client that sends no token unless the test adds one."""
    with httpx.Client(transport=emu.transport(),
                      base_url="https://smhtest.api.tencentsmh.cn") as c:
        yield c


def token(anon: httpx.Client, grant: str = "", **params: str) -> str:
    response = anon.get("/api/v1/token", params={"library_id": LIBRARY, "library_secret": SECRET,
                                                 "grant": grant, **params})
    assert response.status_code == 200, response.text
    value: str = response.json()["accessToken"]
    return value


def api(resource: str, *parts: str, space: str | None = "-") -> str:
    """`/api/v1/{resource}/{LIBRARY}/{space}/{parts...}` (space None: library level)."""
    segments = [resource, LIBRARY] + ([space] if space is not None else []) + list(parts)
    return "/api/v1/" + "/".join(segments)


def names(response: httpx.Response) -> list[str]:
    return [item["name"] for item in response.json()["contents"]]


def error_code(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["requestId"] == response.headers["X-Request-Id"]
    assert body["status"] == response.status_code
    return response.status_code, body["code"]
