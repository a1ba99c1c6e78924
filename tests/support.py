"""Builders shared by tests: manifests in code, and in-memory trees for the pure planner."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from reconciler.desired import LibrarySpec, Location, Mode, Rule, RuleKind, Safety, SpaceSpec
from reconciler.listing import (
    EntryType,
    Fingerprint,
    LibraryListing,
    RemoteEntry,
    SpaceListing,
    Stats,
)
from reconciler.planner import deleted_directories, plan_listed
from reconciler.rules import Context, SpaceRules
from reconciler.walker import walk_tree

PurgeEntry = str | tuple[str, str]


def space_spec(
    space_id: str = "-",
    *,
    exist: Sequence[str] = (),
    protect: Sequence[str] = (),
    purge: Sequence[PurgeEntry] = (),
    prune: Sequence[PurgeEntry] = (),
    mode: str = "recycle",
    empty_recycle_bin: bool = False,
    user_id: str | None = None,
) -> SpaceSpec:
    """A space as a manifest would give it; each entry on its own line of `test.yaml`."""
    line = iter(range(1, 10**7))

    def at() -> Location:
        return Location("test.yaml", next(line), 5)

    def moded(kind: RuleKind, entry: PurgeEntry, order: int) -> Rule:
        pattern, entry_mode = (entry, mode) if isinstance(entry, str) else entry
        return Rule(kind, pattern, at(), Mode(entry_mode), order)

    return SpaceSpec(
        id=space_id,
        location=at(),
        mode=Mode(mode),
        user_id=user_id,
        exist=tuple(Rule(RuleKind.EXIST, p, at()) for p in exist),
        protect=tuple(Rule(RuleKind.PROTECT, p, at()) for p in protect),
        purge=tuple(moded(RuleKind.PURGE, p, i) for i, p in enumerate(purge)),
        prune=tuple(moded(RuleKind.PRUNE, p, i) for i, p in enumerate(prune)),
        empty_recycle_bin=empty_recycle_bin,
    )


def library_spec(
    *spaces: SpaceSpec,
    safety: Safety | None = None,
    clear_history: bool = False,
    library: str = "smhtest",
) -> LibrarySpec:
    return LibrarySpec(
        library=library,
        spaces=spaces,
        safety=safety or Safety(max_delete_percent=100, min_existing=10),
        clear_history=clear_history,
        history_location=Location("test.yaml", 99, 3) if clear_history else None,
    )


def tree(paths: Iterable[str]) -> dict[str, tuple[RemoteEntry, ...]]:
    """Every directory of a set of paths (directories end in `/`) with its children."""
    kinds: dict[str, EntryType] = {}
    for raw in paths:
        is_dir = raw.endswith("/")
        segments = raw.strip("/").split("/")
        for depth in range(1, len(segments) + 1):
            path = "/".join(segments[:depth])
            last = depth == len(segments)
            kinds[path] = EntryType.FILE if last and not is_dir else EntryType.DIR
    children: dict[str, list[RemoteEntry]] = {"": []}
    for path, kind in sorted(kinds.items()):
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        digest = hashlib.sha256(path.encode()).hexdigest()
        fingerprint = Fingerprint(etag=digest[:16], modification_time="2026-01-01T00:00:00.000Z",
                                  size=None if kind is EntryType.DIR else str(len(path)))
        children.setdefault(parent, []).append(RemoteEntry(path, kind, fingerprint))
        if kind is EntryType.DIR:
            children.setdefault(path, [])
    return {directory: tuple(entries) for directory, entries in children.items()}


class TreeLister:
    """Lists directories of an in-memory tree and records which were asked for."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.tree = tree(paths)
        self.listed: list[str] = []
        self.deleted_whole: list[str] = []
        """The directories the planner said, planning ahead, the plan deletes whole."""

    def __call__(self, directory: str) -> Sequence[RemoteEntry]:
        self.listed.append(directory)
        return self.tree[directory]


    def stats(self, directory: str) -> Stats:
        """What `directory` holds, recursively, as SMH's directory stats would say."""
        files = size = 0
        pending = [directory]
        while pending:
            for entry in self.tree[pending.pop()]:
                if entry.is_dir:
                    pending.append(entry.path)
                else:
                    files, size = files + 1, size + (entry.fingerprint.size_bytes or 0)
        return Stats(files=files, bytes=size)


def walk(
    space: SpaceSpec, paths: Iterable[str], *, bin_items: int | None = 0,
    unknown: Mapping[str, str] | None = None,
    attributes: Mapping[str, tuple[str | None, str | None]] | None = None,
    listed_at: str | None = None, ahead: bool = True,
) -> tuple[SpaceListing, TreeLister]:
    """What the walker lists of `paths` for `space`, and what it counts, without any server
    (`ahead`: planning each subtree as soon as it is listed, as the walker does for a plan).

    `unknown` maps paths to a type the tool does not know, which the listing shows them as;
    `attributes` maps files to their `(modificationTime, size)` (None: the server gave none);
    the plan's ages are measured against `listed_at`."""
    lister = TreeLister(paths)
    for directory, entries in lister.tree.items():
        lister.tree[directory] = tuple(
            replace(entry, type=EntryType.UNKNOWN, server_type=unknown[entry.path])
            if unknown and entry.path in unknown else entry for entry in entries)
    for directory, entries in lister.tree.items():
        lister.tree[directory] = tuple(
            replace(entry, fingerprint=replace(entry.fingerprint,
                                               modification_time=attributes[entry.path][0],
                                               size=attributes[entry.path][1]))
            if attributes and entry.path in attributes else entry for entry in entries)
    children: dict[str, Sequence[RemoteEntry]] = {}

    def listed(directory: str, context: Context) -> None:
        if ahead and plan_listed(space, children, directory, context,
                                 recycle_bin_enabled=bin_items is not None,
                                 listed_at=listed_at):
            lister.deleted_whole.append(directory)

    with ThreadPoolExecutor(max_workers=4) as executor:
        children, errors = walk_tree(SpaceRules(space), lister, executor, listed=listed,
                                     children=children)
    listing = SpaceListing(space=space.id, children=children, errors=tuple(errors),
                           recycle_bin_items=bin_items)
    stats = {path: lister.stats(path)
             for path in deleted_directories(space, listing, listed_at)}
    listing = replace(listing, stats=stats, files=lister.stats("").files)
    return listing, lister


def library_listing(*listings: SpaceListing, history_enabled: bool | None = None,
                    listed_at: str | None = None) -> LibraryListing:
    return LibraryListing(
        library="smhtest",
        spaces={listing.space: listing for listing in listings},
        history_enabled=history_enabled,
        listed_at=listed_at,
    )
