"""What the apply tests share: the library they run on, a write client whose retries and task
polls do not really sleep, plans made by the real walker and planner, and ways to read what the
emulator was asked to delete."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from reconciler.apply.journal import Journal
from reconciler.auth import Credentials, Secret
from reconciler.client import RetryPolicy, SmhWriteClient
from reconciler.desired import LibrarySpec
from reconciler.emulator import Emulator, HttpRequest, HttpResponse
from reconciler.plan import Plan
from reconciler.planner import deleted_directories, make_plan
from reconciler.walker import walk_library

LIBRARY = "smhtest"
TOKEN = "apply-token-7c1d9e2f"
SECRET = "apply-library-secret-41c8"
ENDPOINT = "https://smhtest.api.tencentsmh.cn"

PATHS = [
    "keep/contract.pdf",
    "photos/2024/a.jpg",
    "photos/2024/b.jpg.part",
    "photos/old/c.jpg",
    "tmp/x.part",
    "tmp/cache/y.bin",
    "tmp/cache/z.bin",
    "readme.txt",
]


def seed(paths: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"library": LIBRARY, "secret": SECRET, "token": TOKEN,
            "spaces": {"-": list(PATHS if paths is None else paths)}, **extra}


def writer_for(emu: Emulator, *, attempts: int = 5, throttled_for: float = 300.0
               ) -> SmhWriteClient:
    return SmhWriteClient(
        endpoint=ENDPOINT,
        library=LIBRARY,
        credentials=Credentials(access_token=Secret(TOKEN)),
        transport=emu.transport(),
        retry=RetryPolicy(attempts=attempts, throttled_for=throttled_for, sleep=lambda _: None),
    )


JournalFactory = Callable[[Plan], Journal]
"""`new_journal(plan)`: a journal for `plan` in the test's state folder, closed after the test."""


def plan_for(spec: LibrarySpec, client: SmhWriteClient) -> Plan:
    return make_plan(spec, walk_library(spec, client, to_count=deleted_directories))


def paths_of(emu: Emulator, space: str = "-") -> list[str]:
    return list(emu.state()["spaces"][space]["paths"])


def deleted_paths(emu: Emulator, since: int = 0) -> list[tuple[str, str]]:
    """(space, path) of every delete request the library acted on, from the `since`-th
    logged request on: batch items and single deletes (a request answered with an injected
    error never got that far)."""
    found: list[tuple[str, str]] = []
    for entry in emu.request_log()[since:]:
        if entry["space"] is None:
            continue
        if entry["route"] == "batch" and isinstance(entry["body"], list):
            found.extend((entry["space"], item["path"]) for item in entry["body"])
        elif entry["method"] == "DELETE" and entry["route"] in ("file", "directory"):
            found.append((entry["space"], entry["path"]))
    return found


def faults_per_request(
    emu: Emulator, choose: Callable[[HttpRequest], Mapping[str, Any] | None]
) -> None:
    """Answer each request under the faults `choose` picks for it (none for None): a way to
    make one kind of call fail while the rest of the library works."""
    original = emu.handle

    def handle(request: HttpRequest) -> HttpResponse:
        faults = choose(request)
        if faults is None:
            return original(request)
        emu.set_faults(faults)
        try:
            return original(request)
        finally:
            emu.set_faults({})

    emu.handle = handle  # type: ignore[method-assign]


def make_directory(emu: Emulator, path: str) -> None:
    """Create a directory through the API, as another client of the library would."""
    with httpx.Client(transport=emu.transport(), base_url=ENDPOINT) as client:
        answer = client.put(f"/api/v1/directory/{LIBRARY}/-/{path}",
                            params={"access_token": TOKEN})
        assert answer.status_code == 201, answer.text
