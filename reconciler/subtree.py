"""Subtree fingerprints: what a plan saw inside a directory it deletes as one item.

A directory's own eTag changes only when its direct children change, so it cannot tell apply
that a protected file appeared three levels down. Where the walker listed inside a directory
item (because something could be kept there, or deleted in another mode), the plan records a
digest of those listings; apply lists the same directories again and refuses the item when
the digest differs. Where the walker did not list inside, no rule can keep anything there
and nothing needs comparing.

The digest counts every listed entry with its name and type, and files with their whole
fingerprint; directories count by name and type only (their eTags follow their children,
which count themselves where they were listed). Planned items inside the directory, deleted
first and on their own, are left out with everything under them, so that apply's own earlier
deletes do not make the directory look changed.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from reconciler.listing import DIR, Contents, LibraryListing, RemoteEntry
from reconciler.matching import parent_of
from reconciler.plan import Delete, Plan


def relative(path: str, root: str) -> str:
    return path[len(root) + 1:] if root else path


def absolute(path: str, root: str) -> str:
    return f"{root}/{path}" if root and path else root or path


def _skipped(path: str, skip: Collection[str]) -> bool:
    """Whether `path` is one of `skip` or lies inside one (a set, so each of the path's
    ancestors is one lookup however many items are skipped)."""
    if "" in skip:
        return True
    while path:
        if path in skip:
            return True
        path = parent_of(path)
    return False


def subtree_digest(
    listings: Mapping[str, Sequence[RemoteEntry]], root: str, skip: Collection[str]
) -> str:
    """The digest of what `listings` (absolute directory -> entries) hold under `root`."""
    lines: list[str] = []
    skip = frozenset(skip)
    for entries in listings.values():
        for entry in entries:
            path = relative(entry.path, root)
            if _skipped(path, skip):
                continue
            fp = entry.fingerprint
            if entry.type is DIR:
                lines.append(f"{path}\tdir")
            else:
                lines.append("\t".join((path, "file", fp.etag or "", fp.modification_time or "",
                                        fp.size or "", fp.crc64 or "")))
    lines.sort()
    return "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _under(keys: Sequence[str], root: str) -> Iterable[str]:
    """The sorted `keys` that are `root` or lie inside it."""
    if root == "":
        yield from keys
        return
    inside = root + "/"
    for index in range(bisect_left(keys, root), len(keys)):  # not a copy of the rest of keys
        key = keys[index]
        if key == root or key.startswith(inside):
            yield key
        elif not key.startswith(root):
            break


def with_contents(plan: Plan, listing: LibraryListing) -> Plan:
    """`plan` with a `Contents` fingerprint on each directory item the walker listed inside."""
    if not any(delete.type is DIR and delete.space in listing.spaces
               and delete.path in listing.spaces[delete.space].children
               for delete in plan.deletes):
        return plan  # none: the plan itself, not a copy of it sorted again
    # Each space's item paths, sorted: the items inside a directory item are one run of them
    # (found by bisection, not by testing every item of the space for each directory item).
    paths_by_space: dict[str, list[str]] = {}
    for delete in plan.deletes:
        paths_by_space.setdefault(delete.space, []).append(delete.path)
    for paths in paths_by_space.values():
        paths.sort()
    changes = []
    keys_by_space = {space: sorted(listed.children) for space, listed in listing.spaces.items()}
    for change in plan.changes:
        space_listing = listing.spaces.get(getattr(change, "space", ""))
        if (not isinstance(change, Delete) or change.type is not DIR
                or space_listing is None or change.path not in space_listing.children):
            changes.append(change)
            continue
        skip = tuple(sorted(
            relative(path, change.path)
            for path in _under(paths_by_space[change.space], change.path)
            if path != change.path
        ))
        skipped = frozenset(skip)
        listed = [key for key in _under(keys_by_space[change.space], change.path)
                  if not _skipped(relative(key, change.path), skipped)]
        digest = subtree_digest({key: space_listing.children[key] for key in listed},
                                change.path, skip)
        contents = Contents(digest=digest, listed=tuple(relative(k, change.path) for k in listed),
                            skip=skip)
        changes.append(replace(change, fingerprint=replace(change.fingerprint, contents=contents)))
    return replace(plan, changes=tuple(changes))
