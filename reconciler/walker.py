"""The walker: lists only what the plan needs, directories concurrently.

It pairs remote entries with the rules and nothing more: starting at each space's root it
lists a directory only when `SpaceRules.must_list` says the plan needs its children, so a
subtree no rule can touch, or one deleted whole with nothing kept inside, costs no request.
Any listing error in a space is recorded and stops that space's walk; the planner then
withholds every delete in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol

from reconciler.desired import LibrarySpec, SpaceSpec
from reconciler.errors import CredentialsError, ReconcileError
from reconciler.listing import LibraryListing, RemoteEntry, SpaceListing
from reconciler.planner import Context, SpaceRules
from reconciler.retry import Unreachable

log = logging.getLogger(__name__)

# Errors every other listing of the run would meet too: they end the walk as one error,
# instead of one listing error per directory.
RUN_ENDING = (CredentialsError, Unreachable)

DEFAULT_CONCURRENCY = 8

ListDirectory = Callable[[str], Sequence[RemoteEntry]]


class Reader(Protocol):
    """The read side of the SMH client, as far as the walker needs it."""

    def list_directory(
        self, space: str, path: str, *, user_id: str | None = None
    ) -> list[RemoteEntry]: ...

    def recycle_bin_items(self, space: str, *, user_id: str | None = None) -> int | None: ...

    def history_enabled(self) -> bool: ...


def walk_tree(
    rules: SpaceRules, list_directory: ListDirectory, executor: ThreadPoolExecutor
) -> tuple[dict[str, tuple[RemoteEntry, ...]], list[str]]:
    """List the directories of one space the rules need; return them and any errors."""
    children: dict[str, tuple[RemoteEntry, ...]] = {}
    errors: list[str] = []
    contexts: dict[str, Context] = {"": rules.root_context()}
    pending: dict[Future[Sequence[RemoteEntry]], str] = {
        executor.submit(list_directory, ""): ""
    }
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                directory = pending.pop(future)
                try:
                    entries = tuple(future.result())
                except RUN_ENDING:
                    raise
                except ReconcileError as error:
                    where = f"{directory}/" if directory else "the space root"
                    errors.append(f"listing {where}: {error.message}")
                    continue
                children[directory] = entries
                if errors:
                    continue
                for entry in entries:
                    if not entry.is_dir:
                        continue
                    context = rules.context(contexts[directory], entry.path, is_dir=True)
                    if rules.must_list(entry.path, context):
                        contexts[entry.path] = context
                        pending[executor.submit(list_directory, entry.path)] = entry.path
    finally:
        for future in pending:
            future.cancel()
    return children, errors


def walk_space(
    space: SpaceSpec, reader: Reader, executor: ThreadPoolExecutor
) -> SpaceListing:
    """List one space: its needed directories and its recycle bin's size."""

    def list_directory(path: str) -> Sequence[RemoteEntry]:
        return reader.list_directory(space.id, path, user_id=space.user_id)

    errors: list[str] = []
    bin_items: int | None = 0
    try:
        bin_items = reader.recycle_bin_items(space.id, user_id=space.user_id)
    except RUN_ENDING:
        raise
    except ReconcileError as error:
        errors.append(f"listing the recycle bin: {error.message}")
    children, tree_errors = walk_tree(SpaceRules(space), list_directory, executor)
    errors.extend(tree_errors)
    listing = SpaceListing(
        space=space.id, children=children, errors=tuple(errors), recycle_bin_items=bin_items
    )
    log.info(
        "space %s: listed %d directories, %d entries%s",
        space.id,
        len(children),
        listing.entry_count(),
        f", {len(errors)} error(s)" if errors else "",
    )
    return listing


def walk_library(
    spec: LibrarySpec,
    reader: Reader,
    *,
    spaces: Iterable[SpaceSpec] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    listed_at: str | None = None,
) -> LibraryListing:
    """List what the plan of `spec` needs, `concurrency` directories at a time."""
    selected = tuple(spec.spaces if spaces is None else spaces)
    with ThreadPoolExecutor(max_workers=max(1, concurrency),
                            thread_name_prefix="smh-list") as executor:
        listings = {space.id: walk_space(space, reader, executor) for space in selected}
    history_enabled: bool | None = None
    if spec.clear_history:
        try:
            history_enabled = reader.history_enabled()
        except ReconcileError as error:
            log.warning("could not read the library's history setting: %s", error.message)
    return LibraryListing(
        library=spec.library,
        spaces=listings,
        history_enabled=history_enabled,
        listed_at=listed_at,
    )
