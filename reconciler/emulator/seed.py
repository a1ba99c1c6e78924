"""Seed documents: validating the dict (or YAML file) an emulator starts from, and the sample.

A seed says which library the emulator serves and what is in it (see the README's "The
emulator" section):

    library: smhdemo
    secret: demo-secret          # the library secret /api/v1/token asks for
    token: demo-admin-token      # optional fixed admin token that never expires
    type: file                   # file | media
    recycle_bin: true
    history: {enabled: false, earlier_versions: 12}
    spaces:
      "-": [photos/2024/a.jpg, tmp/]     # a trailing "/" makes an (empty) directory
      # or, for a file whose size or modification time matters:
      # - {path: logs/2024-01.log, size: 2048, mtime: "2024-01-31T23:59:00Z"}
    recycle_retention_days: 3650 # optional; how long a bin keeps its items (default 30)
    recycled:                    # optional: what each space's recycle bin holds
      "-":
        - {path: tmp/old.log, removed: "2026-01-01T00:00:00Z", size: 512}
        - {path: drafts/, removed: "2025-06-01T00:00:00Z"}   # a (empty) directory
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader, where PyYAML was built with it, reads a 1,000,000-path seed many times
# faster than the pure-Python one; both build the same document.
SEED_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FORBIDDEN_NAME_CHARS = frozenset('\\:*?"<>|')
_UNUSABLE_CHAR = re.compile(
    "[\x00-\x1f" + re.escape("".join(sorted(FORBIDDEN_NAME_CHARS))) + "]")
"""A character no name may hold: a forbidden one or a control character below 32."""

Attributes = tuple[int | None, float | None]
"""A seeded file's (size in bytes, modification time in epoch seconds); None: derived."""


class SeedError(ValueError):
    """The seed document is not usable; the message says where and why."""


@dataclass(frozen=True)
class SeededBinItem:
    """A recycle-bin item a seed gives: its original path (`dir` when it is a directory), when
    it was removed (epoch seconds), and its size and modification time where given."""

    path: str
    dir: bool
    removed: float
    size: int | None = None
    mtime: float | None = None


@dataclass(frozen=True)
class Seed:
    library: str
    secret: str
    token: str | None
    media: bool
    recycle_bin: bool
    history_enabled: bool
    earlier_versions: int
    # space id -> (files, dirs): sorted "a/b" paths; `dirs` includes every implied ancestor
    spaces: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    # space id -> file path -> (size, modification time as epoch seconds), where a seed gave them
    attributes: Mapping[str, Mapping[str, Attributes]] = field(default_factory=dict)
    # space id -> the items its recycle bin starts with, oldest removal first
    recycled: Mapping[str, tuple[SeededBinItem, ...]] = field(default_factory=dict)
    recycle_retention_days: int = 30

    @property
    def multi_space(self) -> bool:
        return list(self.spaces) != ["-"]


SAMPLE_SEED: dict[str, Any] = {
    "library": "smhdemo",
    "secret": "demo-secret",
    "token": "demo-admin-token",
    "type": "file",
    "recycle_bin": True,
    "history": {"enabled": False},
    "spaces": {
        "-": [
            "contracts/2023/acme.pdf",
            "docs/handbook.pdf",
            "docs/drafts/handbook-v0.docx",
            "photos/2024/beach.jpg",
            "photos/2024/beach.jpg.part",
            "photos/2024/city.jpg",
            "photos/archive/",
            "tmp/upload-1.part",
            "tmp/cache/thumb.png",
            "readme.txt",
        ],
    },
}


def split_path(path: str) -> tuple[str, ...] | None:
    """Segments of a relative path, or None when a segment is `.`/`..` or holds a bad character."""
    # One search of the whole path: "/" is not among the characters it looks for.
    if _UNUSABLE_CHAR.search(path) is not None:
        return None
    segments = tuple(filter(None, path.split("/")))
    if "." in segments or ".." in segments:
        return None
    if len(path) > 255 and max(map(len, segments), default=0) > 255:
        return None
    return segments


def usable_name(name: str, *, clean: bool = False) -> bool:
    """Whether one non-empty path segment passes `split_path`'s checks; `clean`: it is known to
    hold no character a name may not (`clean_text`)."""
    return ((clean or _UNUSABLE_CHAR.search(name) is None) and name not in (".", "..")
            and len(name) <= 255)


def clean_text(texts: Iterable[str]) -> bool:
    """Whether none of `texts` holds a character no name may hold: one search of them all."""
    return _UNUSABLE_CHAR.search("/".join(texts)) is None


def parse_seed(doc: object, *, source: str = "seed") -> Seed:
    """Validate a seed document; every problem raises `SeedError` naming the key."""
    if not isinstance(doc, Mapping):
        raise SeedError(f"{source}: the seed must be a mapping")
    unknown = set(doc) - {"library", "secret", "token", "type", "recycle_bin", "history",
                          "spaces", "recycled", "recycle_retention_days"}
    if unknown:
        raise SeedError(f"{source}: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    library = doc.get("library")
    if not isinstance(library, str) or not library or "/" in library:
        raise SeedError(f"{source}: 'library' must be a non-empty string without '/'")
    secret = doc.get("secret")
    if not isinstance(secret, str) or not secret:
        raise SeedError(f"{source}: 'secret' must be a non-empty string")
    token = doc.get("token")
    if token is not None and (not isinstance(token, str) or not token):
        raise SeedError(f"{source}: 'token' must be a non-empty string")
    kind = doc.get("type", "file")
    if kind not in ("file", "media"):
        raise SeedError(f"{source}: 'type' must be 'file' or 'media'")
    recycle_bin = doc.get("recycle_bin", True)
    if not isinstance(recycle_bin, bool):
        raise SeedError(f"{source}: 'recycle_bin' must be true or false")
    history = doc.get("history") or {}
    if not isinstance(history, Mapping) or set(history) - {"enabled", "earlier_versions"}:
        raise SeedError(f"{source}: 'history' must be a mapping with 'enabled' "
                        "(and optionally 'earlier_versions')")
    enabled = history.get("enabled", False)
    versions = history.get("earlier_versions", 0)
    if not isinstance(enabled, bool):
        raise SeedError(f"{source}: 'history.enabled' must be true or false")
    if not isinstance(versions, int) or isinstance(versions, bool) or versions < 0:
        raise SeedError(f"{source}: 'history.earlier_versions' must be a non-negative integer")
    spaces = doc.get("spaces")
    if not isinstance(spaces, Mapping) or not spaces:
        raise SeedError(f"{source}: 'spaces' must be a non-empty mapping of space id to paths")
    parsed: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    attributes: dict[str, dict[str, Attributes]] = {}
    for space, paths in spaces.items():
        if not isinstance(space, str) or not space or "/" in space:
            raise SeedError(f"{source}: space id {space!r} must be a non-empty string without '/'")
        if space == "-" and len(spaces) > 1:
            raise SeedError(f"{source}: space '-' (single-tenant) cannot sit beside other spaces")
        files, dirs, given = _parse_paths(paths, f"{source}: spaces.{space}")
        parsed[space] = (files, dirs)
        if given:
            attributes[space] = given
    retention = doc.get("recycle_retention_days", 30)
    if not isinstance(retention, int) or isinstance(retention, bool) or not 0 < retention <= 10000:
        raise SeedError(f"{source}: 'recycle_retention_days' must be an integer in (0, 10000]")
    recycled = _parse_recycled(doc.get("recycled"), parsed, source)
    return Seed(library=library, secret=secret, token=token, media=kind == "media",
                recycle_bin=recycle_bin, history_enabled=enabled, earlier_versions=versions,
                spaces=parsed, attributes=attributes, recycled=recycled,
                recycle_retention_days=retention)


def _parse_recycled(
    doc: object, spaces: Mapping[str, object], source: str
) -> dict[str, tuple[SeededBinItem, ...]]:
    """`recycled: {SPACE: [{path, removed, size?, mtime?}, ...]}`: each space's bin."""
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise SeedError(f"{source}: 'recycled' must be a mapping of space id to bin items")
    out: dict[str, tuple[SeededBinItem, ...]] = {}
    for space, entries in doc.items():
        where = f"{source}: recycled.{space}"
        if space not in spaces:
            raise SeedError(f"{where}: no such space in 'spaces'")
        if not isinstance(entries, list):
            raise SeedError(f"{where}: must be a list of bin items")
        items: list[SeededBinItem] = []
        for index, entry in enumerate(entries):
            here = f"{where}[{index}]"
            if not isinstance(entry, Mapping) or "removed" not in entry:
                raise SeedError(f"{here}: a bin item is a mapping with 'path' and 'removed'")
            path, attributes = seed_entry({k: v for k, v in entry.items() if k != "removed"},
                                          here)
            segments = split_path(path)
            if not segments:
                raise SeedError(f"{here}: invalid path {path!r}")
            removed = _instant(entry["removed"], f"{here}: 'removed'")
            size, mtime = attributes or (None, None)
            items.append(SeededBinItem("/".join(segments), path.endswith("/"), removed,
                                       size, mtime))
        out[str(space)] = tuple(sorted(items, key=lambda item: item.removed))
    return out


def _instant(value: object, what: str) -> float:
    """Epoch seconds from an ISO-8601 time (UTC when no zone is given)."""
    if isinstance(value, dt.datetime):  # YAML reads an unquoted timestamp as a datetime
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise SeedError(f"{what} must be an ISO-8601 UTC time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _parse_paths(
    paths: object, where: str
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Attributes]]:
    if paths is None:
        return (), (), {}
    if not isinstance(paths, list):
        raise SeedError(f"{where}: must be a list of paths")
    files: set[str] = set()
    dirs: set[str] = set()
    given: dict[str, Attributes] = {}
    for index, entry in enumerate(paths):
        path, attributes = seed_entry(entry, f"{where}[{index}]")
        segments = split_path(path)
        if not segments:
            raise SeedError(f"{where}[{index}]: invalid path {path!r}")
        if path.endswith("/") and attributes is not None:
            raise SeedError(f"{where}[{index}]: size and mtime are for files, not directories")
        (dirs if path.endswith("/") else files).add("/".join(segments))
        if attributes is not None:
            given["/".join(segments)] = attributes
    # Every ancestor of an entry is a directory; a name cannot be both a file and a directory.
    for path in list(files) + list(dirs):
        cut = path.rfind("/")
        while cut > 0 and path[:cut] not in dirs:
            dirs.add(path[:cut])
            cut = path.rfind("/", 0, cut)
    clash = files & dirs
    if clash:
        raise SeedError(f"{where}: {min(clash)!r} is both a file and a directory")
    return tuple(sorted(files)), tuple(sorted(dirs)), given


def seed_entry(entry: object, where: str) -> tuple[str, Attributes | None]:
    """A seed (or `/_emulator/files`) entry: a path, or `{path, size, mtime}` (either
    attribute may be left out)."""
    if isinstance(entry, str):
        return entry, None
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise SeedError(f"{where}: an entry is a path or a mapping with 'path'")
    unknown = set(entry) - {"path", "size", "mtime"}
    if unknown:
        raise SeedError(f"{where}: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    size = entry.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise SeedError(f"{where}: 'size' must be a non-negative integer of bytes")
    mtime = entry.get("mtime")
    epoch = None if mtime is None else _instant(mtime, f"{where}: 'mtime'")
    return entry["path"], (size, epoch)


def load_seed_file(path: str | Path) -> Seed:
    """Read and validate a YAML seed file; unreadable or invalid files raise `SeedError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SeedError(f"{path}: cannot read seed file: {error.strerror or error}") from error
    try:
        doc = yaml.load(text, Loader=SEED_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise SeedError(f"{where}: {problem}") from error
    return parse_seed(doc, source=str(path))
