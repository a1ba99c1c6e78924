"""The file tree of one space: directory nodes, ordered children and derived file metadata.

Memory is the constraint here (a million paths in well under a gigabyte), so a file is nothing
but its name in its directory's `SortedList`; its size, eTag, crc64 and times are derived on
demand from a hash of the path it was seeded (or first created) at. A directory is a small
`__slots__` node whose child containers exist only once it has children. Keeping names sorted
is what lets a listing page cost time in proportion to the page.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Iterator, Mapping
from json.encoder import encode_basestring as encode_json_string
from typing import NamedTuple

from sortedcontainers import SortedDict, SortedList

# Seeded entries get times in 2024, spread deterministically by their path hash.
EPOCH = 1704067200.0
YEAR = 365 * 86400

IMAGE_EXTENSIONS = frozenset(["jpg", "jpeg", "png", "gif", "bmp", "webp", "heic", "heif", "tif",
                              "tiff", "svg", "ico", "avif"])
VIDEO_EXTENSIONS = frozenset(
    ["mp4", "mov", "avi", "mkv", "wmv", "flv", "webm", "m4v", "3gp", "mpeg", "mpg", "ts"])
CONTENT_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "bmp": "image/bmp", "webp": "image/webp", "heic": "image/heic", "heif": "image/heif",
    "tif": "image/tiff", "tiff": "image/tiff", "svg": "image/svg+xml", "ico": "image/x-icon",
    "avif": "image/avif", "mp4": "video/mp4", "mov": "video/quicktime",
    "avi": "video/x-msvideo", "mkv": "video/x-matroska", "wmv": "video/x-ms-wmv",
    "flv": "video/x-flv", "webm": "video/webm", "m4v": "video/x-m4v", "3gp": "video/3gpp",
    "mpeg": "video/mpeg", "mpg": "video/mpeg", "ts": "video/mp2t",
    "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown",
    "json": "application/json", "csv": "text/csv", "html": "text/html",
    "zip": "application/zip", "docx": ("application/vnd.openxmlformats-officedocument."
                                       "wordprocessingml.document"),
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword", "mp3": "audio/mpeg", "wav": "audio/wav",
}


def extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot + 1:].lower() if dot > 0 else ""


def media_type(name: str, *, media: bool, ext: str | None = None) -> str:
    """`file`, or in a media library `image`/`video` by extension."""
    if media:
        ext = extension(name) if ext is None else ext
        if ext in IMAGE_EXTENSIONS:
            return "image"
        if ext in VIDEO_EXTENSIONS:
            return "video"
    return "file"


def content_type(name: str, ext: str | None = None) -> str:
    return CONTENT_TYPES.get(extension(name) if ext is None else ext, "application/octet-stream")


_DAYS: dict[int, str] = {}


def _day(day: int) -> str:
    text = _DAYS.get(day)
    if text is None:
        text = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        if len(_DAYS) < 100_000:
            _DAYS[day] = text
    return text


_KINDS: dict[bool, dict[str, tuple[str, str, str, str]]] = {False: {}, True: {}}


def kinds(name: str, media: bool) -> tuple[str, str, str, str]:
    """(item type, content type, both as JSON strings) for a file name, cached per extension
    as written (so without lowering its case on every call)."""
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    cached = _KINDS[media]
    found = cached.get(suffix)
    if found is None:
        ext = extension(name)
        kind, mime = media_type(name, media=media, ext=ext), content_type(name, ext)
        found = (kind, mime, encode_json_string(kind), encode_json_string(mime))
        if len(cached) < 10_000:
            cached[suffix] = found
    return found


def kind_and_content_type(name: str, *, media: bool) -> tuple[str, str]:
    """(item type, content type) for a file name."""
    kind, mime, _, _ = kinds(name, media)
    return kind, mime


_MILLIS = [f"{i:03d}" for i in range(1000)]
_MINUTES_SECONDS = [f"{m:02d}:{s:02d}.000Z" for m in range(60) for s in range(60)]
_HOURS: dict[int, str] = {}


def iso_time(epoch: float) -> str:
    """`2020-09-22T07:43:01.000Z`. A listing page formats thousands of these, so the date and
    hour are cached per hour and the rest comes from a table."""
    seconds, millis = divmod(round(epoch * 1000), 1000)
    return iso_seconds(seconds, millis)


def iso_seconds(seconds: int, millis: int = 0) -> str:
    """`iso_time` of a whole number of epoch seconds (plus `millis`)."""
    hour, rest = divmod(seconds, 3600)
    text = (_HOURS.get(hour) or _hour(hour)) + _MINUTES_SECONDS[rest]
    return f"{text[:-4]}{_MILLIS[millis]}Z" if millis else text


def _hour(hour: int) -> str:
    """`2020-09-22T07:` for an hour since the epoch, cached."""
    day, of_day = divmod(hour, 24)
    text = f"{_day(day)}T{of_day:02d}:"
    if len(_HOURS) < 50_000:
        _HOURS[hour] = text
    return text


class FileMeta(NamedTuple):
    size: int
    crc64: int
    etag: str
    ctime: float
    mtime: float
    version: int


_META = struct.Struct(">IQIIB")
_EPOCH_SECONDS = int(EPOCH)


class Metadata:
    """The file metadata of one space: derived from each file's key, except the size and
    modification time a seed gave (keyed by the same key, so they follow a restored file)."""

    __slots__ = ("_hash", "attributes", "space")

    def __init__(self, space: str,
                 attributes: Mapping[str, tuple[int | None, float | None]] | None = None) -> None:
        self.space = space
        self.attributes = dict(attributes or {})
        # The hash state after `space` and a NUL: each file's hash continues a copy of it.
        self._hash = hashlib.blake2b(f"{space}\0".encode(), digest_size=32)

    def derived(self, key: str) -> tuple[int, int, str, int, int, int]:
        """(size, crc64, eTag without its quotes, ctime, mtime, versionId) of the file first
        known at `key`, the times in whole seconds after `EPOCH`: derived from a hash of the
        space and the key."""
        hashed = self._hash.copy()
        hashed.update(key.encode())
        digest = hashed.digest()
        size, crc64, created, modified, version = _META.unpack_from(digest)
        ctime = created % YEAR
        return (size % (16 * 1024 * 1024), crc64, digest[16:].hex(), ctime,
                ctime + modified % (30 * 86400), 1 + version % 3)

    def listed(self, key: str) -> tuple[str, str, int, int, str, int]:
        """What a listing shows of a file: (creation and modification time as ISO text, size,
        crc64, eTag as JSON text, versionId); `__call__`'s values, without a `FileMeta`."""
        if not self.attributes or key not in self.attributes:
            size, crc64, etag, ctime, mtime, version = self.derived(key)
            # iso_seconds, inlined: a listing page does this for each of its thousand files.
            hour, rest = divmod(_EPOCH_SECONDS + ctime, 3600)
            created = (_HOURS.get(hour) or _hour(hour)) + _MINUTES_SECONDS[rest]
            hour, rest = divmod(_EPOCH_SECONDS + mtime, 3600)
            modified = (_HOURS.get(hour) or _hour(hour)) + _MINUTES_SECONDS[rest]
            return created, modified, size, crc64, f'"\\"{etag}\\""', version
        meta = self(key)
        return (iso_time(meta.ctime), iso_time(meta.mtime), meta.size, meta.crc64,
                encode_json_string(meta.etag), meta.version)

    def __call__(self, key: str) -> FileMeta:
        size, crc64, etag, ctime, mtime, version = self.derived(key)
        meta = FileMeta(size, crc64, f'"{etag}"', EPOCH + ctime, EPOCH + mtime, version)
        given = self.attributes.get(key) if self.attributes else None
        if given is None:
            return meta
        given_size, given_mtime = given
        if given_size is not None:
            meta = meta._replace(size=given_size)
        if given_mtime is not None:
            meta = meta._replace(mtime=given_mtime, ctime=min(meta.ctime, given_mtime))
        return meta


def dir_seed_time(space: str, key: str) -> float:
    digest = hashlib.blake2b(f"{space}\0{key}/".encode(), digest_size=8).digest()
    return EPOCH + int.from_bytes(digest[:4], "big") % YEAR


class Dir:
    """A directory; the root of a space has the name "" and no parent.

    `key` is the path the directory was seeded or created at: metadata of the files inside is
    derived from it, so a restored (possibly renamed) directory keeps its files' metadata.
    `file_keys` holds the rare file whose metadata key is not `key/name` (a renamed restore).
    """

    __slots__ = ("ctime", "etag", "file_keys", "files", "key", "mtime", "name", "parent",
                 "subdirs")

    def __init__(self, name: str, parent: Dir | None, key: str, ctime: float, etag: int) -> None:
        self.name = name
        self.parent = parent
        self.key = key
        self.ctime = ctime
        self.mtime = ctime
        self.etag = etag
        self.subdirs: SortedDict | None = None
        self.files: SortedList | None = None
        self.file_keys: dict[str, str] | None = None

    # -- children -----------------------------------------------------------------------------
    def dir_count(self) -> int:
        return len(self.subdirs) if self.subdirs is not None else 0

    def file_count(self) -> int:
        return len(self.files) if self.files is not None else 0

    def child_dir(self, name: str) -> Dir | None:
        if self.subdirs is None:
            return None
        child: Dir | None = self.subdirs.get(name)
        return child

    def has_dir(self, name: str) -> bool:
        return self.subdirs is not None and name in self.subdirs

    def has_file(self, name: str) -> bool:
        return self.files is not None and name in self.files

    def has_child(self, name: str) -> bool:
        return self.child_dir(name) is not None or self.has_file(name)

    def add_dir(self, child: Dir) -> None:
        if self.subdirs is None:
            self.subdirs = SortedDict()
        child.parent = self
        self.subdirs[child.name] = child

    def remove_dir(self, name: str) -> Dir:
        assert self.subdirs is not None
        child: Dir = self.subdirs.pop(name)
        if not self.subdirs:
            self.subdirs = None
        return child

    def add_file(self, name: str, key: str | None = None) -> None:
        if self.files is None:
            self.files = SortedList()
        self.files.add(name)
        if key is not None and key != self.file_key_default(name):
            if self.file_keys is None:
                self.file_keys = {}
            self.file_keys[name] = key

    def remove_file(self, name: str) -> str:
        """Remove a file and return its metadata key."""
        key = self.file_key(name)
        self.remove_files({name})
        return key

    def remove_files(self, names: set[str]) -> None:
        """Remove files (each one there): one by one, or when they are more than a fiftieth
        of the directory's files, by keeping the others in one pass."""
        files = self.files
        assert files is not None
        if len(files) > 50 * len(names):
            for name in names:
                files.remove(name)
        else:
            files = SortedList([name for name in files if name not in names])
        self.files = files or None
        if self.file_keys is not None:
            for name in names:
                self.file_keys.pop(name, None)
            if not self.file_keys:
                self.file_keys = None

    def file_key_default(self, name: str) -> str:
        return f"{self.key}/{name}" if self.key else name

    def file_key(self, name: str) -> str:
        if self.file_keys is not None and name in self.file_keys:
            return self.file_keys[name]
        return self.file_key_default(name)

    def file_keys_of(self, names: list[str]) -> list[str]:
        """`file_key` of each of `names`."""
        if self.file_keys is not None:
            return [self.file_key(name) for name in names]
        if not self.key:
            return names
        base = f"{self.key}/"
        return [base + name for name in names]

    # -- paths --------------------------------------------------------------------------------
    def segments(self) -> list[str]:
        parts: list[str] = []
        node: Dir | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        parts.reverse()
        return parts

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Dir | None]]:
        """Every entry below this directory as (relative path, Dir or None for files),
        directories with a trailing "/"; depth first, children in name order."""
        stack: list[tuple[str, Dir]] = [(prefix, self)]
        while stack:
            base, node = stack.pop()
            if node.files is not None:
                for name in node.files:
                    yield base + name, None
            if node.subdirs is not None:
                children = list(node.subdirs.items())
                for name, child in children:
                    yield f"{base}{name}/", child
                for name, child in reversed(children):
                    stack.append((f"{base}{name}/", child))

    def total_size(self, meta: Metadata) -> int:
        return self.totals(meta)[0]

    def totals(self, meta: Metadata | None) -> tuple[int, int, int]:
        """(bytes, files, directories) below this directory, recursively; bytes are 0 without
        `meta` (a file's size is derived from its metadata, the costly part of a count)."""
        size = files = dirs = 0
        stack: list[Dir] = [self]
        while stack:
            node = stack.pop()
            if node.files is not None:
                files += len(node.files)
                if meta is not None:
                    size += sum(meta(node.file_key(n)).size for n in node.files)
            if node.subdirs is not None:
                dirs += len(node.subdirs)
                stack.extend(node.subdirs.values())
        return size, files, dirs


def build_tree(space: str, files: tuple[str, ...], dirs: tuple[str, ...]) -> Dir:
    """The tree for sorted seed paths (`dirs` already includes every ancestor)."""
    root = Dir("", None, "", dir_seed_time(space, ""), 0)
    root.etag = int(root.ctime * 1000)
    by_path: dict[str, Dir] = {"": root}
    pending: dict[str, dict[str, Dir]] = {}
    for path in dirs:  # sorted, so a parent always comes before its children
        cut = path.rfind("/")
        parent_path, name = (path[:cut], path[cut + 1:]) if cut >= 0 else ("", path)
        ctime = dir_seed_time(space, path)
        node = Dir(name, by_path[parent_path], path, ctime, int(ctime * 1000))
        by_path[path] = node
        pending.setdefault(parent_path, {})[name] = node
    for parent_path, children in pending.items():
        by_path[parent_path].subdirs = SortedDict(children)
    grouped: dict[str, list[str]] = {}
    for path in files:
        cut = path.rfind("/")
        parent_path, name = (path[:cut], path[cut + 1:]) if cut >= 0 else ("", path)
        grouped.setdefault(parent_path, []).append(name)
    for parent_path, names in grouped.items():
        by_path[parent_path].files = SortedList(names)
    return root
