"""The emulator's core: SMH library state and the request handler, free of any HTTP server.

`Emulator.handle` takes an `HttpRequest` (method, raw target, headers, body) and returns an
`HttpResponse`; the adapters in `server` turn that into a WSGI app, an httpx transport and a
loopback server. All state sits behind one lock, so the threaded server is safe; injected
latency is slept outside the lock so slow requests do not serialise the others.

The choices made where SMH's documentation is silent are listed in this package's README
("Choices where the docs are silent").
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
from sortedcontainers import SortedDict

from .clock import Clock, as_clock
from .errors import STATUS_CODES, ApiError, message_for
from .faults import Faults, FaultsError, TokenBucket
from .listing import Lister, MarkerError, Order, decode_marker, encode_marker
from .seed import Seed, SeedError, load_seed_file, parse_seed, split_path
from .tree import (
    Dir,
    build_tree,
    content_type,
    file_meta,
    iso_time,
    kind_and_content_type,
    media_type,
)

ADMIN_GRANTS = frozenset({"admin", "space_admin"})
KNOWN_GRANTS = frozenset({
    "admin", "create_space", "delete_space", "space_admin",
    "create_directory", "delete_directory", "delete_directory_permanent", "move_directory",
    "copy_directory", "upload_file", "upload_file_force", "begin_upload", "begin_upload_force",
    "confirm_upload", "create_symlink", "create_symlink_force", "delete_file",
    "delete_file_permanent", "move_file", "move_file_force", "copy_file", "copy_file_force",
    "delete_recycled", "restore_recycled", "delete_history", "set_history_latest", "read_only",
})
DELETE_GRANTS = frozenset({"delete_file", "delete_file_permanent", "delete_directory",
                           "delete_directory_permanent"})
DEFAULT_PERIOD = 86400
MIN_PERIOD = 300
MAX_PERIOD = 315360000
MAX_BATCH = 1000
MAX_PAGE_WINDOW = 10000
BIN_MAX_LIMIT = 100
SPACE_MAX_LIMIT = 1000
DEFAULT_RETENTION_DAYS = 30
HISTORY_CLEAR_INTERVAL = 60.0
REDACTED_PARAMS = frozenset({"access_token", "library_secret"})
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # percent-encoded path, optionally followed by "?query"
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    drop: bool = False  # close the connection without answering


@dataclass
class Reply:
    status: int
    doc: Any = None  # JSON-able body; None means no body
    headers: dict[str, str] = field(default_factory=dict)


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

    def flag(self, name: str) -> bool:
        value = self.query.get(name)
        return value is not None and value.strip().lower() not in ("0", "false")

    def json_body(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise ApiError(400, "BadRequest", "The request body is not valid JSON.") from error


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


@dataclass
class Recycled:
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
    def __init__(self, space_id: str, root: Dir) -> None:
        self.id = space_id
        self.root = root
        self.bin: SortedDict = SortedDict()  # recycledItemId -> Recycled
        self.lister = Lister(space_id)
        self.retention_days = DEFAULT_RETENTION_DAYS


def _parse_bool(value: object) -> bool | None:
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


def _int_param(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ApiError(400, "ParamInvalid", f"{name} must be an integer.") from error


class Emulator:
    """An in-memory SMH library that answers SMH's business API (see the package README)."""

    def __init__(self, seed: Seed, *, clock: Clock | Callable[[], float] | None = None) -> None:
        self._seed = seed
        self.clock: Clock = as_clock(clock)
        self._lock = threading.RLock()
        self._tokens: dict[str, Token] = {}
        self._last_etag = 0
        self._faults = Faults()
        self._rng = random.Random()
        self._bucket: TokenBucket | None = None
        self._stats: Counter[str] = Counter()
        self._total = 0
        self._log: list[dict[str, Any]] = []
        self._load_seed_state()
        if seed.token is not None:
            self._tokens[seed.token] = Token(seed.token, None, frozenset({"admin"}),
                                             MAX_PERIOD, None)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_seed(cls, seed: Mapping[str, Any] | Seed, *,
                  clock: Clock | Callable[[], float] | None = None) -> Emulator:
        parsed = seed if isinstance(seed, Seed) else parse_seed(seed)
        return cls(parsed, clock=clock)

    @classmethod
    def from_seed_file(cls, path: str | Path, *,
                       clock: Clock | Callable[[], float] | None = None) -> Emulator:
        return cls(load_seed_file(path), clock=clock)

    def _load_seed_state(self) -> None:
        seed = self._seed
        self._spaces: dict[str, SpaceState] = {
            space: SpaceState(space, build_tree(space, files, dirs))
            for space, (files, dirs) in seed.spaces.items()
        }
        self._next_recycled = 1
        self._next_task = 1
        self._tasks: dict[int, Task] = {}
        self._history_enabled = seed.history_enabled
        self._history_config: dict[str, int] = {
            "fileHistoryCount": 10, "fileHistoryExpireDay": 0, "mergeInterval": 0}
        self._earlier_versions = seed.earlier_versions
        self._last_history_clear: float | None = None

    # -- public API ---------------------------------------------------------------------------
    @property
    def library(self) -> str:
        return self._seed.library

    @property
    def secret(self) -> str:
        return self._seed.secret

    @property
    def admin_token(self) -> str | None:
        return self._seed.token

    @property
    def seed(self) -> Seed:
        return self._seed

    @property
    def faults(self) -> Faults:
        return self._faults

    def state(self) -> dict[str, Any]:
        with self._lock:
            spaces: dict[str, Any] = {}
            for space_id, space in sorted(self._spaces.items()):
                spaces[space_id] = {
                    "paths": sorted(path for path, _ in space.root.walk()),
                    "recycled": [
                        {"recycledItemId": item.id, "originalPath": "/".join(item.original),
                         "type": item.kind}
                        for item in self._bin(space).values()
                    ],
                }
            return {"spaces": spaces, "history_enabled": self._history_enabled}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self._total, "requests": dict(sorted(self._stats.items()))}

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def set_faults(self, faults: Mapping[str, Any] | Faults) -> Faults:
        parsed = faults if isinstance(faults, Faults) else Faults.from_dict(faults)
        with self._lock:
            self._faults = parsed
            self._rng = random.Random(parsed.seed)
            self._bucket = (TokenBucket(parsed.rate_limit, self.clock.now())
                            if parsed.rate_limit else None)
        return parsed

    def reset(self) -> None:
        """Library state back to the seed; stats, log, tasks and faults cleared.
        Issued tokens stay valid."""
        with self._lock:
            self._load_seed_state()
            self._stats.clear()
            self._total = 0
            self._log.clear()
            self.set_faults(Faults())
            if self._seed.token is not None:
                self._tokens[self._seed.token] = Token(
                    self._seed.token, None, frozenset({"admin"}), MAX_PERIOD, None)

    # Adapters live in `server`; these delegate so callers need only the Emulator.
    def transport(self) -> httpx.BaseTransport:
        """An in-process httpx transport answering from this emulator."""
        from .server import EmulatorTransport
        return EmulatorTransport(self)

    @property
    def wsgi_app(self) -> Callable[..., Any]:
        from .server import make_wsgi_app
        return make_wsgi_app(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
        """Serve on loopback from a background thread (threaded); yields the base URL."""
        from .server import serve
        return serve(self, host=host, port=port)

    # -- request handling ---------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = secrets.token_hex(16)
        raw_path, _, raw_query = request.target.partition("?")
        segments = [s for s in unquote(raw_path).split("/") if s]
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(name, value)
        method = request.method.upper()
        if segments[:1] == ["_emulator"]:
            reply = self._control(method, segments[1:], request.body)
            return self._render(reply, request_id, head=method == "HEAD")
        if len(segments) < 3 or segments[:2] != ["api", "v1"]:
            reply = Reply(404, _error_doc(ApiError(404, "RouteNotFound")))
            return self._render(reply, request_id, head=method == "HEAD")
        call = Call(method, segments[2], segments[3:], query, request.headers, request.body)

        delay, injected, drop = self._admit(call)
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            if drop == "before":
                self._record(call, None, dropped=True)
                return HttpResponse(0, [], drop=True)
            if injected is not None:
                reply = Reply(injected.status, _error_doc(injected), dict(injected.headers))
            else:
                reply = self._dispatch(call)
            self._record(call, reply.status, dropped=drop == "after")
        if drop == "after":
            return HttpResponse(0, [], drop=True)
        return self._render(reply, request_id, head=method == "HEAD")

    def _admit(self, call: Call) -> tuple[float, ApiError | None, str | None]:
        """Count the request and decide its faults: (latency, injected error, drop phase)."""
        with self._lock:
            self._total += 1
            self._stats[f"{call.method} /api/v1/{call.resource}"] += 1
            faults = self._faults
            delay = faults.latency_ms / 1000.0
            if faults.jitter_ms:
                delay += self._rng.uniform(0, faults.jitter_ms) / 1000.0
            if self._bucket is not None:
                wait = self._bucket.take(self.clock.now())
                if wait > 0:
                    retry = faults.retry_after_s if faults.retry_after_s is not None else wait
                    return delay, ApiError(429, "RateLimitExceeded", headers={
                        "Retry-After": str(max(1, math.ceil(retry)))}), None
            if faults.error_rate and self._rng.random() < faults.error_rate:
                status = self._rng.choice(faults.error_statuses)
                headers = ({"Retry-After": str(max(0, math.ceil(faults.retry_after_s)))}
                           if faults.retry_after_s is not None else {})
                return delay, ApiError(status, STATUS_CODES.get(status, "InternalServerError"),
                                       headers=headers), None
            if faults.drop_rate and self._rng.random() < faults.drop_rate:
                return delay, None, faults.drop_phase
            return delay, None, None

    def _record(self, call: Call, status: int | None, *, dropped: bool) -> None:
        try:
            body = json.loads(call.body) if call.body.strip() else None
        except ValueError:
            body = None
        self._log.append({
            "method": call.method,
            "route": call.resource,
            "space": call.space,
            "path": call.path,
            "query": {k: ("***" if k in REDACTED_PARAMS else v) for k, v in call.query.items()},
            "body": body,
            "status": status,
            "dropped": dropped,
        })

    def _render(self, reply: Reply, request_id: str, *, head: bool) -> HttpResponse:
        headers = [("X-Request-Id", request_id)]
        headers.extend(reply.headers.items())
        body = b""
        if reply.doc is not None:
            if isinstance(reply.doc, dict) and "requestId" in reply.doc:
                reply.doc["requestId"] = request_id
            body = json.dumps(reply.doc, ensure_ascii=False, separators=(",", ":")).encode()
            headers.append(("Content-Type", JSON_TYPE))
        if head:
            body = b""
        return HttpResponse(reply.status, headers, body)

    def _dispatch(self, call: Call) -> Reply:
        handler = {
            "token": self._route_token,
            "directory": self._route_directory,
            "file": self._route_file,
            "batch": self._route_batch,
            "task": self._route_task,
            "recycled": self._route_recycled,
            "directory-history": self._route_history,
            "space": self._route_space,
        }.get(call.resource)
        try:
            if handler is None:
                raise ApiError(404, "RouteNotFound")
            return handler(call)
        except ApiError as error:
            return Reply(error.status, _error_doc(error), dict(error.headers))

    # -- shared checks ------------------------------------------------------------------------
    def _check_library(self, call: Call) -> None:
        if not call.parts:
            raise ApiError(404, "RouteNotFound")
        if call.parts[0] != self._seed.library:
            raise ApiError(404, "LibraryNotFound")

    def _authenticate(self, call: Call) -> Token:
        value = call.query.get("access_token", "")
        if not value:
            header = call.headers.get("authorization", "")
            if header[:7].lower() == "bearer ":
                value = header[7:].strip()
        if not value:
            raise ApiError(400, "EmptyAccessToken")
        token = self._tokens.get(value)
        now = self.clock.now()
        if token is None or (token.expires is not None and token.expires <= now):
            raise ApiError(403, "InvalidAccessToken")
        if token.expires is not None:
            token.expires = now + token.period  # sliding expiry on every use
        call.token = token
        return token

    def _space(self, call: Call, token: Token, space_id: str) -> SpaceState:
        call.space = space_id
        space = self._spaces.get(space_id)
        if space is None:
            raise ApiError(404, "SpaceNotFound")
        if token.spaces is not None and space_id not in token.spaces:
            raise ApiError(403, "AccessTokenNotMatchSpace")
        return space

    def _space_call(self, call: Call) -> tuple[Token, SpaceState, list[str]]:
        """Library, token and space checks for `/{resource}/{L}/{S}/...`; the rest of the
        segments are returned."""
        self._check_library(call)
        token = self._authenticate(call)
        if len(call.parts) < 2:
            raise ApiError(404, "RouteNotFound")
        space = self._space(call, token, call.parts[1])
        return token, space, call.parts[2:]

    @staticmethod
    def _require(token: Token, *grants: str) -> None:
        if not token.has(*grants):
            raise ApiError(403, "NoPermission")

    def _bin_enabled(self) -> None:
        if not self._seed.recycle_bin:
            raise ApiError(400, "RecycleBinNotEnabled")

    def _touch(self, d: Dir) -> None:
        now = self.clock.now()
        self._last_etag = max(self._last_etag + 1, int(now * 1000), d.etag + 1)
        d.etag = self._last_etag
        d.mtime = now

    @staticmethod
    def _path_segments(segments: list[str]) -> tuple[str, ...]:
        checked = split_path("/".join(segments))
        if checked is None:
            raise ApiError(400, "InvalidSpaceOrDirectoryPath")
        return checked

    @staticmethod
    def _find_dir(space: SpaceState, segments: tuple[str, ...]) -> Dir | None:
        node: Dir | None = space.root
        for name in segments:
            assert node is not None
            node = node.child_dir(name)
            if node is None:
                return None
        return node

    def _locate(self, space: SpaceState, segments: tuple[str, ...]
                ) -> tuple[str, Dir, str] | None:
        """("dir", the directory, name) or ("file", its parent, name), or None."""
        if not segments:
            return "dir", space.root, ""
        parent = self._find_dir(space, segments[:-1])
        if parent is None:
            return None
        name = segments[-1]
        child = parent.child_dir(name)
        if child is not None:
            return "dir", child, name
        if parent.has_file(name):
            return "file", parent, name
        return None

    # -- items --------------------------------------------------------------------------------
    @staticmethod
    def _dir_item(d: Dir, path: list[str]) -> dict[str, Any]:
        return {"name": d.name, "path": path, "type": "dir",
                "creationTime": iso_time(d.ctime), "modificationTime": iso_time(d.mtime),
                "eTag": str(d.etag)}

    def _file_item(self, space_id: str, parent: Dir, name: str,
                   path: list[str]) -> dict[str, Any]:
        meta = file_meta(space_id, parent.file_key(name))
        kind, mime = kind_and_content_type(name, media=self._seed.media)
        return {"name": name, "path": path, "type": kind,
                "creationTime": iso_time(meta.ctime), "modificationTime": iso_time(meta.mtime),
                "size": str(meta.size), "crc64": str(meta.crc64), "eTag": meta.etag,
                "contentType": mime, "versionId": meta.version}

    # -- /token -------------------------------------------------------------------------------
    def _route_token(self, call: Call) -> Reply:
        if not call.parts:
            if call.method not in ("GET", "POST"):
                raise ApiError(404, "RouteNotFound")
            return self._create_token(call)
        self._check_library(call)
        if len(call.parts) == 1 and call.method == "DELETE":
            return self._delete_user_tokens(call)
        if len(call.parts) != 2:
            raise ApiError(404, "RouteNotFound")
        value = call.parts[1]
        if call.method == "DELETE":
            self._tokens.pop(value, None)
            return Reply(204)
        if call.method != "POST":
            raise ApiError(404, "RouteNotFound")
        token = self._tokens.get(value)
        now = self.clock.now()
        if token is None or (token.expires is not None and token.expires <= now):
            raise ApiError(403, "InvalidAccessToken")
        if token.expires is not None:
            token.expires = now + token.period
        return Reply(200, {"accessToken": token.value, "expiresIn": token.period})

    def _create_token(self, call: Call) -> Reply:
        params: dict[str, Any] = dict(call.query)
        body = call.json_body() if call.method == "POST" else None
        if isinstance(body, dict):
            for name, value in body.items():
                params.setdefault(name, value if isinstance(value, str) else str(value))
        library, secret = params.get("library_id", ""), params.get("library_secret", "")
        if not library or not secret:
            raise ApiError(400, "EmptyLibraryIdOrSecret")
        if library != self._seed.library or secret != self._seed.secret:
            raise ApiError(404, "WrongLibraryIdOrSecret")
        grants = frozenset(g.strip() for g in params.get("grant", "").split(",") if g.strip())
        unknown = grants - KNOWN_GRANTS
        if unknown:
            raise ApiError(400, "ParamInvalid", f"Unknown grant: {', '.join(sorted(unknown))}.")
        space_ids = [s.strip() for s in params.get("space_id", "").split(",") if s.strip()]
        for space_id in space_ids:
            if space_id not in self._spaces:
                raise ApiError(404, "SpaceNotFound")
        spaces: frozenset[str] | None = frozenset(space_ids) if space_ids else None
        if spaces is None and self._seed.multi_space and "admin" not in grants:
            raise ApiError(400, "EmptySpaceId")
        try:
            period = int(params.get("period", DEFAULT_PERIOD))
        except ValueError:
            period = DEFAULT_PERIOD
        if period <= 0:
            period = DEFAULT_PERIOD
        period = min(max(period, MIN_PERIOD), MAX_PERIOD)
        value = "acctk" + secrets.token_hex(24)
        self._tokens[value] = Token(value, spaces, grants, period,
                                    self.clock.now() + period, params.get("user_id", ""))
        return Reply(200, {"accessToken": value, "expiresIn": period})

    def _delete_user_tokens(self, call: Call) -> Reply:
        secret = call.query.get("library_secret", "")
        if not secret:
            raise ApiError(400, "EmptyLibraryIdOrSecret")
        if secret != self._seed.secret:
            raise ApiError(404, "WrongLibraryIdOrSecret")
        users = {u for u in call.query.get("user_id", "").split(",") if u}
        if not users:
            raise ApiError(400, "ParamInvalid", "user_id is required.")
        for value in [v for v, t in self._tokens.items() if t.user_id in users]:
            del self._tokens[value]
        return Reply(204)

    # -- /directory ---------------------------------------------------------------------------
    def _route_directory(self, call: Call) -> Reply:
        token, space, rest = self._space_call(call)
        segments = self._path_segments(rest)
        call.path = "/".join(segments)
        if call.method == "GET":
            if call.flag("info"):
                return self._info(space, segments)
            return self._list(call, space, segments)
        if call.method == "HEAD":
            found = self._locate(space, segments)
            if found is None or found[0] != "dir":
                raise ApiError(404, "DirectoryNotFound")
            return Reply(200, None, {"ETag": str(found[1].etag)})
        if call.method == "PUT":
            return self._create_directory(call, token, space, segments)
        if call.method == "DELETE":
            permanent = self._permanent_query(call)
            self._require(token, self._delete_grant("dir", permanent))
            recycled = self._delete(space, segments, "dir", permanent)
            return Reply(204) if recycled is None else Reply(200, {"recycledItemId": recycled})
        raise ApiError(404, "RouteNotFound")

    def _info(self, space: SpaceState, segments: tuple[str, ...]) -> Reply:
        found = self._locate(space, segments)
        if found is None:
            raise ApiError(404, "FileNotFound")
        kind, node, name = found
        if kind == "dir":
            item = self._dir_item(node, list(segments))
            item.update(fileCount=node.file_count(), subDirCount=node.dir_count())
        else:
            item = self._file_item(space.id, node, name, list(segments))
        item["userId"] = ""
        return Reply(200, item)

    def _list(self, call: Call, space: SpaceState, segments: tuple[str, ...]) -> Reply:
        d = self._find_dir(space, segments)
        if d is None:
            raise ApiError(404, "DirectoryNotFound")
        etag = str(d.etag)
        if call.headers.get("if-none-match", "").strip().strip('"') == etag:
            return Reply(304, None, {"ETag": etag})
        order = self._order(call, {"name", "modificationTime", "size", "creationTime",
                                   "localCreationTime", "localModificationTime"})
        page_mode = any(k in call.query for k in ("page", "page_size", "by-page"))
        path = list(segments)
        doc: dict[str, Any] = {"path": path, "eTag": etag, "fileCount": d.file_count(),
                               "subDirCount": d.dir_count(),
                               "totalNum": d.file_count() + d.dir_count()}
        if page_mode:
            page = _int_param(call, "page", 1)
            size = _int_param(call, "page_size", 20)
            if page < 1 or size < 1:
                raise ApiError(400, "ParamInvalid", "page and page_size must be positive.")
            size = min(size, self._faults.max_list_limit)
            if page * size > MAX_PAGE_WINDOW:
                raise ApiError(400, "ParamInvalid", "page * page_size must be <= 10000.")
            entries = list(islice(space.lister.entries(d, order), (page - 1) * size, page * size))
        else:
            limit = min(max(_int_param(call, "limit", 20), 1), self._faults.max_list_limit)
            after = None
            marker = call.query.get("marker", "")
            if marker:
                try:
                    after = decode_marker(marker, order)
                except MarkerError as error:
                    raise ApiError(404, "MarkerNotFound") from error
            entries = list(islice(space.lister.entries(d, order, after), limit + 1))
            if len(entries) > limit:
                entries.pop()
                doc["nextMarker"] = encode_marker(entries[-1], order)
        contents: list[dict[str, Any]] = []
        for kind, _key, name, node in entries:
            if kind == "d":
                assert node is not None
                contents.append(self._dir_item(node, [*path, name]))
            else:
                contents.append(self._file_item(space.id, d, name, [*path, name]))
        doc["contents"] = contents
        return Reply(200, doc, {"ETag": etag})

    @staticmethod
    def _order(call: Call, allowed: set[str]) -> Order:
        by = call.query.get("order_by") or call.query.get("orderBy") or "name"
        direction = (call.query.get("order_by_type") or call.query.get("orderByType")
                     or "asc").lower()
        if by not in allowed:
            raise ApiError(400, "ParamInvalid", f"Unsupported order_by: {by}.")
        if direction not in ("asc", "desc"):
            raise ApiError(400, "ParamInvalid", "order_by_type must be asc or desc.")
        only = {"onlyDir": "d", "onlyFile": "f", "": None}.get(call.query.get("filter", ""), "?")
        if only == "?":
            raise ApiError(400, "ParamInvalid", "filter must be onlyDir or onlyFile.")
        return Order(by=by, desc=direction == "desc",
                     union=call.query.get("sort_type", "") == "union", only=only)

    def _create_directory(self, call: Call, token: Token, space: SpaceState,
                          segments: tuple[str, ...]) -> Reply:
        self._require(token, "create_directory")
        if not segments:
            raise ApiError(400, "RootDirectoryNotAllowed")
        if call.json_body() is not None:
            raise ApiError(400, "ParamInvalid",
                           "Moving or copying directories is not supported by this emulator.")
        strategy = call.query.get("conflict_resolution_strategy") or "ask"
        if strategy not in ("ask", "rename"):
            raise ApiError(400, "InvalidConflictResolutionStrategy",
                           "conflict_resolution_strategy must be ask or rename.")
        node = space.root
        for name in segments[:-1]:
            if node.has_file(name):
                raise ApiError(409, "SameNameDirectoryOrFileExists")
            child = node.child_dir(name)
            if child is None:
                child = self._new_dir(node, name, space)
            node = child
        name = segments[-1]
        if node.has_child(name):
            if strategy == "ask" or (node.has_file(name) and strategy != "rename"):
                raise ApiError(409, "SameNameDirectoryOrFileExists")
            name = _free_name(node, name, is_dir=True)
        created = self._new_dir(node, name, space)
        path = [*segments[:-1], name]
        if strategy == "rename" or call.flag("with_inode"):
            return Reply(201, {"path": path, "creationTime": iso_time(created.ctime)})
        return Reply(201)

    def _new_dir(self, parent: Dir, name: str, space: SpaceState) -> Dir:
        key = "/".join([*parent.segments(), name])
        now = self.clock.now()
        node = Dir(name, parent, key, now, 0)
        self._touch(node)
        parent.add_dir(node)
        self._touch(parent)
        return node

    # -- /file --------------------------------------------------------------------------------
    def _route_file(self, call: Call) -> Reply:
        token, space, rest = self._space_call(call)
        segments = self._path_segments(rest)
        call.path = "/".join(segments)
        found = self._locate(space, segments) if segments else None
        if call.method == "DELETE":
            permanent = self._permanent_query(call)
            self._require(token, self._delete_grant("file", permanent))
            recycled = self._delete(space, segments, "file", permanent)
            return Reply(204) if recycled is None else Reply(200, {"recycledItemId": recycled})
        if call.method not in ("GET", "HEAD"):
            raise ApiError(404, "RouteNotFound")
        if found is None or found[0] != "file":
            raise ApiError(404, "FileNotFound")
        _, parent, name = found
        item = self._file_item(space.id, parent, name, list(segments))
        headers = {"x-smh-type": item["type"], "x-smh-creation-time": item["creationTime"],
                   "x-smh-content-type": item["contentType"], "x-smh-size": item["size"],
                   "x-smh-etag": item["eTag"], "x-smh-crc64": item["crc64"]}
        if call.method == "HEAD":
            return Reply(200, None, headers)
        url = f"https://emulator.invalid/{self.library}/{space.id}/{call.path}"
        if call.flag("info"):
            item.update(cosUrl=url, cosUrlExpiration=iso_time(self.clock.now() + 3600))
            return Reply(200, item)
        return Reply(302, None, {**headers, "Location": url})

    # -- deletes ------------------------------------------------------------------------------
    def _permanent_query(self, call: Call) -> bool:
        raw = call.query.get("permanent")
        if raw is None:
            return False
        value = _parse_bool(raw)
        if value is None:
            raise ApiError(400, "ParamInvalid", "permanent must be 0 or 1.")
        return value

    def _delete_grant(self, kind: str, permanent: bool) -> str:
        base = "delete_directory" if kind == "dir" else "delete_file"
        return f"{base}_permanent" if permanent and self._seed.recycle_bin else base

    def _delete(self, space: SpaceState, segments: tuple[str, ...], expect: str | None,
                permanent: bool, found: tuple[str, Dir, str] | None = None) -> int | None:
        """Delete a file or directory subtree; its recycledItemId, or None when permanent."""
        if not segments:
            raise ApiError(400, "RootDirectoryNotAllowed")
        self._check_fail_paths(segments)
        if found is None:
            found = self._locate(space, segments)
        missing = "DirectoryNotFound" if expect == "dir" else "FileNotFound"
        if found is None or (expect is not None and found[0] != expect):
            raise ApiError(404, missing)
        kind, node, name = found
        if kind == "dir":
            parent = node.parent
            assert parent is not None
            parent.remove_dir(name)
            node.parent = None
            recycled_kind = "dir"
            file_key = None
        else:
            parent = node
            file_key = parent.remove_file(name)
            recycled_kind = media_type(name, media=self._seed.media)
        self._touch(parent)
        if permanent or not self._seed.recycle_bin:
            return None
        item = Recycled(self._next_recycled, segments, recycled_kind, self.clock.now(),
                        node if kind == "dir" else None, file_key, space.retention_days)
        self._next_recycled += 1
        space.bin[item.id] = item
        return item.id

    def _check_fail_paths(self, segments: tuple[str, ...]) -> None:
        if not self._faults.fail_paths:
            return
        path = "/".join(segments)
        for failing, fault in self._faults.fail_paths.items():
            if failing == path or failing.startswith(path + "/"):
                raise ApiError(fault.status, fault.code, fault.message)

    # -- /batch -------------------------------------------------------------------------------
    def _route_batch(self, call: Call) -> Reply:
        token, space, rest = self._space_call(call)
        if rest or call.method != "POST":
            raise ApiError(404, "RouteNotFound")
        if not call.flag("delete"):
            raise ApiError(400, "ParamInvalid", "Only batch delete is supported by this emulator.")
        body = call.json_body()
        items = self._batch_items(body)
        if not token.has(*DELETE_GRANTS):
            raise ApiError(403, "NoPermission")
        results = [self._batch_delete_one(token, space, path, permanent)
                   for path, permanent in items]
        status = 200 if all(r["status"] in (200, 204) for r in results) else 207
        if len(items) >= self._faults.async_threshold:
            return self._submit_task(space.id, status, results)
        return Reply(status, {"result": results})

    @staticmethod
    def _batch_items(body: Any) -> list[tuple[Any, bool]]:
        if not isinstance(body, list):
            raise ApiError(400, "ParamInvalid", "The body must be a JSON array of items.")
        if not body:
            raise ApiError(400, "NoItemsProvided")
        if len(body) > MAX_BATCH:
            raise ApiError(400, "TooManyItems")
        items: list[tuple[Any, bool]] = []
        for index, entry in enumerate(body):
            if not isinstance(entry, dict) or "path" not in entry:
                raise ApiError(400, "ParamInvalid", f"Item {index} must be an object with a path.")
            raw = entry.get("permanent")
            permanent = False if raw is None else _parse_bool(raw)
            if permanent is None or raw == "":
                raise ApiError(400, "ParamInvalid", f"Item {index}: invalid permanent value.")
            items.append((entry["path"], permanent))
        return items

    def _batch_delete_one(self, token: Token, space: SpaceState, raw: Any,
                          permanent: bool) -> dict[str, Any]:
        segments = split_path(raw) if isinstance(raw, str) else None
        shown = [s for s in raw.split("/") if s] if isinstance(raw, str) else []
        try:
            if segments is None:
                raise ApiError(400, "InvalidSpaceOrDirectoryPath")
            if not segments:
                raise ApiError(400, "RootDirectoryNotAllowed")
            found = self._locate(space, segments)
            if found is None:
                self._check_fail_paths(segments)
                gone_parent = self._find_dir(space, segments[:-1]) is None
                raise ApiError(404, "DirectoryNotFound" if gone_parent or raw.endswith("/")
                               else "FileNotFound")
            self._require(token, self._delete_grant(found[0], permanent))
            recycled = self._delete(space, segments, None, permanent, found)
        except ApiError as error:
            return {"status": error.status, "path": shown, "code": error.code,
                    "message": error.message}
        if recycled is None:
            return {"status": 204, "path": shown}
        return {"status": 200, "path": shown, "recycledItemId": recycled}

    # -- /task --------------------------------------------------------------------------------
    def _submit_task(self, space_id: str | None, status: int, result: Any) -> Reply:
        task = Task(self._next_task, space_id, status, result, self._faults.task_polls)
        self._next_task += 1
        self._tasks[task.id] = task
        return Reply(202, {"taskId": task.id})

    def _route_task(self, call: Call) -> Reply:
        self._check_library(call)
        token = self._authenticate(call)
        if call.method != "GET" or len(call.parts) not in (2, 3):
            raise ApiError(404, "RouteNotFound")
        space_id: str | None = None
        if len(call.parts) == 3:
            space_id = self._space(call, token, call.parts[1]).id
        try:
            ids = [int(i) for i in call.parts[-1].split(",") if i.strip()]
        except ValueError as error:
            raise ApiError(400, "ParamInvalid", "Task ids must be integers.") from error
        answers = []
        for task_id in ids:
            task = self._tasks.get(task_id)
            if task is None or task.space != space_id:
                continue
            if task.polls_left > 0:
                task.polls_left -= 1
                answers.append({"taskId": task.id, "status": 202, "result": None})
            else:
                answers.append({"taskId": task.id, "status": task.status, "result": task.result})
        if not answers:
            raise ApiError(404, "TaskNotFound")
        return Reply(200, answers)

    # -- /recycled ----------------------------------------------------------------------------
    def _bin(self, space: SpaceState) -> SortedDict:
        """The space's bin, after dropping items whose retention has run out."""
        now = self.clock.now()
        expired = [i for i, item in space.bin.items() if item.expires() <= now]
        for item_id in expired:
            del space.bin[item_id]
        return space.bin

    def _route_recycled(self, call: Call) -> Reply:
        token, space, rest = self._space_call(call)
        self._bin_enabled()
        bin_items = self._bin(space)
        if len(rest) > 1:
            raise ApiError(404, "RouteNotFound")
        if rest:
            try:
                item_id = int(rest[0])
            except ValueError as error:
                raise ApiError(404, "RecycledItemNotFound") from error
            item = bin_items.get(item_id)
            if call.method == "GET":
                if item is None:
                    raise ApiError(404, "RecycledItemNotFound")
                return Reply(200, self._recycled_item(space, item, info=True))
            if call.method == "POST" and call.flag("restore"):
                self._require(token, "restore_recycled")
                if item is None:
                    raise ApiError(404, "RecycledItemNotFound")
                strategy = call.query.get("conflict_resolution_strategy") or "rename"
                if strategy not in ("ask", "rename", "overwrite"):
                    raise ApiError(400, "InvalidConflictResolutionStrategy")
                path = self._restore(space, item, strategy, self._fallback_to_root(call))
                return Reply(200, {"path": path})
            if call.method == "DELETE":
                self._require(token, "delete_recycled")
                if item is None:
                    raise ApiError(404, "RecycledItemNotFound")
                del bin_items[item_id]
                return Reply(204)
            raise ApiError(404, "RouteNotFound")
        if call.method == "GET":
            return self._list_bin(call, space)
        if call.method == "DELETE":
            self._require(token, "delete_recycled")
            bin_items.clear()
            return Reply(204)
        if call.method == "POST" and call.flag("restore"):
            self._require(token, "restore_recycled")
            ids = self._id_list(call.json_body())
            fallback = self._fallback_to_root(call)
            results = [self._restore_one_of_many(space, i, fallback) for i in ids]
            status = 200 if all(r["status"] == 200 for r in results) else 207
            if len(ids) >= self._faults.async_threshold:
                return self._submit_task(space.id, status, results)
            return Reply(status, {"result": results})
        if call.method == "POST" and call.flag("delete"):
            self._require(token, "delete_recycled")
            for item_id in self._id_list(call.json_body()):
                bin_items.pop(item_id, None)
            return Reply(204)
        if call.method == "POST" and call.flag("lifecycle"):
            self._require(token, "space_admin")
            body = call.json_body()
            days = body.get("retentionDays") if isinstance(body, dict) else None
            if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 10000:
                raise ApiError(400, "ParamInvalid", "retentionDays must be in (0, 10000].")
            # Raising the retention extends items already in the bin; lowering it only
            # shortens later deletions (doc 1339/124385).
            space.retention_days = days
            for item in bin_items.values():
                item.retention_days = max(item.retention_days, days)
            return Reply(204)
        raise ApiError(404, "RouteNotFound")

    @staticmethod
    def _id_list(body: Any) -> list[int]:
        if not isinstance(body, list):
            raise ApiError(400, "ParamInvalid", "The body must be a JSON array of ids.")
        if not body:
            raise ApiError(400, "NoItemsProvided")
        if len(body) > MAX_BATCH:
            raise ApiError(400, "TooManyItems")
        ids: list[int] = []
        for value in body:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ApiError(400, "ParamInvalid", "Recycled item ids must be integers.")
            try:
                ids.append(int(value))
            except ValueError as error:
                raise ApiError(400, "ParamInvalid",
                               "Recycled item ids must be integers.") from error
        return ids

    @staticmethod
    def _fallback_to_root(call: Call) -> bool:
        strategy = call.query.get("restore_path_strategy") or "originalPath"
        if strategy not in ("originalPath", "fallbackToRoot"):
            raise ApiError(400, "ParamInvalid",
                           "restore_path_strategy must be originalPath or fallbackToRoot.")
        return strategy == "fallbackToRoot"

    def _restore_one_of_many(self, space: SpaceState, item_id: int,
                             fallback: bool) -> dict[str, Any]:
        item = space.bin.get(item_id)
        try:
            if item is None:
                raise ApiError(404, "RecycledItemNotFound")
            path = self._restore(space, item, "rename", fallback)
        except ApiError as error:
            return {"status": error.status, "code": error.code, "message": error.message,
                    "recycledItemId": item_id}
        return {"status": 200, "path": path, "recycledItemId": item_id}

    def _restore(self, space: SpaceState, item: Recycled, strategy: str,
                 fallback: bool) -> list[str]:
        parent_path = item.original[:-1]
        parent = self._find_dir(space, parent_path)
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
                name = _free_name(parent, name, is_dir=is_dir)
        if item.node is not None:
            item.node.name = name
            parent.add_dir(item.node)
        else:
            parent.add_file(name, item.file_key)
        self._touch(parent)
        del space.bin[item.id]
        return [*parent_path, name]

    def _recycled_item(self, space: SpaceState, item: Recycled, *,
                       info: bool = False) -> dict[str, Any]:
        if item.size is None:
            item.size = (item.node.total_size(space.id) if item.node is not None
                         else file_meta(space.id, item.file_key or "").size)
        if item.node is not None:
            ctime, mtime = item.node.ctime, item.node.mtime
        else:
            meta = file_meta(space.id, item.file_key or "")
            ctime, mtime = meta.ctime, meta.mtime
        remaining = (item.expires() - self.clock.now()) // 86400
        doc: dict[str, Any] = {
            "recycledItemId": item.id, "originalPath": list(item.original), "spaceId": space.id,
            "name": item.original[-1], "type": item.kind, "size": str(item.size),
            "creationTime": iso_time(ctime), "modificationTime": iso_time(mtime),
            "removalTime": iso_time(item.removal), "remainingTime": max(0, int(remaining)),
        }
        if info and item.node is None:
            meta = file_meta(space.id, item.file_key or "")
            doc.update(contentType=content_type(item.original[-1]), eTag=meta.etag,
                       crc64=str(meta.crc64))
        return doc

    def _list_bin(self, call: Call, space: SpaceState) -> Reply:
        by = call.query.get("order_by") or call.query.get("orderBy") or ""
        direction = (call.query.get("order_by_type") or call.query.get("orderByType")
                     or "").lower()
        if direction not in ("", "asc", "desc"):
            raise ApiError(400, "ParamInvalid", "order_by_type must be asc or desc.")
        items = self._bin(space)
        # Ids grow with removal time, so id order is removal order (and, with one retention
        # period per space, remaining-time order too). Unordered requests get newest first.
        desc = direction != "asc" if not by else direction == "desc"
        key_functions: dict[str, Callable[[Recycled], Any]] = {
            "": lambda item: item.id,
            "removalTime": lambda item: item.id,
            "remainingTime": lambda item: item.id,
            "name": lambda item: item.original[-1],
            "size": lambda item: int(self._recycled_item(space, item)["size"]),
            "modificationTime": lambda item: self._recycled_item(space, item)["modificationTime"],
        }
        key_of = key_functions.get(by)
        if key_of is None:
            raise ApiError(400, "ParamInvalid", f"Unsupported order_by: {by}.")
        rows = sorted((key_of(item), item.id) for item in items.values())
        if desc:
            rows.reverse()
        doc: dict[str, Any] = {"totalNum": len(rows)}
        if any(k in call.query for k in ("page", "page_size", "by-page")):
            page = _int_param(call, "page", 1)
            size = _int_param(call, "page_size", 20)
            if page < 1 or size < 1 or page * size > MAX_PAGE_WINDOW:
                raise ApiError(400, "ParamInvalid", "Invalid page or page_size.")
            chosen = rows[(page - 1) * size: page * size]
        else:
            limit = min(max(_int_param(call, "limit", 20), 1), BIN_MAX_LIMIT)
            start = 0
            marker = call.query.get("marker", "")
            if marker:
                try:
                    last = tuple(json.loads(base64.urlsafe_b64decode(
                        marker + "=" * (-len(marker) % 4))))
                    if desc:
                        start = len(rows) - bisect.bisect_left(rows[::-1], last)
                    else:
                        start = bisect.bisect_right(rows, last)
                except (ValueError, TypeError) as error:
                    raise ApiError(404, "MarkerNotFound") from error
            chosen = rows[start: start + limit]
            if start + limit < len(rows):
                raw = json.dumps(list(chosen[-1]), ensure_ascii=False).encode()
                doc["nextMarker"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        doc["contents"] = [self._recycled_item(space, items[i]) for _, i in chosen]
        return Reply(200, doc)

    # -- /directory-history -------------------------------------------------------------------
    def _route_history(self, call: Call) -> Reply:
        self._check_library(call)
        token = self._authenticate(call)
        if call.parts[1:] != ["library-history"]:
            raise ApiError(404, "RouteNotFound")
        if "admin" not in token.grants:
            raise ApiError(403, "NoPermission")
        if call.method == "GET":
            doc: dict[str, Any] = {"enableFileHistory": self._history_enabled}
            if self._history_enabled:
                doc.update(self._history_config)
            return Reply(200, doc)
        if call.method == "POST":
            return self._set_history(call.json_body())
        if call.method == "DELETE":
            now = self.clock.now()
            last = self._last_history_clear
            if last is not None and now - last < HISTORY_CLEAR_INTERVAL:
                wait = math.ceil(HISTORY_CLEAR_INTERVAL - (now - last))
                raise ApiError(429, "RateLimitExceeded", headers={"Retry-After": str(wait)})
            self._last_history_clear = now
            if self._history_enabled:
                raise ApiError(400, "FileHistoryEnabled")
            deleted, self._earlier_versions = self._earlier_versions, 0
            return self._submit_task(None, 200, [{"err": "", "status": 0,
                                                  "deleteCount": deleted}])
        raise ApiError(404, "RouteNotFound")

    def _set_history(self, body: Any) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("enableFileHistory"), bool):
            raise ApiError(400, "ParamInvalid", "enableFileHistory (a boolean) is required.")
        limits = {"fileHistoryCount": (1, 999, "InvalidFileHistoryCount"),
                  "fileHistoryExpireDay": (0, 999, "InvalidFileHistoryExpireDay"),
                  "mergeInterval": (0, 600, "InvalidFileHistoryMergeInterval")}
        updates: dict[str, int] = {}
        for name, (low, high, code) in limits.items():
            if name not in body:
                continue
            value = body[name]
            if (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high
                    or (name == "mergeInterval" and 0 < value < 5)):
                raise ApiError(400, code)
            updates[name] = value
        self._history_config.update(updates)
        self._history_enabled = body["enableFileHistory"]
        return Reply(204)

    # -- /space -------------------------------------------------------------------------------
    def _route_space(self, call: Call) -> Reply:
        self._check_library(call)
        token = self._authenticate(call)
        rest = call.parts[1:]
        if call.method != "GET":
            raise ApiError(404, "RouteNotFound")
        if len(rest) == 2 and rest[1] == "size":
            space = self._space(call, token, rest[0])
            return Reply(200, {"size": str(space.root.total_size(space.id))})
        if rest not in (["list"], ["count"]):
            raise ApiError(404, "RouteNotFound")
        if not self._seed.multi_space:
            raise ApiError(400, "NotMultiSpaceLibrary")
        visible = sorted(self._spaces if token.spaces is None or token.has()
                         else token.spaces)
        if rest == ["count"]:
            return Reply(200, {"total": len(visible)})
        limit = min(max(_int_param(call, "limit", SPACE_MAX_LIMIT), 1), SPACE_MAX_LIMIT)
        marker = call.query.get("marker", "")
        start = 0
        if marker:
            try:
                start = visible.index(marker) + 1
            except ValueError as error:
                raise ApiError(404, "MarkerNotFound") from error
        chosen = visible[start:start + limit]
        doc: dict[str, Any] = {"list": [
            {"spaceId": s, "userId": "", "creationTime": iso_time(self._spaces[s].root.ctime)}
            for s in chosen]}
        if start + limit < len(visible):
            doc["nextMarker"] = chosen[-1]
        return Reply(200, doc)

    # -- /_emulator ---------------------------------------------------------------------------
    def _control(self, method: str, parts: list[str], body: bytes) -> Reply:
        name = "/".join(parts)
        if method in ("GET", "HEAD") and name == "state":
            return Reply(200, self.state())
        if method in ("GET", "HEAD") and name == "stats":
            return Reply(200, self.stats())
        if method in ("GET", "HEAD") and name == "log":
            return Reply(200, self.request_log())
        if method in ("GET", "HEAD") and name == "faults":
            return Reply(200, self._faults.to_dict())
        if method == "POST" and name == "faults":
            try:
                doc = json.loads(body) if body.strip() else {}
                faults = self.set_faults(doc)
            except (ValueError, FaultsError, TypeError) as error:
                return Reply(400, {"status": 400, "code": "ParamInvalid", "message": str(error),
                                   "requestId": ""})
            return Reply(200, faults.to_dict())
        if method == "POST" and name == "reset":
            self.reset()
            return Reply(204)
        return Reply(404, _error_doc(ApiError(404, "RouteNotFound")))


def _error_doc(error: ApiError) -> dict[str, Any]:
    return {"status": error.status, "code": error.code, "message": error.message,
            "requestId": ""}


def _free_name(parent: Dir, name: str, *, is_dir: bool) -> str:
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


__all__ = ["ApiError", "Emulator", "HttpRequest", "HttpResponse", "SeedError", "message_for"]
