"""What the SMH client tests share: the library they run on, a sleep the test controls, and
transports that rewrite or observe the emulator's answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.auth import Credentials, Secret
from reconciler.emulator import Emulator

LIBRARY = "smhdemo"
SECRET = "s3cret-library-key"
ADMIN_TOKEN = "admin-token-0451"
ENDPOINT = "https://smhdemo.api.tencentsmh.cn"

SEED: dict[str, Any] = {
    "library": LIBRARY,
    "secret": SECRET,
    "token": ADMIN_TOKEN,
    "recycle_bin": True,
    "history": {"enabled": False, "earlier_versions": 7},
    "spaces": {
        "-": [
            "a/b.txt",
            "a/c/",
            "a/d/e.jpg",
            "docs/handbook.pdf",
            "tmp/x.part",
            "tmp/y.part",
            "hello.txt",
        ]
    },
}


@dataclass
class Sleeps:
    """Stands in for `time.sleep`: records each delay and runs the test's hook instead."""

    delays: list[float] = field(default_factory=list)
    hook: Callable[[float], None] | None = None

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.hook is not None:
            self.hook(seconds)


Connect = Callable[..., Any]
"""`connect(cls=SmhReadClient, *, credentials, transport, endpoint, attempts, throttled_for,
page_size, clock, timeout, deadline)`: a client against the scenario's emulator, closed after
the test."""


def seeded(**changes: Any) -> dict[str, Any]:
    return {**SEED, **changes}


def secret_credentials() -> Credentials:
    return Credentials(library_secret=Secret(SECRET))


def token_requests(emu: Emulator) -> list[dict[str, Any]]:
    """The requests that minted a token (not those that revoked one)."""
    return [entry for entry in emu.request_log()
            if entry["route"] == "token" and entry["method"] == "GET"]


def requests_of(emu: Emulator, route: str, method: str = "GET") -> list[dict[str, Any]]:
    return [e for e in emu.request_log() if e["route"] == route and e["method"] == method]


class Rewriting(httpx.BaseTransport):
    """A hostile server: the emulator's answers, rewritten by the test before the client sees
    them. `rewrite(request, status, body)` returns the (status, body bytes) to deliver."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        rewrite: Callable[[httpx.Request, int, bytes], tuple[int, bytes]],
    ) -> None:
        self.inner = inner
        self.rewrite = rewrite

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        status, new_body = self.rewrite(request, response.status_code, body)
        headers = [(k, v) for k, v in response.headers.items()
                   if k.lower() not in ("content-length", "content-encoding")]
        return httpx.Response(status, headers=headers, content=new_body, request=request)


class Observing(httpx.BaseTransport):
    """Passes everything to the emulator, noting each token the client sent or received, so
    tests can look for those values in the client's output."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.tokens: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            self.tokens.add(auth.removeprefix("Bearer "))
        if request.url.params.get("access_token"):
            self.tokens.add(request.url.params["access_token"])
        response = self.inner.handle_request(request)
        if request.url.path == "/api/v1/token" and response.status_code == 200:
            self.tokens.add(response.read().decode().split('"accessToken":"')[1].split('"')[0])
        return response
