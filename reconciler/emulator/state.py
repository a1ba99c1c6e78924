"""The library's state and the operations every endpoint shares.

`Library` holds what a seed describes (spaces and their trees, recycle bins, history settings)
plus issued tokens and tasks, and implements the checks and mutations the endpoint modules
(`api_content`, `api_recycled`, `api_library`) build on: authentication, grants, locating
paths, deleting into the bin, restoring, tasks. It does no locking and no HTTP; `core.Emulator`
serialises calls to it and turns `Reply`s into responses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_json_string
from typing import Any

import msgspec

from reconciler import wirejson

from .clock import Clock
from .errors import ApiError
from .faults import Faults
from .listing import Lister
from .seed import Seed, SeededBinItem, split_path
from .tree import (
    Dir,
    Metadata,
    build_tree,
    content_type,
    iso_time,
    kinds,
    media_type,
)

ADMIN_GRANTS = frozenset({"admin", "space_admin"})
DELETE_GRANTS = frozenset({"delete_file", "delete_file_permanent", "delete_directory",
                           "delete_directory_permanent"})
MAX_PERIOD = 315360000  # ten years: the longest token period
MAX_BATCH = 1000
MAX_PAGE_WINDOW = 10000  # page * page_size
DEFAULT_RETENTION_DAYS = 30
TOKEN_TRANSPORTS = ("header", "query", "both")


@dataclass
class Reply:
    status: int
    doc: Any = None  # JSON-able body; None means no body
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # an already encoded JSON body (wins over `doc`)


@dataclass
class Call:
    """One parsed API request."""

    method: str
    resource: str
    parts: list[str]
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    space: str | None = None
    path: str | None = None
    token: Token | None = None
    parsed: tuple[Any, Exception | None] | None = field(default=None, repr=False)
    """The body as `json_body` answers it: (document, None) or (None, what it raises)."""

    def flag(self, name: str) -> bool:
        value = self.query.get(name)
        return value is not None and value.strip().lower() not in ("0", "false")

    def parse_body(self) -> None:
        """Decode the JSON body now (the emulator does it before taking its state lock)."""
        if self.parsed is not None:
            return
        if not self.body.strip():
            self.parsed = (None, None)
            return
        try:
            self.parsed = (wirejson.loads(self.body), None)
        except ValueError:
            self.parsed = (None, ApiError(400, "BadRequest",
                                          "The request body is not valid JSON."))
        except Exception as error:  # too deeply nested: a server failure, when it is read
            self.parsed = (None, error)

    def json_body(self) -> Any:
        self.parse_body()
        assert self.parsed is not None
        doc, error = self.parsed
        if error is not None:
            raise error
        return doc


@dataclass
class Token:
    value: str
    spaces: frozenset[str] | None  # None: every space
    grants: frozenset[str]
    period: int
    expires: float | None  # None: never (the seed's fixed admin token)
    user_id: str = ""

    def has(self, *grants: str) -> bool:
        return bool(self.grants & ADMIN_GRANTS) or bool(self.grants.intersection(grants))


class Recycled(msgspec.Struct, gc=False):
    """A recycle-bin item. Left out of the cyclic collector's scans (no cycle runs through
    one): a batch of 1,000 deletes adds 1,000 to a bin that grows to hundreds of thousands,
    which every collection would otherwise scan again."""

    id: int
    original: tuple[str, ...]
    kind: str  # dir | file | image | video
    removal: float
    node: Dir | None  # the detached subtree of a recycled directory
    file_key: str | None  # metadata key of a recycled file
    retention_days: int = DEFAULT_RETENTION_DAYS
    size: int | None = None

    def expires(self) -> float:
        return self.removal + self.retention_days * 86400


@dataclass
class Task:
    id: int
    space: str | None  # None: a library-level task
    status: int
    result: Any
    polls_left: int


class SpaceState:
    """One space: its tree, its recycle bin (recycledItemId -> Recycled) and its listing cache."""

    def __init__(self, space_id: str, root: Dir, meta: Metadata | None = None) -> None:
        self.id = space_id
        self.root = root
        self.meta = meta or Metadata(space_id)
        # Ids only grow, so insertion order is id order.
        self.bin: dict[int, Recycled] = {}
        self.lister = Lister(self.meta)
        self.retention_days = DEFAULT_RETENTION_DAYS


def parse_bool(value: object) -> bool | None:
    """true/false, 1/0, "1"/"0", "true"/"false" (any case); None when it is none of those."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", ""):
            return True
        if lowered in ("0", "false"):
            return False
    return None


def int_param(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ApiError(400, "ParamInvalid", f"{name} must be an integer.") from error


class Library:
    """One SMH media library: the seed's content, tokens, tasks and history settings."""

    def __init__(self, seed: Seed, clock: Clock, token_transport: str = "both") -> None:
        self.seed = seed
        self.clock = clock
        self.set_token_transport(token_transport)
        self.faults = Faults()
        self.tokens: dict[str, Token] = {}
        self.last_etag = 0
        self.load_seed_state()
        self.restore_admin_token()

    def set_token_transport(self, value: str) -> None:
        if value not in TOKEN_TRANSPORTS:
            raise ValueError(f"token_transport must be one of {', '.join(TOKEN_TRANSPORTS)}")
        self.token_transport = value

    def restore_admin_token(self) -> None:
        if self.seed.token is not None:
            self.tokens[self.seed.token] = Token(self.seed.token, None, frozenset({"admin"}),
                                                 MAX_PERIOD, None)

    def load_seed_state(self) -> None:
        seed = self.seed
        self.spaces: dict[str, SpaceState] = {
            space: SpaceState(space, build_tree(space, files, dirs),
                              Metadata(space, seed.attributes.get(space)))
            for space, (files, dirs) in seed.spaces.items()
        }
        self.next_recycled = 1
        for space_state in self.spaces.values():
            space_state.retention_days = seed.recycle_retention_days
        for space_id, bin_items in seed.recycled.items():
            self.seed_bin(self.spaces[space_id], bin_items)
        self.next_task = 1
        self.next_write = 1
        self.tasks: dict[int, Task] = {}
        self.history_enabled = seed.history_enabled
        self.recycle_bin = seed.recycle_bin
        self.history_config: dict[str, int] = {
            "fileHistoryCount": 10, "fileHistoryExpireDay": 0, "mergeInterval": 0}
        self.earlier_versions = seed.earlier_versions
        self.last_history_clear: float | None = None

    def seed_bin(self, space: SpaceState, items: tuple[SeededBinItem, ...]) -> None:
        """Put a seed's bin items in a space's bin, oldest first (ids grow with removal)."""
        for seeded in items:
            segments = tuple(seeded.path.split("/"))
            key = f"{seeded.path}\0recycled-{self.next_recycled}"
            if seeded.dir:
                node: Dir | None = Dir(segments[-1], None, key, seeded.removed,
                                       int(seeded.removed * 1000))
                kind, file_key = "dir", None
            else:
                node, file_key = None, key
                kind = media_type(segments[-1], media=self.seed.media)
                space.meta.attributes[key] = (seeded.size, seeded.mtime)
            space.bin[self.next_recycled] = Recycled(
                self.next_recycled, segments, kind, seeded.removed, node, file_key,
                space.retention_days)
            self.next_recycled += 1

    def state(self) -> dict[str, Any]:
        """The `/_emulator/state` document."""
        spaces: dict[str, Any] = {}
        for space_id, space in sorted(self.spaces.items()):
            spaces[space_id] = {
                "paths": sorted(path for path, _ in space.root.walk()),
                "recycled": [
                    {"recycledItemId": item.id, "originalPath": "/".join(item.original),
                     "type": item.kind}
                    for item in self.bin(space).values()
                ],
            }
        return {"spaces": spaces, "history_enabled": self.history_enabled}

    def check_library(self, call: Call) -> None:
        if not call.parts:
            raise ApiError(404, "RouteNotFound")
        if call.parts[0] != self.seed.library:
            raise ApiError(404, "LibraryNotFound")

    def authenticate(self, call: Call) -> Token:
        # A server that reads only one of the two places answers as if no token was sent.
        value = call.query.get("access_token", "") if self.token_transport != "header" else ""
        if not value and self.token_transport != "query":
            header = call.headers.get("authorization", "")
            if header[:7].lower() == "bearer ":
                value = header[7:].strip()
        if not value:
            raise ApiError(400, "EmptyAccessToken")
        token = self.tokens.get(value)
        now = self.clock.now()
        if token is None or (token.expires is not None and token.expires <= now):
            raise ApiError(403, "InvalidAccessToken")
        if token.expires is not None:
            token.expires = now + token.period  # sliding expiry on every use
        call.token = token
        return token

    def space(self, call: Call, token: Token, space_id: str) -> SpaceState:
        call.space = space_id
        space = self.spaces.get(space_id)
        if space is None:
            raise ApiError(404, "SpaceNotFound")
        if token.spaces is not None and space_id not in token.spaces:
            raise ApiError(403, "AccessTokenNotMatchSpace")
        return space

    def space_call(self, call: Call) -> tuple[Token, SpaceState, list[str]]:
        """Library, token and space checks for `/{resource}/{L}/{S}/...`; the rest of the
        segments are returned."""
        self.check_library(call)
        token = self.authenticate(call)
        if len(call.parts) < 2:
            raise ApiError(404, "RouteNotFound")
        space = self.space(call, token, call.parts[1])
        return token, space, call.parts[2:]

    @staticmethod
    def require(token: Token, *grants: str) -> None:
        if not token.has(*grants):
            raise ApiError(403, "NoPermission")

    def bin_enabled(self) -> None:
        if not self.recycle_bin:
            raise ApiError(400, "RecycleBinNotEnabled")

    def touch(self, d: Dir, now: float | None = None) -> None:
        """A directory's content changed (at `now`, default the clock's)."""
        if now is None:
            now = self.clock.now()
        self.last_etag = max(self.last_etag + 1, int(now * 1000), d.etag + 1)
        d.etag = self.last_etag
        d.mtime = now

    @staticmethod
    def path_segments(segments: list[str]) -> tuple[str, ...]:
        checked = split_path("/".join(segments))
        if checked is None:
            raise ApiError(400, "InvalidSpaceOrDirectoryPath")
        return checked

    @staticmethod
    def find_dir(space: SpaceState, segments: tuple[str, ...]) -> Dir | None:
        node: Dir | None = space.root
        for name in segments:
            assert node is not None
            node = node.child_dir(name)
            if node is None:
                return None
        return node

    def locate(self, space: SpaceState,
               segments: tuple[str, ...]) -> tuple[str, Dir, str] | None:
        """("dir", the directory, name) or ("file", its parent, name), or None."""
        if not segments:
            return "dir", space.root, ""
        parent = self.find_dir(space, segments[:-1])
        if parent is None:
            return None
        return self.locate_child(parent, segments[-1])

    @staticmethod
    def locate_child(parent: Dir, name: str) -> tuple[str, Dir, str] | None:
        """`locate` for an entry of a directory already found."""
        child = parent.child_dir(name)
        if child is not None:
            return "dir", child, name
        if parent.has_file(name):
            return "file", parent, name
        return None

    # Listing pages render up to a thousand items, so items are written as JSON text directly
    # (about a third cheaper than dicts through json.dumps); the dict forms parse that text,
    # so both always agree.
    @staticmethod
    def dir_item_json(d: Dir, path_prefix: str) -> str:
        """A directory item; `path_prefix` is the parent's path as JSON without its "]"."""
        name = encode_json_string(d.name)
        return (f'{{"name":{name},"path":{path_prefix}{name}],"type":"dir",'
                f'"creationTime":"{iso_time(d.ctime)}","modificationTime":"{iso_time(d.mtime)}",'
                f'"eTag":"{d.etag}"}}')

    def file_item_json(self, space_id: str, parent: Dir, name: str, path_prefix: str) -> str:
        return self.file_items_json(self.spaces[space_id], parent, [name], path_prefix)[0]

    def file_items_json(self, space: SpaceState, parent: Dir, names: list[str],
                        path_prefix: str) -> list[str]:
        """The items of files of `parent`, one per name."""
        listed = space.meta.listed
        media = self.seed.media
        entry_types = self.faults.entry_types
        where = "/".join(parent.segments()) if entry_types else ""
        items: list[str] = []
        for name, key in zip(names, parent.file_keys_of(names), strict=True):
            ctime, mtime, size, crc64, etag, version = listed(key)
            _, _, kind, mime = kinds(name, media)
            if entry_types:
                path = f"{where}/{name}" if where else name
                if path in entry_types:
                    kind = encode_json_string(entry_types[path])
            encoded = encode_json_string(name)
            items.append(f'{{"name":{encoded},"path":{path_prefix}{encoded}],"type":{kind},'
                         f'"creationTime":"{ctime}","modificationTime":"{mtime}",'
                         f'"size":"{size}","crc64":"{crc64}","eTag":{etag},'
                         f'"contentType":{mime},"versionId":{version}}}')
        return items

    def dir_item(self, d: Dir, path: list[str]) -> dict[str, Any]:
        item: dict[str, Any] = json.loads(self.dir_item_json(d, path_prefix(path[:-1])))
        return item

    def file_item(self, space_id: str, parent: Dir, name: str,
                  path: list[str]) -> dict[str, Any]:
        item: dict[str, Any] = json.loads(
            self.file_item_json(space_id, parent, name, path_prefix(path[:-1])))
        return item

    def permanent_query(self, call: Call) -> bool:
        raw = call.query.get("permanent")
        if raw is None:
            return False
        value = parse_bool(raw)
        if value is None:
            raise ApiError(400, "ParamInvalid", "permanent must be 0 or 1.")
        return value

    def delete_grant(self, kind: str, permanent: bool) -> str:
        base = "delete_directory" if kind == "dir" else "delete_file"
        return f"{base}_permanent" if permanent and self.recycle_bin else base

    def delete(self, space: SpaceState, segments: tuple[str, ...], expect: str | None,
               permanent: bool, found: tuple[str, Dir, str] | None = None,
               now: float | None = None) -> int | None:
        """Delete a file or directory subtree (at `now`, default the clock's); its
        recycledItemId, or None when permanent."""
        if not segments:
            raise ApiError(400, "RootDirectoryNotAllowed")
        self.check_fail_paths(segments)
        if found is None:
            found = self.locate(space, segments)
        missing = "DirectoryNotFound" if expect == "dir" else "FileNotFound"
        if found is None or (expect is not None and found[0] != expect):
            raise ApiError(404, missing)
        kind, node, name = found
        if kind == "dir":
            parent = node.parent
            assert parent is not None
            parent.remove_dir(name)
            node.parent = None
            return self.removed(space, segments, parent, node, None, permanent, now)
        return self.removed(space, segments, node, None, node.remove_file(name), permanent, now)

    def removed(self, space: SpaceState, segments: tuple[str, ...], parent: Dir,
                subtree: Dir | None, file_key: str | None, permanent: bool,
                now: float | None) -> int | None:
        """The rest of a deletion, once the entry at `segments` (a directory's `subtree`, or
        the file of `file_key`) is out of `parent`: the parent changed, and the entry goes to
        the bin unless `permanent`. Its recycledItemId, or None."""
        if now is None:
            now = self.clock.now()
        self.touch(parent, now)
        return self.recycle(space, segments, subtree, file_key, permanent, now)

    def recycle(self, space: SpaceState, segments: tuple[str, ...], subtree: Dir | None,
                file_key: str | None, permanent: bool, now: float) -> int | None:
        """`removed` but for touching the parent: the entry goes to the bin unless
        `permanent`. Its recycledItemId, or None."""
        if permanent or not self.recycle_bin or self.faults.recycle_bin_off:
            return None
        kind = "dir" if subtree is not None else kinds(segments[-1], self.seed.media)[0]
        item_id = self.next_recycled
        self.next_recycled = item_id + 1
        space.bin[item_id] = Recycled(item_id, segments, kind, now, subtree, file_key,
                                      space.retention_days)
        return item_id

    def check_fail_paths(self, segments: tuple[str, ...]) -> None:
        if not self.faults.fail_paths:
            return
        path = "/".join(segments)
        for failing, fault in self.faults.fail_paths.items():
            if failing == path or failing.startswith(path + "/"):
                raise ApiError(fault.status, fault.code, fault.message)

    def submit_task(self, space_id: str | None, status: int, result: Any) -> Reply:
        task = Task(self.next_task, space_id, status, result, self.faults.task_polls)
        self.next_task += 1
        self.tasks[task.id] = task
        return Reply(202, {"taskId": task.id, "id": task.id})

    def bin(self, space: SpaceState) -> dict[int, Recycled]:
        """The space's bin, after dropping items whose retention has run out."""
        now = self.clock.now()
        expired = [i for i, item in space.bin.items() if item.expires() <= now]
        for item_id in expired:
            del space.bin[item_id]
        return space.bin

    def history_files(self, space: SpaceState) -> int:
        """The earlier file versions kept in a space. The seed gives one library-wide count; it
        is held by the first space (in id order) so that the spaces' counts add up to it."""
        return self.earlier_versions if space.id == min(self.spaces) else 0

    def counts(self, space: SpaceState, segments: tuple[str, ...],
               kind: str = "normal", *, sizes: bool = True) -> tuple[int, int, int]:
        """(bytes, files, directories) under a directory: in the tree (`normal`), in the
        recycle bin (`recycle`: items removed from inside it) or in history (`history`).
        Bytes are 0 unless `sizes`."""
        meta = space.meta if sizes else None
        if kind == "history":
            return (0, self.history_files(space), 0) if not segments else (0, 0, 0)
        if kind == "recycle":
            size = files = dirs = 0
            depth = len(segments)
            for item in self.bin(space).values():
                if len(item.original) <= depth or item.original[:depth] != segments:
                    continue
                if item.node is not None:
                    inner_size, inner_files, inner_dirs = item.node.totals(meta)
                    size, files, dirs = size + inner_size, files + inner_files, (
                        dirs + inner_dirs + 1)
                else:
                    size += meta(item.file_key or "").size if meta is not None else 0
                    files += 1
            return size, files, dirs
        d = self.find_dir(space, segments)
        if d is None:
            raise ApiError(404, "DirectoryNotFound")
        return d.totals(meta)

    def restore(self, space: SpaceState, item: Recycled, strategy: str,
                fallback: bool) -> list[str]:
        parent_path = item.original[:-1]
        parent = self.find_dir(space, parent_path)
        if parent is None:
            if not fallback:
                raise ApiError(404, "DirectoryNotFound")
            parent, parent_path = space.root, ()
        name = item.original[-1]
        is_dir = item.node is not None
        if parent.has_child(name):
            if strategy == "overwrite" and not is_dir and parent.has_file(name):
                parent.remove_file(name)
            elif strategy == "ask" or strategy == "overwrite":
                raise ApiError(409, "SameNameDirectoryOrFileExists")
            else:
                name = free_name(parent, name, is_dir=is_dir)
        if item.node is not None:
            item.node.name = name
            parent.add_dir(item.node)
        else:
            parent.add_file(name, item.file_key)
        self.touch(parent)
        del space.bin[item.id]
        return [*parent_path, name]

    def recycled_item(self, space: SpaceState, item: Recycled, *,
                      info: bool = False) -> dict[str, Any]:
        if item.size is None:
            item.size = (item.node.total_size(space.meta) if item.node is not None
                         else space.meta(item.file_key or "").size)
        if item.node is not None:
            ctime, mtime = item.node.ctime, item.node.mtime
        else:
            meta = space.meta(item.file_key or "")
            ctime, mtime = meta.ctime, meta.mtime
        remaining = (item.expires() - self.clock.now()) // 86400
        doc: dict[str, Any] = {
            "recycledItemId": item.id, "originalPath": list(item.original), "spaceId": space.id,
            "name": item.original[-1], "type": item.kind, "size": str(item.size),
            "creationTime": iso_time(ctime), "modificationTime": iso_time(mtime),
            "removalTime": iso_time(item.removal), "remainingTime": max(0, int(remaining)),
        }
        if info and item.node is None:
            meta = space.meta(item.file_key or "")
            doc.update(contentType=content_type(item.original[-1]), eTag=meta.etag,
                       crc64=str(meta.crc64))
        return doc

    def write_file(self, space: SpaceState, path: str, size: int | None,
                   mtime: float | None) -> None:
        """Create or overwrite a file as an uploading client would: missing parents are
        created, and an overwritten file gets new metadata (eTag, crc64, times)."""
        segments = split_path(path)
        if not segments:
            raise ApiError(400, "ParamInvalid", f"invalid path {path!r}")
        parent = space.root
        for name in segments[:-1]:
            if parent.has_file(name):
                raise ApiError(409, "SameNameDirectoryOrFileExists")
            parent = parent.child_dir(name) or self.new_dir(parent, name)
        name = segments[-1]
        if parent.child_dir(name) is not None:
            raise ApiError(409, "SameNameDirectoryOrFileExists")
        if parent.has_file(name):
            parent.remove_file(name)
        key = f"{'/'.join(segments)}\0{self.next_write}"
        self.next_write += 1
        parent.add_file(name, key)
        space.meta.attributes[key] = (size, self.clock.now() if mtime is None else mtime)
        self.touch(parent)

    def new_dir(self, parent: Dir, name: str) -> Dir:
        key = "/".join([*parent.segments(), name])
        now = self.clock.now()
        node = Dir(name, parent, key, now, 0)
        self.touch(node)
        parent.add_dir(node)
        self.touch(parent)
        return node


def path_prefix(segments: list[str]) -> str:
    """A path array as JSON text, open for one more element: `["a","b",` (or `[`)."""
    return "[" + "".join(encode_json_string(s) + "," for s in segments)


def error_doc(error: ApiError) -> dict[str, Any]:
    """The error body; `requestId` is filled in when the response is rendered."""
    return {"status": error.status, "code": error.code, "message": error.message,
            "requestId": ""}


def free_name(parent: Dir, name: str, *, is_dir: bool) -> str:
    """`name (1)`, `name (2)`, ... (before the extension for files): the first free one."""
    stem, ext = name, ""
    dot = name.rfind(".")
    if not is_dir and dot > 0:
        stem, ext = name[:dot], name[dot:]
    n = 1
    while True:
        candidate = f"{stem} ({n}){ext}"
        if not parent.has_child(candidate):
            return candidate
        n += 1


