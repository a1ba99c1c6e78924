"""The remote state a plan is made from: what the walker listed, as plain frozen data.

Paths are relative to the space root, `/`-separated, without leading or trailing `/`, and
spelled exactly as the server spelled them (the root is `""`).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, overload

import msgspec

from reconciler.slots import new, slot_setter


class EntryType(StrEnum):
    FILE = "file"
    DIR = "dir"
    UNKNOWN = "unknown"
    """A type the tool does not know (`RemoteEntry.server_type` has the server's word): it
    could hold anything, so it is never deleted, nor any directory that holds it."""


# The members under plain names, for the code that tests the type of every entry or item: on
# Python 3.11 a member read through its class (`EntryType.DIR`) goes through the enum
# metaclass's `__getattr__` hook, about 70 ns where a global name is about 10.
FILE: Final = EntryType.FILE
DIR: Final = EntryType.DIR
UNKNOWN: Final = EntryType.UNKNOWN


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


@dataclass(frozen=True, slots=True, eq=False)
class RemoteEntry:
    """One child of a listed directory.

    Entries a listing holds are stored packed (`Entries`) and handed out as `ListedEntry`
    views, which equal a `RemoteEntry` of the same fields.
    """

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
        return self.type is DIR

    def _key(self) -> tuple[str, EntryType, Fingerprint, str | None]:
        return self.path, self.type, self.fingerprint, self.server_type

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RemoteEntry):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


_TYPES: Final = (FILE, DIR, UNKNOWN)
_TYPE_CODES: Final = {entry_type: code for code, entry_type in enumerate(_TYPES)}
_DIR_CODE: Final = _TYPE_CODES[DIR]

# One packed record per entry: its type and flags, then its fingerprint's fields in compact
# form (the modification time as its 24 ASCII characters, a quoted hex eTag as its 16 bytes or
# a decimal one as a number, size and crc64 as numbers). A field the record cannot hold as the
# server spelled it sends the whole entry to the directory's `odd` table instead.
_RECORD: Final = struct.Struct("<B24s16sQQ")
RECORD_SIZE: Final = _RECORD.size
_TYPE_BITS: Final = 0x03
_MTIME: Final = 0x04
_ETAG_HEX: Final = 0x08
_ETAG_NUMBER: Final = 0x10
_SIZE: Final = 0x20
_CRC64: Final = 0x40
_ODD: Final = 0x80
_HEX_DIGITS: Final = "0123456789abcdef"
_NO_TIME: Final = bytes(24)
_NO_TAG: Final = bytes(16)


def _number(text: str) -> int | None:
    """`text` as a number below 2**64, when that number's decimal form is exactly `text`."""
    if (text.isdigit() and text.isascii() and len(text) <= 20
            and (text[0] != "0" or len(text) == 1)):
        value = int(text)
        if value >> 64 == 0:
            return value
    return None


def _pack(type_code: int, etag: str | None, mtime: str | None, size: str | None,
          crc64: str | None) -> bytes | None:
    """The record of an entry, None when a field cannot be packed as the server spelled it."""
    flags = type_code
    time, tag = _NO_TIME, _NO_TAG
    if mtime is not None:
        if len(mtime) != 24 or not mtime.isascii():
            return None
        flags |= _MTIME
        time = mtime.encode("ascii")
    if etag is not None:
        if len(etag) == 34 and etag[0] == '"' == etag[33] and not etag[1:33].strip(_HEX_DIGITS):
            flags |= _ETAG_HEX
            tag = bytes.fromhex(etag[1:33])
        else:
            number = _number(etag)
            if number is None:
                return None
            flags |= _ETAG_NUMBER
            tag = number.to_bytes(16, "little")
    size_value = 0 if size is None else _number(size)
    crc_value = 0 if crc64 is None else _number(crc64)
    if size_value is None or crc_value is None:
        return None
    flags |= (_SIZE if size is not None else 0) | (_CRC64 if crc64 is not None else 0)
    return _RECORD.pack(flags, time, tag, size_value, crc_value)


def packed_page(directory: str, names: list[Any], types: list[EntryType], etags: list[Any],
                mtimes: list[Any], sizes: list[Any], crc64s: list[Any]) -> Entries | None:
    """A page of entries (its rows' fields, column by column) packed at once, each column
    checked in one pass: the record of every row is the one `_pack` gives it.

    That is when each field is absent from every row or present in every row as the record
    holds it, and every name is usable: a page of files, or of directories, as SMH sends
    them. None for any other page, whose rows `EntriesBuilder.add` then takes one by one.
    """
    if set(map(type, names)) != {str} or not _UNUSABLE_NAMES.isdisjoint(names):
        return None
    joined = "".join(names)
    if "/" in joined or "\x00" in joined:
        return None
    time_column, tag_column = _time_column(mtimes), _tag_column(etags)
    size_column, crc_column = _number_column(sizes, _SIZE), _number_column(crc64s, _CRC64)
    if time_column is None or tag_column is None or size_column is None or crc_column is None:
        return None
    (time_flag, times), (tag_flag, tags) = time_column, tag_column
    (size_flag, size_values), (crc_flag, crc_values) = size_column, crc_column
    common = time_flag | tag_flag | size_flag | crc_flag
    flags = [_TYPE_CODES[entry_type] | common for entry_type in types]
    records = b"".join(map(_RECORD.pack, flags, times, tags, size_values, crc_values))
    return Entries(directory, tuple(names), records, {})


_UNUSABLE_NAMES: Final = frozenset({"", ".", ".."})
_read_numbers: Final = msgspec.json.Decoder(list[int]).decode
_Column = tuple[int, Sequence[Any]] | None


def _present(values: list[Any]) -> bool | None:
    """True when every value is a string, False when none is there, None otherwise."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return True
    return False if kinds <= {type(None)} else None


def _time_column(values: list[Any]) -> _Column:
    present = _present(values)
    if not present:
        return None if present is None else (0, [_NO_TIME] * len(values))
    if set(map(len, values)) != {24} or not "".join(values).isascii():
        return None
    return _MTIME, list(map(str.encode, values))


def _tag_column(values: list[Any]) -> _Column:
    present = _present(values)
    if not present:
        return None if present is None else (0, [_NO_TAG] * len(values))
    count = len(values)
    if set(map(len, values)) == {34}:
        joined = "".join(values)
        if joined[0::34] != '"' * count or joined[33::34] != '"' * count:
            return None
        digits = joined.replace('"', "")
        try:
            tags = bytes.fromhex(digits)
        except ValueError:
            return None
        # Exactly 32 lowercase hex digits a value, as `_pack` takes them: no other character
        # (`fromhex` passes over spaces and takes capitals, which its `hex` would not give).
        if len(tags) != 16 * count or tags.hex() != digits:
            return None
        return _ETAG_HEX, [tags[start:start + 16] for start in range(0, 16 * count, 16)]
    numbers = _numbers(values)
    if numbers is None:
        return None
    return _ETAG_NUMBER, [number.to_bytes(16, "little") for number in numbers]


def _number_column(values: list[Any], flag: int) -> _Column:
    present = _present(values)
    if not present:
        return None if present is None else (0, [0] * len(values))
    numbers = _numbers(values)
    return None if numbers is None else (flag, numbers)


def _numbers(values: list[str]) -> Sequence[int] | None:
    """`values` as numbers below 2**64, when each is the number's decimal form exactly (what
    `_number` takes, for a whole column).

    With only digits in them, the values are read as one JSON array of integers, whose
    grammar refuses what `_number` refuses but for size: an empty value, a leading zero."""
    joined = "".join(values)
    if not (joined.isascii() and joined.isdigit()):
        return None
    try:
        return array("Q", _read_numbers(f"[{','.join(values)}]"))  # refuses 2**64 and above
    except (msgspec.DecodeError, OverflowError):
        return None


class EntriesBuilder:
    """Collects one directory's entries, in order, into an `Entries`."""

    __slots__ = ("_directory", "_names", "_odd", "_records")

    def __init__(self, directory: str) -> None:
        self._directory = directory
        self._names: list[str] = []
        self._records = bytearray()
        self._odd: dict[int, tuple[Fingerprint, str | None]] = {}

    def add(self, name: str, entry_type: EntryType, etag: str | None, mtime: str | None,
            size: str | None, crc64: str | None) -> None:
        """An entry of a known type, its fingerprint's fields as the server sent them."""
        record = _pack(_TYPE_CODES[entry_type], etag, mtime, size, crc64)
        if record is None:
            self._add_odd(name, entry_type, Fingerprint(etag=etag, modification_time=mtime,
                                                        size=size, crc64=crc64), None)
        else:
            self._names.append(name)
            self._records += record

    def add_entry(self, name: str, entry: RemoteEntry) -> None:
        fp = entry.fingerprint
        record = None
        if entry.server_type is None and fp.contents is None and fp.stats is None:
            record = _pack(_TYPE_CODES[entry.type], fp.etag, fp.modification_time, fp.size,
                           fp.crc64)
        if record is None:
            self._add_odd(name, entry.type, fp, entry.server_type)
        else:
            self._names.append(name)
            self._records += record

    def _add_odd(self, name: str, entry_type: EntryType, fingerprint: Fingerprint,
                 server_type: str | None) -> None:
        self._odd[len(self._names)] = (fingerprint, server_type)
        self._names.append(name)
        self._records += _RECORD.pack(_TYPE_CODES[entry_type] | _ODD, _NO_TIME, _NO_TAG, 0, 0)

    def build(self) -> Entries:
        return Entries(self._directory, tuple(self._names), bytes(self._records), self._odd)


class Entries(Sequence[RemoteEntry]):
    """The entries of one listed directory, in the server's order, stored compactly.

    A listing of a million paths holds a million of these entries, so none is an object of its
    own: the directory keeps a tuple of names and one packed record per entry (see `_pack`),
    and each entry read from it is a `ListedEntry` made on the spot, whose fingerprint is
    unpacked only when asked for. Read-only, like the rest of a listing.
    """

    __slots__ = ("_names", "_odd", "_prefix", "_records", "directory")

    def __init__(self, directory: str, names: tuple[str, ...], records: bytes,
                 odd: Mapping[int, tuple[Fingerprint, str | None]]) -> None:
        if len(records) != len(names) * RECORD_SIZE:
            raise ValueError("one record per name")
        self.directory = directory
        self._prefix = f"{directory}/" if directory else ""
        self._names = names
        self._records = records
        self._odd = dict(odd)

    @classmethod
    def of(cls, directory: str, entries: Iterable[RemoteEntry]) -> Entries:
        """`entries`, children of `directory`, stored compactly."""
        if isinstance(entries, Entries) and entries.directory == directory:
            return entries
        prefix = f"{directory}/" if directory else ""
        builder = EntriesBuilder(directory)
        for entry in entries:
            if not entry.path.startswith(prefix):
                raise ValueError(f"{entry.path!r} is not a child of {directory!r}")
            builder.add_entry(entry.path[len(prefix):], entry)
        return builder.build()

    @classmethod
    def join(cls, directory: str, parts: Sequence[Entries]) -> Entries:
        """The entries of `parts` (of the same directory) one after another."""
        if len(parts) == 1:
            return parts[0]
        odd: dict[int, tuple[Fingerprint, str | None]] = {}
        offset = 0
        for part in parts:
            odd.update((offset + index, row) for index, row in part._odd.items())
            offset += len(part)
        return cls(directory, tuple(name for part in parts for name in part._names),
                   b"".join(part._records for part in parts), odd)

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> RemoteEntry: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RemoteEntry]: ...

    def __getitem__(self, index: int | slice) -> RemoteEntry | Sequence[RemoteEntry]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self._names)
        if not 0 <= index < len(self._names):
            raise IndexError("entry index out of range")
        return self._view(index)

    def __iter__(self) -> Iterator[RemoteEntry]:
        # `_view` spelled out: this makes a view of every entry each time a directory is read.
        prefix, records, types = self._prefix, self._records, _TYPES
        for index, name in enumerate(self._names):
            entry = _new(ListedEntry)
            _set_path(entry, prefix + name)
            _set_type(entry, types[records[index * RECORD_SIZE] & _TYPE_BITS])
            _set_source(entry, self)
            _set_index(entry, index)
            yield entry

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Entries({self.directory!r}, {len(self)} entries)"

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def paths(self) -> Iterator[str]:
        """The paths of the entries, in order, without a view of each."""
        return map(self._prefix.__add__, self._names)

    def directories(self) -> Iterator[str]:
        """The paths of the entries that are directories, in order."""
        records, prefix = self._records, self._prefix
        for index, name in enumerate(self._names):
            if records[index * RECORD_SIZE] & _TYPE_BITS == _DIR_CODE:
                yield prefix + name

    def _view(self, index: int) -> ListedEntry:
        entry = _new(ListedEntry)
        _set_path(entry, self._prefix + self._names[index])
        _set_type(entry, _TYPES[self._records[index * RECORD_SIZE] & _TYPE_BITS])
        _set_source(entry, self)
        _set_index(entry, index)
        return entry

    def fingerprint(self, index: int) -> Fingerprint:
        flags, time, tag, size, crc64 = _RECORD.unpack_from(self._records, index * RECORD_SIZE)
        if flags & _ODD:
            return self._odd[index][0]
        etag = None
        if flags & _ETAG_HEX:
            etag = f'"{tag.hex()}"'
        elif flags & _ETAG_NUMBER:
            etag = str(int.from_bytes(tag, "little"))
        return Fingerprint(
            etag=etag,
            modification_time=time.decode("ascii") if flags & _MTIME else None,
            size=str(size) if flags & _SIZE else None,
            crc64=str(crc64) if flags & _CRC64 else None,
        )

    def server_type(self, index: int) -> str | None:
        odd = self._odd.get(index)
        return odd[1] if odd is not None else None


class ListedEntry(RemoteEntry):
    """An entry of an `Entries`: its path and type are set when it is read, its fingerprint
    (and server type) are unpacked from the directory's record when asked for."""

    __slots__ = ("_index", "_source")
    _source: Entries
    _index: int

    def __new__(cls, *args: Any, **kwargs: Any) -> RemoteEntry:  # type: ignore[misc]
        # `dataclasses.replace` and other callers build a plain entry of the given fields.
        return RemoteEntry(*args, **kwargs)

    @property
    def fingerprint(self) -> Fingerprint:
        return self._source.fingerprint(self._index)

    @property
    def server_type(self) -> str | None:
        return self._source.server_type(self._index)

    def __repr__(self) -> str:
        return (f"RemoteEntry(path={self.path!r}, type={self.type!r}, "
                f"fingerprint={self.fingerprint!r}, server_type={self.server_type!r})")


# A view is made for every entry read: by setting its slots directly (`reconciler.slots`).
_new = new
_set_path = slot_setter(RemoteEntry, "path")
_set_type = slot_setter(RemoteEntry, "type")
_set_source = slot_setter(ListedEntry, "_source")
_set_index = slot_setter(ListedEntry, "_index")


def entry_paths(entries: Sequence[RemoteEntry]) -> Iterator[str]:
    """The paths of `entries`."""
    if isinstance(entries, Entries):
        return entries.paths()
    return (entry.path for entry in entries)


def entry_names(directory: str, entries: Sequence[RemoteEntry]) -> Iterable[str]:
    """The names of `entries`, children of `directory`."""
    if isinstance(entries, Entries):
        return entries.names
    start = len(directory) + 1 if directory else 0
    return (entry.path[start:] for entry in entries)


def directory_paths(entries: Sequence[RemoteEntry]) -> Iterator[str]:
    """The paths of the directories among `entries`."""
    if isinstance(entries, Entries):
        return entries.directories()
    return (entry.path for entry in entries if entry.is_dir)


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

    `children` maps each directory that was listed (`""` is the root) to its entries (an
    `Entries`, where the walker made the listing); a directory absent from it was not
    descended into. `errors` holds every listing failure;
    a space with any error gets no deletes. `recycle_bin_items` is the number of items in
    the space's bin, or None when the space has no recycle bin (`RecycleBinNotEnabled`).
    `stats` holds what each directory the plan deletes holds, recursively; `files` is how many
    files the space holds outside its bin and history, None when the server would not say.
    `recycled` holds the bin's items themselves, when the plan needs them.
    """

    space: str
    children: Mapping[str, Sequence[RemoteEntry]] = field(default_factory=dict)
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
            children: dict[str, Entries] = {}
            for directory, rows in space["children"].items():
                prefix = f"{directory}/" if directory else ""
                children[str(directory)] = Entries.of(str(directory), (
                    RemoteEntry(f"{prefix}{name}", EntryType(kind), Fingerprint.from_json(fp),
                                str(server[0]) if server else None)
                    for name, kind, fp, *server in rows
                ))
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
