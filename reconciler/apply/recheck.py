"""The fingerprint re-check: is each planned item still what the plan saw?

Before a saved (or resumed) plan deletes anything, every item is looked up in a fresh listing
of its parent directory, one listing per parent however many items it holds. An item whose
type or fingerprint changed is stale and is never deleted; an item that is no longer there is
gone; an item whose parent cannot be listed is unknown (apply reports it failed, never stale:
nothing says it changed). A parent that no longer exists proves its items gone. A listing
refused for the credentials (401, 403), or a server that cannot be reached at all, ends the
re-check with that error: no item of the run could be checked.

A directory's eTag and modification time change when its children change, so a directory with
planned items inside it that this apply already deleted is only checked for still being a
directory. A directory the plan listed into is also listed into again, down to every directory
the plan saw inside it, and must hold what the plan saw (`reconciler.subtree`). Every directory
item is counted again too (`reconciler.counting`): one that now holds more files or more bytes
than the plan said is stale, wherever inside it they were added. A directory that is both the
parent of items and one a directory item's check lists into is listed once for both.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Hashable, Iterable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from reconciler.apply.report import AUTH_STATUSES, NO_FAILURE, Failure
from reconciler.apply.side_by_side import shared_or_own
from reconciler.counting import Counter, count_directory
from reconciler.errors import CredentialsError, ReconcileError
from reconciler.listing import Fingerprint, RemoteEntry, Stats
from reconciler.matching import parent_of
from reconciler.plan import Delete
from reconciler.retry import SmhRequestError, Unreachable
from reconciler.subtree import absolute, subtree_digest
from reconciler.units import format_size

NOT_FOUND_CODES = frozenset({"DirectoryNotFound", "PathNotFound"})


class Lister(Counter, Protocol):
    def list_directory(
        self, space: str, path: str = "", *, user_id: str | None = None
    ) -> list[RemoteEntry]: ...


class Found(StrEnum):
    PRESENT = "present"
    CHANGED = "changed"
    ABSENT = "absent"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Check:
    """What the listing says of one item; `answer` is what a listing that failed said."""

    found: Found
    detail: str | None = None
    answer: Failure = NO_FAILURE


_K = TypeVar("_K", bound=Hashable)
_PRESENT = Check(Found.PRESENT)
_ABSENT = Check(Found.ABSENT)
_NO_FINGERPRINT = Fingerprint()
# Errors every other listing would meet too: they end the re-check, and the run, at once.
RUN_ENDING = (CredentialsError, Unreachable)


def differences(planned: Fingerprint, live: Fingerprint) -> list[str]:
    """The fingerprint fields the plan recorded that now read differently."""
    if (planned.etag, planned.modification_time, planned.size, planned.crc64) == (
            live.etag, live.modification_time, live.size, live.crc64):
        return []  # the common answer: all read the same
    changed = []
    for name in ("etag", "modification_time", "size", "crc64"):
        before = getattr(planned, name)
        if before is not None and getattr(live, name) != before:
            changed.append(name)
    return changed


def compare(delete: Delete, live: RemoteEntry | None, *, type_only: bool = False) -> Check:
    """What the live entry (None: not listed in its parent) says about a planned delete."""
    if live is None:
        return _ABSENT
    if live.type is not delete.type:
        return Check(Found.CHANGED, f"it is now a {live.type.value}, the plan saw a "
                                    f"{delete.type.value}")
    if type_only:
        return _PRESENT
    if delete.fingerprint == _NO_FINGERPRINT:
        return Check(Found.CHANGED, "the plan recorded no fingerprint to compare")
    changed = differences(delete.fingerprint, live.fingerprint)
    if changed:
        return Check(Found.CHANGED, "changed since the plan was made: " + ", ".join(changed))
    return _PRESENT


def recheck(
    lister: Lister,
    space: str,
    items: Mapping[_K, Delete],
    *,
    user_id: str | None = None,
    type_only: Collection[_K] = (),
    concurrency: int = 8,
    executor: Executor | None = None,
) -> dict[_K, Check]:
    """Check each item of `space` against a listing of its parent directory: `concurrency`
    directories at a time, or on `executor` where given (one the re-checks of several spaces
    share, so that together they list no more directories at a time than it has threads)."""
    by_parent: dict[str, list[_K]] = {}
    for index, delete in items.items():
        by_parent.setdefault(parent_of(delete.path), []).append(index)
    lister = _listed_once(lister, by_parent, items.values())

    def check_parent(parent: str) -> dict[_K, Check]:
        indices = by_parent[parent]
        try:
            entries = lister.list_directory(space, parent, user_id=user_id)
        except RUN_ENDING:
            raise
        except SmhRequestError as error:
            if error.status == 404 and error.code in NOT_FOUND_CODES:
                return {index: Check(Found.ABSENT) for index in indices}
            if error.status in AUTH_STATUSES:
                raise
            return {index: _unknown(parent, error) for index in indices}
        except ReconcileError as error:
            return {index: _unknown(parent, error) for index in indices}
        live = {entry.path: entry for entry in entries}
        checks = {}
        for index in indices:
            check = compare(items[index], live.get(items[index].path),
                            type_only=index in type_only)
            if check.found is Found.PRESENT:
                check = (check_contents(lister, space, items[index], user_id=user_id)
                         or check_counts(lister, space, items[index], user_id=user_id)
                         or check)
            checks[index] = check
        return checks

    checks: dict[_K, Check] = {}
    with shared_or_own(executor, min(concurrency, len(by_parent)), "smh-recheck") as pool:
        for result in pool.map(check_parent, sorted(by_parent)):
            checks.update(result)
    return checks


def _listed_once(lister: Lister, parents: Collection[str],
                 items: Iterable[Delete]) -> Lister:
    """`lister`, each directory that is both the parent of items and inside a directory item
    the plan listed into listed once for both (the same look, moments apart, taken once)."""
    uses: dict[str, int] = {}
    for delete in items:
        contents = delete.fingerprint.contents
        if contents is None:
            continue
        for path in contents.listed:
            directory = absolute(path, delete.path)
            if directory in parents:
                uses[directory] = uses.get(directory, 1) + 1
    return _SharedListings(lister, uses) if uses else lister


class _SharedListings:
    """A lister that lists each directory of `uses` once for that many callers (the threads of
    one re-check), then lets go of the listing."""

    def __init__(self, lister: Lister, uses: dict[str, int]) -> None:
        self._lister = lister
        self._uses = uses
        self._listings: dict[str, Future[list[RemoteEntry]]] = {}
        self._lock = threading.Lock()

    def list_directory(self, space: str, path: str = "", *,
                       user_id: str | None = None) -> list[RemoteEntry]:
        with self._lock:
            left = self._uses.get(path, 0)
            if not left:
                listing = None
            else:
                listing = self._listings.get(path)
                if listing is None:
                    listing = self._listings[path] = Future()
                    listing.set_running_or_notify_cancel()
                    owner = True
                else:
                    owner = False
                self._uses[path] = left - 1
                if left == 1:
                    del self._listings[path]
        if listing is None:
            return self._lister.list_directory(space, path, user_id=user_id)
        if owner:
            try:
                listing.set_result(self._lister.list_directory(space, path, user_id=user_id))
            except BaseException as error:
                listing.set_exception(error)
                raise
        return listing.result()

    def directory_stats(self, space: str, path: str, *,
                        user_id: str | None = None) -> Stats | None:
        return self._lister.directory_stats(space, path, user_id=user_id)


def check_contents(
    lister: Lister, space: str, delete: Delete, *, user_id: str | None = None
) -> Check | None:
    """A directory item whose inside the plan listed: is the inside still what it saw?

    None when there is nothing to compare (a file, or a directory the plan did not list into).
    """
    contents = delete.fingerprint.contents
    if contents is None:
        return None
    listings: dict[str, list[RemoteEntry]] = {}
    for directory in (absolute(path, delete.path) for path in contents.listed):
        try:
            listings[directory] = lister.list_directory(space, directory, user_id=user_id)
        except RUN_ENDING:
            raise
        except SmhRequestError as error:
            if error.status == 404 and error.code in NOT_FOUND_CODES:
                return Check(Found.CHANGED, f"{directory}/ inside it is gone since the plan")
            if error.status in AUTH_STATUSES:
                raise
            return _unknown(directory, error)
        except ReconcileError as error:
            return _unknown(directory, error)
    if subtree_digest(listings, delete.path, contents.skip) != contents.digest:
        return Check(Found.CHANGED, "what is inside it changed since the plan was made")
    return None


def check_counts(
    lister: Lister, space: str, delete: Delete, *, user_id: str | None = None
) -> Check | None:
    """A directory item: does it hold more files or more bytes than the plan said?

    None when it holds no more (or is a file, or the plan recorded no counts).
    """
    planned = delete.fingerprint.stats
    if planned is None:
        return None
    try:
        now = count_directory(lister, space, delete.path, user_id=user_id)
    except RUN_ENDING:
        raise
    except SmhRequestError as error:
        if error.status == 404 and error.code in NOT_FOUND_CODES:
            return None  # gone since the listing: the delete will find it gone
        return Check(Found.UNKNOWN, f"it could not be counted: {error.message}")
    except ReconcileError as error:
        return Check(Found.UNKNOWN, f"it could not be counted: {error.message}")
    if now.files > planned.files or now.bytes > planned.bytes:
        return Check(Found.CHANGED, (
            f"it now holds {now.files:,} files, {format_size(now.bytes)}; the plan counted "
            f"{planned.files:,} files, {format_size(planned.bytes)}"))
    return None


def _unknown(parent: str, error: ReconcileError) -> Check:
    detail = f"its directory {parent or '(space root)'}/ could not be listed: {error.message}"
    return Check(Found.UNKNOWN, detail, Failure.of(error))
