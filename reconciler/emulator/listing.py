"""Directory listing order, paging and markers.

The default order (directories first, then files, each by name) walks the directories'
`SortedDict`/`SortedList` from a bisected start, so a page costs O(log n + page). Other orders
(`size`, `modificationTime`, `creationTime`) sort the directory's files once per directory
version (cached by the directory's eTag) and bisect into that.

A marker is opaque to clients: URL-safe base64 of JSON naming the last entry served (its kind,
name and, for non-name orders, its sort key). The next page continues strictly after that key,
so a directory that changes between pages neither repeats nor skips the entries that stayed.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import itertools
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .tree import Dir, Metadata

ORDER_KEYS = ("name", "modificationTime", "size", "creationTime",
              "localCreationTime", "localModificationTime")

# (kind "d"/"f", sort key, name, the Dir for directories)
Entry = tuple[str, Any, str, Dir | None]


class MarkerError(ValueError):
    """The marker cannot be decoded or does not fit the requested order."""


@dataclass(frozen=True)
class Order:
    by: str = "name"
    desc: bool = False
    union: bool = False
    only: str | None = None  # "d" or "f"


def encode_marker(entry: Entry, order: Order) -> str:
    kind, key, name, _ = entry
    doc: dict[str, Any] = {"t": kind, "n": name}
    if order.by != "name":
        doc["k"] = key
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_marker(marker: str, order: Order) -> tuple[str, Any, str]:
    try:
        padded = marker + "=" * (-len(marker) % 4)
        doc = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeError) as error:
        raise MarkerError(marker) from error
    if not isinstance(doc, dict) or doc.get("t") not in ("d", "f") \
            or not isinstance(doc.get("n"), str):
        raise MarkerError(marker)
    if order.by == "name":
        return doc["t"], doc["n"], doc["n"]
    key = doc.get("k")
    if not isinstance(key, int | float) or isinstance(key, bool):
        raise MarkerError(marker)
    return doc["t"], key, doc["n"]


class Lister:
    """Lists directories of one space; holds the per-directory sort cache."""

    def __init__(self, meta: Metadata, cache_size: int = 16) -> None:
        self.meta = meta
        self._cache: OrderedDict[tuple[int, str, int, str], list[tuple[Any, str]]] = (
            OrderedDict())
        self._cache_size = cache_size

    def entries(self, d: Dir, order: Order,
                after: tuple[str, Any, str] | None = None) -> Iterator[Entry]:
        """Children of `d` in `order`, strictly after the `(kind, key, name)` position."""
        groups: list[str] = [g for g in ("d", "f") if order.only in (None, g)]
        if order.union:
            streams = [self._group(d, g, order, after[1:] if after else None) for g in groups]
            return heapq.merge(*streams, key=lambda e: (e[1], e[2]), reverse=order.desc)
        chained: list[Iterator[Entry]] = []
        rank = {"d": 0, "f": 1}  # directories come first whatever the direction
        for group in groups:
            if after is None or rank[group] > rank[after[0]]:
                chained.append(self._group(d, group, order, None))
            elif group == after[0]:
                chained.append(self._group(d, group, order, after[1:]))
        return itertools.chain(*chained)

    def _group(self, d: Dir, group: str, order: Order,
               after: tuple[Any, str] | None) -> Iterator[Entry]:
        if order.by == "name":
            return self._by_name(d, group, order.desc, after[1] if after else None)
        rows = self._sorted_rows(d, group, order.by)
        if after is None:
            indices: range = range(len(rows) - 1, -1, -1) if order.desc else range(len(rows))
        elif order.desc:
            indices = range(bisect.bisect_left(rows, after) - 1, -1, -1)
        else:
            indices = range(bisect.bisect_right(rows, after), len(rows))
        subdirs = d.subdirs
        if group == "d" and subdirs is not None:
            return (("d", rows[i][0], rows[i][1], subdirs[rows[i][1]]) for i in indices)
        return (("f", rows[i][0], rows[i][1], None) for i in indices)

    def _by_name(self, d: Dir, group: str, desc: bool, after: str | None) -> Iterator[Entry]:
        if group == "d":
            subdirs = d.subdirs
            if subdirs is None:
                return iter(())
            names = _irange(subdirs, after, desc)
            return (("d", name, name, subdirs[name]) for name in names)
        if d.files is None:
            return iter(())
        return (("f", name, name, None) for name in _irange(d.files, after, desc))

    def _sorted_rows(self, d: Dir, group: str, by: str) -> list[tuple[Any, str]]:
        if group == "d":
            # Subdirectory times change without this directory's eTag changing: never cached.
            return sorted((_dir_key(child, by), name) for name, child in
                          (d.subdirs or {}).items())
        cache_key = (id(d), d.key, d.etag, by)
        rows = self._cache.get(cache_key)
        if rows is None:
            key_of = _file_key_function(self.meta, d, by)
            rows = sorted((key_of(name), name) for name in (d.files or ()))
            self._cache[cache_key] = rows
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(cache_key)
        return rows


def _irange(container: Any, after: str | None, desc: bool) -> Iterator[str]:
    if after is None:
        names: Iterator[str] = container.irange(reverse=desc)
    elif desc:
        names = container.irange(maximum=after, inclusive=(True, False), reverse=True)
    else:
        names = container.irange(minimum=after, inclusive=(False, True))
    return names


def _dir_key(d: Dir, by: str) -> Any:
    if by == "size":
        return 0
    if by in ("creationTime", "localCreationTime"):
        return d.ctime
    return d.mtime


def _file_key_function(meta: Metadata, d: Dir, by: str) -> Callable[[str], Any]:
    if by == "size":
        return lambda name: meta(d.file_key(name)).size
    if by in ("creationTime", "localCreationTime"):
        return lambda name: meta(d.file_key(name)).ctime
    return lambda name: meta(d.file_key(name)).mtime
