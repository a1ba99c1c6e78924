"""What the emulator conformance tests share: the library they run on and ways to build and
read its requests."""

from __future__ import annotations

from typing import Any

import httpx

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
