"""A hostile server for tests: the emulator's own answers, spoiled on the way out.

`spoil_answers(emu, spoil)` makes every answer of `emu` (in process and over loopback) pass
through `spoil(request, answer)`, which returns the answer to send. The library behind it keeps
its real state and request log, so a test can still see exactly what was deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from reconciler.emulator import Emulator, HttpRequest, HttpResponse

Spoil = Callable[[HttpRequest, HttpResponse], HttpResponse]


def spoil_answers(emu: Emulator, spoil: Spoil) -> None:
    original = emu.handle

    def handle(request: HttpRequest) -> HttpResponse:
        return spoil(request, original(request))

    emu.handle = handle  # type: ignore[method-assign]


def with_json(answer: HttpResponse, doc: Any, status: int | None = None) -> HttpResponse:
    headers = [(k, v) for k, v in answer.headers if k.lower() != "content-type"]
    headers.append(("Content-Type", "application/json; charset=utf-8"))
    return HttpResponse(answer.status if status is None else status, headers,
                        json.dumps(doc).encode())


def is_listing(request: HttpRequest, directory: str, *, later_pages: bool = False) -> bool:
    """Whether `request` lists `directory` (only its pages after the first with
    `later_pages`)."""
    parts = urlsplit(request.target)
    query = parse_qs(parts.query, keep_blank_values=True)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if request.method != "GET" or segments[2:3] != ["directory"] or "info" in query or (
            "stats" in query):
        return False
    if "/".join(segments[5:]) != directory:
        return False
    return "marker" in query if later_pages else True


def on_listing(directory: str, change: Callable[[dict[str, Any]], Any], *,
               later_pages: bool = False) -> Spoil:
    """Rewrites the JSON listing answers of one directory with `change(doc) -> doc`."""

    def spoil(request: HttpRequest, answer: HttpResponse) -> HttpResponse:
        if answer.status != 200 or not is_listing(request, directory, later_pages=later_pages):
            return answer
        return with_json(answer, change(json.loads(answer.body)))

    return spoil


def deletes_sent(emu: Emulator) -> list[dict[str, Any]]:
    """Every request of the log that could have deleted something."""
    return [entry for entry in emu.request_log()
            if entry["method"] in ("POST", "DELETE")
            and entry["route"] in ("batch", "file", "directory", "recycled")]
