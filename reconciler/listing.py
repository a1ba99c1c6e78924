"""The remote state a plan is made from: what the walker listed, as plain frozen data.

Paths are relative to the space root, `/`-separated, without leading or trailing `/`, and
spelled exactly as the server spelled them (the root is `""`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EntryType(StrEnum):
    FILE = "file"
    DIR = "dir"
    UNKNOWN = "unknown"
    """A type the tool does not know (`RemoteEntry.server_type` has the server's word): it
    could hold anything, so it is never deleted, nor any directory that holds it."""


@dataclass(frozen=True, slots=True)
class Contents:
    """What a plan saw inside a directory it deletes as one item, when it listed inside it.

    The walker lists inside such a directory only when a keep pattern, a purge entry of another
    mode or a prune root could apply there; then apply must find the inside as the plan saw it.
    `listed` are the directories (relative to the item, `""` itself) whose listings make up
    `digest`; `skip` are the planned items inside it (relative), deleted first on their own and
    left out of the digest. See `reconciler.subtree`.
    """

    digest: str
    listed: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "listed": list(self.listed), "skip": list(self.skip)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Contents:
        return cls(
            digest=str(data["digest"]),
            listed=tuple(str(path) for path in data.get("listed", ())),
            skip=tuple(str(path) for path in data.get("skip", ())),
        )


class Counted(StrEnum):
    """How a directory's files and bytes were counted."""

    STATS = "stats"  # SMH's directory stats
    LISTING = "listing"  # the server gave no stats: every directory inside it was listed


@dataclass(frozen=True, slots=True)
class Stats:
    """What a directory holds, recursively: its files and their bytes."""

    files: int
    bytes: int
    counted: Counted = Counted.STATS

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "counted": self.counted.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stats:
        return cls(files=_count(data["files"]), bytes=_count(data["bytes"]),
                   counted=Counted(data.get("counted", Counted.STATS.value)))


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What apply compares to decide whether an item changed since the plan was made."""

    etag: str | None = None
    modification_time: str | None = None
    size: str | None = None
    crc64: str | None = None
    contents: Contents | None = None
    stats: Stats | None = None
    """A directory item's recursive files and bytes when the plan was made."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "etag": self.etag,
            "modification_time": self.modification_time,
            "size": self.size,
            "crc64": self.crc64,
            "contents": self.contents.to_json() if self.contents is not None else None,
            "stats": self.stats.to_json() if self.stats is not None else None,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fingerprint:
        contents = data.get("contents")
        stats = data.get("stats")
        return cls(
            etag=data.get("etag"),
            modification_time=data.get("modification_time"),
            size=data.get("size"),
            crc64=data.get("crc64"),
            contents=Contents.from_json(contents) if contents is not None else None,
            stats=Stats.from_json(stats) if stats is not None else None,
        )

    @property
    def size_bytes(self) -> int | None:
        """The file's size as a number, None when the server gave none (or not a number)."""
        if self.size is None or not self.size.isdigit():
            return None
        return int(self.size)


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """One child of a listed directory."""

    path: str
    type: EntryType
    fingerprint: Fingerprint = Fingerprint()
    server_type: str | None = None
    """The server's `type` of an entry whose type is `UNKNOWN`."""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_dir(self) -> bool:
        return self.type is EntryType.DIR


@dataclass(frozen=True, slots=True)
class RecycledItem:
    """One entry of a space's recycle bin; `size` is the bin row's bytes, None when it has
    none."""

    recycled_item_id: int
    original_path: str
    type: EntryType
    removal_time: str | None = None
    remaining_days: int | None = None
    size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"recycled_item_id": self.recycled_item_id, "original_path": self.original_path,
                "type": self.type.value, "removal_time": self.removal_time, "size": self.size}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecycledItem:
        size = data.get("size")
        return cls(recycled_item_id=int(data["recycled_item_id"]),
                   original_path=str(data["original_path"]), type=EntryType(data["type"]),
                   removal_time=data.get("removal_time"),
                   size=None if size is None else _count(size))


@dataclass(frozen=True, slots=True)
class SpaceListing:
    """What was listed of one space.

    `children` maps each directory that was listed (`""` is the root) to its entries; a
    directory absent from it was not descended into. `errors` holds every listing failure;
    a space with any error gets no deletes. `recycle_bin_items` is the number of items in
    the space's bin, or None when the space has no recycle bin (`RecycleBinNotEnabled`).
    `stats` holds what each directory the plan deletes holds, recursively; `files` is how many
    files the space holds outside its bin and history, None when the server would not say.
    `recycled` holds the bin's items themselves, when the plan needs them.
    """

    space: str
    children: dict[str, tuple[RemoteEntry, ...]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    recycle_bin_items: int | None = 0
    stats: dict[str, Stats] = field(default_factory=dict)
    files: int | None = None
    recycled: tuple[RecycledItem, ...] | None = None
    """Every item of the bin, where the plan needed them (`recycle_bin.older_than`)."""

    @property
    def recycle_bin_enabled(self) -> bool:
        return self.recycle_bin_items is not None

    def entry_count(self) -> int:
        return sum(len(entries) for entries in self.children.values())


@dataclass(frozen=True, slots=True)
class LibraryListing:
    """What was listed of one library: its spaces and its history setting.

    `history_enabled` is None when the plan did not need it (no `history.clear`), and so is
    `history_files` (the earlier versions the library keeps, summed over all its spaces), which
    is also None when the server would not count them.
    `listed_at` is an ISO-8601 UTC time set by the edge that made the listing.
    """

    library: str
    spaces: dict[str, SpaceListing]
    history_enabled: bool | None = None
    listed_at: str | None = None
    history_files: int | None = None


LISTING_KIND = "smh-reconcile-listing"
LISTING_FORMAT_VERSION = 2


def listing_to_json(listing: LibraryListing, *, digest: str) -> dict[str, Any]:
    """A listing as a JSON document (`snapshot`), tied to the manifests it was made for."""
    spaces: dict[str, Any] = {}
    for space_id, space in sorted(listing.spaces.items()):
        spaces[space_id] = {
            **({"recycled": [item.to_json() for item in space.recycled]}
               if space.recycled is not None else {}),
            "recycle_bin_items": space.recycle_bin_items,
            "files": space.files,
            "stats": {path: stats.to_json() for path, stats in sorted(space.stats.items())},
            "errors": list(space.errors),
            "children": {
                directory: [
                    [entry.name, entry.type.value, entry.fingerprint.to_json(),
                     *([entry.server_type] if entry.server_type is not None else [])]
                    for entry in entries
                ]
                for directory, entries in sorted(space.children.items())
            },
        }
    return {
        "kind": LISTING_KIND,
        "format_version": LISTING_FORMAT_VERSION,
        "library": listing.library,
        "listed_at": listing.listed_at,
        "history_enabled": listing.history_enabled,
        "history_files": listing.history_files,
        "manifests": {"digest": digest},
        "spaces": spaces,
    }


def listing_from_json(data: Mapping[str, Any]) -> tuple[LibraryListing, str]:
    """The listing a `snapshot` saved, and the digest of the manifests it was made for.

    Raises ValueError with a message for a person when the document is not a listing.
    """
    if not isinstance(data, Mapping) or data.get("kind") != LISTING_KIND:
        raise ValueError("not a listing saved by `smh-reconcile snapshot`")
    if data.get("format_version") != LISTING_FORMAT_VERSION:
        raise ValueError(f"listing format {data.get('format_version')!r} is not supported "
                         f"(this version reads format {LISTING_FORMAT_VERSION}): make a new "
                         "one with `smh-reconcile snapshot`")
    try:
        spaces: dict[str, SpaceListing] = {}
        for space_id, space in data["spaces"].items():
            children: dict[str, tuple[RemoteEntry, ...]] = {}
            for directory, rows in space["children"].items():
                prefix = f"{directory}/" if directory else ""
                children[str(directory)] = tuple(
                    RemoteEntry(f"{prefix}{name}", EntryType(kind), Fingerprint.from_json(fp),
                                str(server[0]) if server else None)
                    for name, kind, fp, *server in rows
                )
            items = space["recycle_bin_items"]
            files = space["files"]
            spaces[str(space_id)] = SpaceListing(
                space=str(space_id),
                children=children,
                errors=tuple(str(error) for error in space["errors"]),
                recycle_bin_items=None if items is None else int(items),
                stats={str(path): Stats.from_json(stats)
                       for path, stats in space["stats"].items()},
                files=None if files is None else _count(files),
                recycled=None if space.get("recycled") is None else tuple(
                    RecycledItem.from_json(item) for item in space["recycled"]),
            )
        history = data.get("history_enabled")
        history_files = data.get("history_files")
        listing = LibraryListing(
            library=str(data["library"]),
            spaces=spaces,
            history_enabled=None if history is None else bool(history),
            listed_at=data.get("listed_at"),
            history_files=None if history_files is None else _count(history_files),
        )
        return listing, str(data["manifests"]["digest"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"the listing is damaged ({error!r})") from None
