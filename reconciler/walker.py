"""The walker: lists only what the plan needs, directories concurrently.

It pairs remote entries with the rules and nothing more: starting at each space's root it
lists a directory only when `ListingRules.must_list` says the plan needs its children, so a
subtree no rule can touch, or one deleted whole with nothing kept inside, costs no request.
Any listing error in a space is recorded and stops that space's walk; the planner then
withholds every delete in it.

It then counts what the deletes remove: one directory-stats request for each directory the
plan deletes (the caller hands in which those are, `ToCount`: the walker does not decide;
where the server gives no stats, the directory is listed through to count its files and
bytes), and one file-count request for the space, so that the safety limits and the
reviewer see files and bytes rather than entries. A directory the planner, planning ahead,
says is sure to be one of those (`PlanAhead`) is counted while the walk goes on.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from queue import SimpleQueue
from typing import Protocol, TypeVar

from reconciler.client.models import SpaceFileCount
from reconciler.client.reader import MAX_DIRECTORY_ENTRIES
from reconciler.collector import gc_paused
from reconciler.counting import count_directory
from reconciler.desired import LibrarySpec, SpaceSpec
from reconciler.errors import CredentialsError, ReconcileError
from reconciler.listing import (
    Counted,
    Entries,
    LibraryListing,
    RecycledItem,
    RemoteEntry,
    SpaceListing,
    Stats,
    directory_paths,
)
from reconciler.options import DEFAULT_CONCURRENCY, MAX_SPACES_AT_ONCE
from reconciler.retry import Unreachable
from reconciler.rules import Context, SpaceRules

log = logging.getLogger(__name__)

# Errors every other listing of the run would meet too: they end the walk as one error,
# instead of one listing error per directory.
RUN_ENDING = (CredentialsError, Unreachable)

ListDirectory = Callable[[str], Sequence[RemoteEntry]]

# The directories the plan of a space deletes, given its listing and the time it was made:
# what the walker counts (the planner's `deleted_directories`).
ToCount = Callable[[SpaceSpec, SpaceListing, str | None], Sequence[str]]

ContextT = TypeVar("ContextT")


class ListingRules(Protocol[ContextT]):
    """What the walker asks of one space's rules: how they see each directory, from its
    parent's view down, and whether the plan needs its children."""

    def root_context(self) -> ContextT: ...

    def context(self, parent: ContextT, path: str, *, is_dir: bool) -> ContextT: ...

    def must_list(self, directory: str, context: ContextT) -> bool: ...


class PlanAhead(Protocol):
    """Plans the subtree at `directory` of `space` once the walk has listed all of it into
    `children`, while the walk goes on (the planner's `plan_listed`)."""

    def __call__(self, space: SpaceSpec, children: Mapping[str, Sequence[RemoteEntry]],
                 directory: str, context: Context, *, recycle_bin_enabled: bool,
                 listed_at: str | None) -> bool:
        """True when the directory is sure to be one of the plan's directory items: it is
        counted then, while the walk goes on, not after it."""


class Reader(Protocol):
    """The read side of the SMH client, as far as the walker needs it."""

    def list_directory(
        self, space: str, path: str, *, user_id: str | None = None,
        max_entries: int = MAX_DIRECTORY_ENTRIES,
    ) -> list[RemoteEntry]: ...

    def read_directory(
        self, space: str, path: str, *, user_id: str | None = None,
        max_entries: int = MAX_DIRECTORY_ENTRIES,
    ) -> Entries: ...

    def recycle_bin_items(self, space: str, *, user_id: str | None = None) -> int | None: ...

    def list_recycle_bin(
        self, space: str, *, user_id: str | None = None
    ) -> list[RecycledItem]: ...

    def history_enabled(self) -> bool: ...

    def directory_stats(
        self, space: str, path: str, *, user_id: str | None = None
    ) -> Stats | None: ...

    def space_file_count(
        self, space: str, *, user_id: str | None = None, admin: bool = False
    ) -> SpaceFileCount | None: ...

    def list_spaces(self) -> list[str]: ...

    def server_time(self) -> str | None: ...


def walk_tree(
    rules: ListingRules[ContextT], list_directory: ListDirectory, executor: ThreadPoolExecutor,
    listed: Callable[[str, ContextT], None] | None = None,
    children: dict[str, Sequence[RemoteEntry]] | None = None,
    root: Future[Sequence[RemoteEntry]] | None = None,
) -> tuple[dict[str, Sequence[RemoteEntry]], list[str]]:
    """List the directories of one space the rules need; return them and any errors.

    Each listing reports its own completion on a queue, so every answer costs the same
    however many listings are in flight (waiting on the whole pending set would rescan it
    on every completion). `listed` is told of each directory below the root once all of its
    subtree the walk needs is listed, children before their parent: while answers are
    awaited (never instead of sending the listings an answer asks for), else once the walk
    is done; never after a listing error.
    The listings go into `children` when given (`listed` may read it as it fills). `root` is
    the root's listing when the caller sent for it already (`list_directory("")`).
    """
    children = {} if children is None else children
    errors: list[str] = []
    contexts: dict[str, ContextT] = {"": rules.root_context()}
    finished: SimpleQueue[tuple[str, Future[Sequence[RemoteEntry]]]] = SimpleQueue()
    outstanding: set[Future[Sequence[RemoteEntry]]] = set()
    # Each listed directory's subdirectories sent for and not yet listed in full, and the
    # directory each subdirectory was sent for from.
    waiting: dict[str, int] = {}
    parents: dict[str, str] = {}
    complete: deque[str] = deque()

    def track(directory: str, future: Future[Sequence[RemoteEntry]]) -> None:
        outstanding.add(future)
        future.add_done_callback(lambda done: finished.put((directory, done)))

    def submit(directory: str) -> None:
        track(directory, executor.submit(list_directory, directory))

    def listed_in_full(directory: str) -> None:
        while directory:
            complete.append(directory)
            parent = parents.pop(directory)
            waiting[parent] -= 1
            if waiting[parent]:
                return
            directory = parent

    if root is None:
        submit("")
    else:
        track("", root)
    try:
        while outstanding:
            if listed is not None and complete and not errors and finished.empty():
                directory = complete.popleft()
                listed(directory, contexts[directory])
                continue
            directory, future = finished.get()
            outstanding.discard(future)
            try:
                entries = future.result()
            except RUN_ENDING:
                raise
            except ReconcileError as error:
                where = f"{directory}/" if directory else "the space root"
                errors.append(f"listing {where}: {error.message}")
                continue
            children[directory] = entries
            if errors:
                continue
            sent = 0
            for path in directory_paths(entries):
                context = rules.context(contexts[directory], path, is_dir=True)
                if rules.must_list(path, context):
                    contexts[path] = context
                    parents[path] = directory
                    submit(path)
                    sent += 1
            waiting[directory] = sent
            if not sent:
                listed_in_full(directory)
    finally:
        for pending in outstanding:
            pending.cancel()
    while listed is not None and complete and not errors:
        directory = complete.popleft()
        listed(directory, contexts[directory])
    return children, errors


def _file_count(reader: Reader, space: SpaceSpec, *, admin: bool) -> SpaceFileCount | None:
    try:
        return reader.space_file_count(space.id, user_id=space.user_id, admin=admin)
    except ReconcileError as error:
        log.info("space %s: no file count (%s)", space.id, error.message)
        return None


def count_space(
    space: SpaceSpec, listing: SpaceListing, reader: Reader, executor: ThreadPoolExecutor,
    file_count: Future[SpaceFileCount | None] | None, to_count: ToCount,
    listed_at: str | None = None, counting: Mapping[str, Future[Stats]] | None = None,
) -> SpaceListing:
    """`listing` with what each directory the plan deletes holds, and the space's files
    (the plan's ages are measured against `listed_at`, so what it deletes hangs on it).
    `counting` holds the counts sent for during the walk."""
    dirs = to_count(space, listing, listed_at)
    counting = counting or {}
    futures = {path: counting.get(path) or executor.submit(
        count_directory, reader, space.id, path, user_id=space.user_id) for path in dirs}
    counted = file_count.result() if file_count is not None else None
    files = counted.live_files if counted is not None else None
    if files is None:
        try:
            root = reader.directory_stats(space.id, "", user_id=space.user_id)
            files = root.files if root is not None else None
        except ReconcileError as error:
            log.info("space %s: no stats of its root (%s)", space.id, error.message)
    stats: dict[str, Stats] = {}
    errors: list[str] = []
    for path, future in futures.items():
        try:
            stats[path] = future.result()
        except RUN_ENDING:
            raise
        except ReconcileError as error:
            errors.append(f"counting {path}/: {error.message}")
    counted_by_listing = sorted(p for p, s in stats.items() if s.counted is Counted.LISTING)
    if counted_by_listing:
        log.warning("space %s: the server gave no stats for %d directories; they were listed "
                    "through to count them", space.id, len(counted_by_listing))
    return replace(listing, stats=stats, files=files, errors=listing.errors + tuple(errors))


def entry_bound(file_count: Future[SpaceFileCount | None] | None, *, wait: bool) -> int:
    """The most entries a listing of the space may serve: what the space's file count says it
    holds in all (twice over, and a thousand more, for rows repeated while it changes), else
    the client's own cap. Below the root the count was asked for first, so it is waited for;
    the root listing, sent beside it, takes it only if it is in."""
    if file_count is None or not (wait or file_count.done()):
        return MAX_DIRECTORY_ENTRIES
    try:
        counted = file_count.result()
    except ReconcileError:
        return MAX_DIRECTORY_ENTRIES
    if counted is None:
        return MAX_DIRECTORY_ENTRIES
    return min(MAX_DIRECTORY_ENTRIES, 2 * (counted.file_num + counted.dir_num) + 1000)


def walk_space(
    space: SpaceSpec, reader: Reader, executor: ThreadPoolExecutor, to_count: ToCount,
    file_count: Future[SpaceFileCount | None] | None = None, listed_at: str | None = None,
    plan_ahead: PlanAhead | None = None,
) -> SpaceListing:
    """List one space: its needed directories, its recycle bin's size, and the counts.

    The bin read and the file count go out with the root listing, not a round trip before it.
    `listed_at` defaults to the server's time (`Date`) on the first answer the reader got.
    `plan_ahead` plans each subtree listed in full while the walk goes on, once the bin's
    state is known.
    """

    def list_directory(path: str) -> Sequence[RemoteEntry]:
        return reader.read_directory(space.id, path, user_id=space.user_id,
                                     max_entries=entry_bound(file_count, wait=path != ""))

    bin_read = executor.submit(reader.recycle_bin_items, space.id, user_id=space.user_id)
    children: dict[str, Sequence[RemoteEntry]] = {}
    # The directories the plan is sure to delete whole, counted while the walk goes on.
    counting: dict[str, Future[Stats]] = {}

    def listed(directory: str, context: Context) -> None:
        if plan_ahead is None or not bin_read.done() or bin_read.exception() is not None:
            return
        if plan_ahead(space, children, directory, context,
                      recycle_bin_enabled=bin_read.result() is not None,
                      listed_at=listed_at or reader.server_time()):
            counting[directory] = executor.submit(count_directory, reader, space.id,
                                                  directory, user_id=space.user_id)

    try:
        # The root's listing, the first link of the longest chain of requests, goes out before
        # the rules are compiled.
        root = executor.submit(list_directory, "")
        children, tree_errors = walk_tree(SpaceRules(space), list_directory, executor,
                                          listed=listed if plan_ahead is not None else None,
                                          children=children, root=root)
        errors: list[str] = []
        bin_items: int | None = 0
        recycled: tuple[RecycledItem, ...] | None = None
        try:
            bin_items = bin_read.result()
            if bin_items and space.recycle_older_than is not None:
                # Each item's removal time decides whether `recycle_bin.older_than` deletes it.
                recycled = tuple(reader.list_recycle_bin(space.id, user_id=space.user_id))
                bin_items = len(recycled)
            elif space.recycle_older_than is not None and bin_items is not None:
                recycled = ()
        except RUN_ENDING:
            raise
        except ReconcileError as error:
            errors.append(f"listing the recycle bin: {error.message}")
        errors.extend(tree_errors)
        listing = SpaceListing(
            space=space.id, children=children, errors=tuple(errors), recycle_bin_items=bin_items,
            recycled=recycled,
        )
        if not errors:
            listing = count_space(space, listing, reader, executor, file_count, to_count,
                                  listed_at or reader.server_time(), counting)
    finally:
        for pending in counting.values():
            pending.cancel()  # a count no plan will read (the walk failed): never sent
    log.info(
        "space %s: listed %d directories, %d entries%s",
        space.id,
        len(children),
        listing.entry_count(),
        f", {len(errors)} error(s)" if errors else "",
    )
    return listing


@gc_paused()  # a large listing is many small acyclic objects
def walk_library(
    spec: LibrarySpec,
    reader: Reader,
    *,
    to_count: ToCount,
    plan_ahead: PlanAhead | None = None,
    spaces: Iterable[SpaceSpec] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    listed_at: str | None = None,
) -> LibraryListing:
    """List what the plan of `spec` needs, `concurrency` directories at a time, and count
    the directories `to_count` says the plan deletes (`plan_ahead` plans each subtree as soon
    as it is listed, so that `to_count` has less left to do once the walk ends).

    `listed_at` is when the listing was made: by default the server's `Date` on the first
    answer the reader got (never the local clock), against which the plan measures ages."""
    selected = tuple(spec.spaces if spaces is None else spaces)
    # Requests share one pool of `concurrency` threads; the spaces are walked side by side
    # (each walk only waits on its requests), so many small spaces cost no more round trips
    # than one large one.
    with ThreadPoolExecutor(max_workers=max(1, concurrency),
                            thread_name_prefix="smh-list") as executor, ThreadPoolExecutor(
            max_workers=max(1, min(len(selected), MAX_SPACES_AT_ONCE)),
            thread_name_prefix="smh-space") as walkers:
        # `admin` only where the plan needs it anyway (reading the history setting).
        pending = {space.id: executor.submit(_file_count, reader, space,
                                             admin=spec.clear_history) for space in selected}
        walks = {space.id: walkers.submit(walk_space, space, reader, executor, to_count,
                                          pending[space.id], listed_at, plan_ahead)
                 for space in selected}
        listings = {space_id: walk.result() for space_id, walk in walks.items()}
        counts = {space_id: future.result() for space_id, future in pending.items()}
    listed_at = listed_at or reader.server_time()
    if listed_at is None and any(rule.predicates.reads_age for space in selected
                                 for rule in (*space.protect, *space.purge, *space.prune)):
        log.warning("the server sent no usable Date header, so the listing has no time: age "
                    "rules (older_than, newer_than) delete nothing and protect every file")
    history_enabled: bool | None = None
    history_files: int | None = None
    if spec.clear_history:
        try:
            history_enabled = reader.history_enabled()
        except ReconcileError as error:
            log.warning("could not read the library's history setting: %s", error.message)
        history_files = _history_files(reader, counts)
    return LibraryListing(
        library=spec.library,
        spaces=listings,
        history_enabled=history_enabled,
        listed_at=listed_at,
        history_files=history_files,
    )


def _history_files(reader: Reader, counts: dict[str, SpaceFileCount | None]) -> int | None:
    """The earlier versions the whole library keeps (None when any space would not say)."""
    try:
        spaces = reader.list_spaces()
        total = 0
        for space_id in spaces:
            count = counts.get(space_id) or reader.space_file_count(space_id, admin=True)
            if count is None:
                return None
            total += count.history_file_num
        return total
    except ReconcileError as error:
        log.info("could not count the library's earlier versions: %s", error.message)
        return None
