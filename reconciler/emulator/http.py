"""The emulator's requests and answers as plain values, and what answers them: the types the
core (which answers) and the adapters in `server` (which carry them over HTTP) share, so that
neither imports the other's module for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # percent-encoded path, optionally followed by "?query"
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    drop: bool = False  # close the connection without answering
    length: int | None = None  # a HEAD answer's Content-Length: its GET body's length


class Handler(Protocol):
    """Anything that answers requests: the `Emulator`, or a test's spoiling wrapper of it."""

    def handle(self, request: HttpRequest) -> HttpResponse: ...
