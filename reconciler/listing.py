"""The remote state a plan is made from: what the walker listed, as plain frozen data.

Paths are relative to the space root, `/`-separated, without leading or trailing `/`, and
spelled exactly as the server spelled them (the root is `""`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class EntryType(StrEnum):
    FILE = "file"
    DIR = "dir"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What apply compares to decide whether an item changed since the plan was made."""

    etag: str | None = None
    modification_time: str | None = None
    size: str | None = None
    crc64: str | None = None

    def to_json(self) -> dict[str, str]:
        data = {
            "etag": self.etag,
            "modification_time": self.modification_time,
            "size": self.size,
            "crc64": self.crc64,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Fingerprint:
        return cls(
            etag=data.get("etag"),
            modification_time=data.get("modification_time"),
            size=data.get("size"),
            crc64=data.get("crc64"),
        )


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """One child of a listed directory."""

    path: str
    type: EntryType
    fingerprint: Fingerprint = Fingerprint()

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_dir(self) -> bool:
        return self.type is EntryType.DIR


@dataclass(frozen=True, slots=True)
class SpaceListing:
    """What was listed of one space.

    `children` maps each directory that was listed (`""` is the root) to its entries; a
    directory absent from it was not descended into. `errors` holds every listing failure;
    a space with any error gets no deletes. `recycle_bin_items` is the number of items in
    the space's bin, or None when the space has no recycle bin (`RecycleBinNotEnabled`).
    """

    space: str
    children: dict[str, tuple[RemoteEntry, ...]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    recycle_bin_items: int | None = 0

    @property
    def recycle_bin_enabled(self) -> bool:
        return self.recycle_bin_items is not None

    def entry_count(self) -> int:
        return sum(len(entries) for entries in self.children.values())


@dataclass(frozen=True, slots=True)
class LibraryListing:
    """What was listed of one library: its spaces and its history setting.

    `history_enabled` is None when the plan did not need it (no `history.clear`).
    `listed_at` is an ISO-8601 UTC time set by the edge that made the listing.
    """

    library: str
    spaces: dict[str, SpaceListing]
    history_enabled: bool | None = None
    listed_at: str | None = None
