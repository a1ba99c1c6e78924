"""Counting what a directory holds: SMH's directory stats, else a listing of all of it.

The plan counts each directory it deletes this way, and apply's re-check counts it again: a
directory that holds more files or more bytes than the plan said is stale.
"""

from __future__ import annotations

from typing import Protocol

from reconciler.errors import ReconcileError
from reconciler.listing import Counted, RemoteEntry, Stats


class Counter(Protocol):
    def list_directory(
        self, space: str, path: str, *, user_id: str | None = None
    ) -> list[RemoteEntry]: ...

    def directory_stats(
        self, space: str, path: str, *, user_id: str | None = None
    ) -> Stats | None: ...


def count_directory(
    reader: Counter, space: str, path: str, *, user_id: str | None = None
) -> Stats:
    """What a directory holds, recursively: from its stats, else by listing all of it."""
    stats = reader.directory_stats(space, path, user_id=user_id)
    if stats is not None:
        return stats
    files = size = 0
    pending = [path]
    while pending:
        for entry in reader.list_directory(space, pending.pop(), user_id=user_id):
            if entry.is_dir:
                pending.append(entry.path)
                continue
            entry_size = entry.fingerprint.size_bytes
            if entry_size is None:
                raise ReconcileError(f"{entry.path} has no size, so {path}/ cannot be counted")
            files, size = files + 1, size + entry_size
    return Stats(files=files, bytes=size, counted=Counted.LISTING)
