"""`SmhReadClient`: everything the tool reads from SMH, and nothing else.

Read-only by construction: its transport is wrapped in a `MethodGuard` that lets only GET
through, so no code path through a reader can send a write, whatever it tries.

Listing uses marker mode (`by-marker=1`, and `limit=100` from the first 400 `ParamInvalid` to
a larger limit on) and follows `nextMarker` to its end: a short page is not the end,
markers may be integers or strings, an empty/null/absent marker ends, and a marker seen
before is an error rather than an endless loop. Every listing is bounded: past
`MAX_LISTING_PAGES` pages, or (directories) past `MAX_DIRECTORY_ENTRIES` entries or the
caller's tighter bound, it is an error, so a server that answers with fresh markers forever
cannot keep a plan running. A page without its `contents` list, or with a row lacking a name or
type, is an error too, never an empty directory. Entry paths are the requested directory joined
with each entry's `name`, spelled exactly as the server spells it. Each page is read straight
into the listing's compact form (`reconciler.listing.Entries`) and its body let go of before the
next one is asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence, Sized
from types import TracebackType
from typing import ClassVar, Final, Self, TypeVar

import httpx
import msgspec

from reconciler.auth import Credentials, Grants, Operation, grants_for, protect_logger
from reconciler.client.models import DirectoryPage, RecycledItem, SpaceFileCount, TaskState
from reconciler.client.session import REQUEST_DEADLINE, Answer, Query, Session, route
from reconciler.client.shapes import (
    JsonObject,
    ShapeError,
    as_list,
    as_object,
    check_name,
    get_bool,
    get_int,
    get_list,
    get_marker,
    get_opt_int,
    get_opt_str,
    get_opt_text,
    get_rows,
    get_str,
    path_from,
    server_text,
    to_int,
    usable_name,
)
from reconciler.errors import ReconcileError, SmhError
from reconciler.listing import (
    Entries,
    EntriesBuilder,
    EntryType,
    Fingerprint,
    RemoteEntry,
    Stats,
    packed_page,
)
from reconciler.retry import DEFAULT_RETRY, RetryPolicy, SmhRequestError

_Page = TypeVar("_Page", bound=Sized)

logger = protect_logger(__name__)

READ: Final = grants_for(Operation.READ)
ADMIN: Final = grants_for(Operation.ADMIN)

MAX_PAGE_SIZE: Final = 1000
RECYCLE_PAGE_SIZE: Final = 100
"""The recycle-bin listing takes `limit` in [1, 100]."""
FALLBACK_PAGE_SIZE: Final = 100
"""The page size after a server refused a larger `limit` (400 `ParamInvalid`): one SDK page
says marker-mode listing takes at most 100."""
BY_MARKER_ROUTES: Final = frozenset({"directory", "recycled"})
"""Listings that get `by-marker=1`, as the current SDKs send it to choose marker mode."""
MAX_DIRECTORY_ENTRIES: Final = 1_000_000
"""The most entries one directory listing may serve (rows repeated across pages count each
time); past it the listing is an error."""
MAX_LISTING_PAGES: Final = 10_000
"""The most pages one listing may take: the entry cap at 100 entries a page, the smallest
page size the SMH docs name."""

# Every type that is not a directory is a leaf for the tool: media items are files, symlinks,
# metadata-only "virtual" items and "multi-file" items (two SDKs list it) are deleted like
# files. Any other type is listed as `UNKNOWN` rather than guessed (a container taken for a
# leaf could hide a kept path): the planner keeps it, and every directory holding it, and
# says so, so one odd entry does not cost its space every delete.
ENTRY_TYPES: Final = {
    "dir": EntryType.DIR,
    "file": EntryType.FILE,
    "image": EntryType.FILE,
    "video": EntryType.FILE,
    "symlink": EntryType.FILE,
    "virtual": EntryType.FILE,
    "multi-file": EntryType.FILE,
}

_KNOWN_TYPES: Final = frozenset(ENTRY_TYPES)
NOT_FOUND_CODES: Final = frozenset({"FileNotFound", "DirectoryNotFound", "PathNotFound"})
STATS_UNAVAILABLE_CODES: Final = frozenset({"ParamInvalid", "RouteNotFound"})
"""What a server without directory stats or file counts answers (INFERRED, smh-api.md 13.2)."""


def check_path(path: str, *, allow_root: bool) -> str:
    """`path` if it is a clean relative path (the root `""` only when allowed)."""
    if path == "":
        if allow_root:
            return path
        raise ReconcileError("refused: the space root is never a target")
    # Between two slashes of "/path/" lies each segment: an empty, "." or ".." one shows.
    bounded = f"/{path}/"
    if "//" in bounded or "/./" in bounded or "/../" in bounded:
        raise ReconcileError(
            f"refused: {path!r} is not a relative path of whole segments "
            "(no leading or trailing '/', no empty, '.' or '..' segments)"
        )
    return path


class SmhReadClient:
    """Reads one SMH library. A context manager owning its HTTP connection pool."""

    ALLOWED_METHODS: ClassVar[frozenset[str]] = frozenset({"GET"})
    REVOKES_TOKENS: ClassVar[bool] = False
    """Whether closing revokes the tokens it minted (a DELETE, so never for a reader)."""
    max_pages: int = MAX_LISTING_PAGES
    """The most pages one listing may take."""

    def __init__(
        self,
        *,
        endpoint: str,
        library: str,
        credentials: Credentials,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 30.0,
        deadline: float = REQUEST_DEADLINE,
        page_size: int = MAX_PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be in [1, {MAX_PAGE_SIZE}]")
        self.library = library
        self.page_size = page_size
        self._limit_cap = MAX_PAGE_SIZE
        self._session = Session(
            endpoint=endpoint,
            library=library,
            credentials=credentials,
            transport=transport,
            allowed_methods=self.ALLOWED_METHODS,
            retry=retry,
            timeout=timeout,
            deadline=deadline,
            clock=clock,
            revoke_tokens=self.REVOKES_TOKENS,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def server_time(self) -> str | None:
        """When the server first answered this client, by its own clock (`Date`)."""
        return self._session.server_time

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._session!r})"

    # -- plumbing ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        space: str | None,
        grants: Grants = READ,
        query: Query = (),
        user_id: str | None = None,
        body: object = None,
        ok: Sequence[int] = (200,),
    ) -> Answer:
        """One request; an answer whose status is not in `ok` is raised as its error."""
        answer = self._session.request(
            method, path, query=query, space=space, grants=grants, user_id=user_id, body=body
        )
        if answer.status not in ok:
            raise answer.error()
        return answer

    def _page(
        self, method: str, path: str, *, space: str | None, grants: Grants, query: Query,
        user_id: str | None,
    ) -> Answer:
        """One page of a marker-mode listing.

        Directory and recycle-bin listings say `by-marker=1`. A server that answers 400
        `ParamInvalid` to a `limit` above 100 is asked again with `limit=100`, and this client
        sends no more than that for the rest of its life.
        """
        resource = path.split("/")[3:4]  # "/api/v1/<resource>/..."
        if resource and resource[0] in BY_MARKER_ROUTES:
            query = [*query, ("by-marker", "1")]
        answer = self._call(method, path, space=space, grants=grants,
                            query=self._capped(query), user_id=user_id, ok=(200, 400))
        if (answer.status == 400 and answer.code == "ParamInvalid"
                and self._limit_cap > FALLBACK_PAGE_SIZE
                and any(key == "limit" and value is not None
                        and int(value) > FALLBACK_PAGE_SIZE for key, value in query)):
            logger.info("%s refused limit=%d (400 ParamInvalid): listing %d entries a page "
                        "from now on", path, self._limit_cap, FALLBACK_PAGE_SIZE)
            self._limit_cap = FALLBACK_PAGE_SIZE
            answer = self._call(method, path, space=space, grants=grants,
                                query=self._capped(query), user_id=user_id, ok=(200, 400))
        if answer.status != 200:
            raise answer.error()
        return answer

    def _capped(self, query: Query) -> Query:
        cap = self._limit_cap
        return [(key, str(min(int(value), cap)) if key == "limit" and value is not None
                 else value) for key, value in query]

    def _follow(
        self,
        path: str,
        *,
        space: str | None,
        grants: Grants,
        limit: int,
        user_id: str | None,
        read: Callable[[JsonObject], _Page],
        next_marker: Callable[[JsonObject, str | None], str | None] | None = None,
        max_items: int | None = None,
        read_body: Callable[[bytes], tuple[_Page, str | None] | None] | None = None,
    ) -> Iterator[tuple[_Page, str | None]]:
        """Marker paging: yields each page's items and its next marker, to the end.

        `next_marker(answer, marker sent)` reads the next marker (default: `nextMarker`).
        `read_body(body)`, where given, reads a page the usual shape straight from its body
        (its items and `nextMarker`), and None for any other, which `read` then reads. At
        most `max_pages` pages and (when given) `max_items` items in all; beyond either, the
        listing is an error.
        """
        read_marker = next_marker or _next_marker
        seen: set[str] = set()
        marker: str | None = None
        served = 0
        while True:
            query: list[tuple[str, str | None]] = [("limit", str(limit))]
            if marker is not None:
                query.append(("marker", marker))
            answer = self._page("GET", path, space=space, grants=grants, query=query,
                                user_id=user_id)

            def page(data: object, sent: str | None = marker) -> tuple[_Page, str | None]:
                obj = as_object(data, "answer")
                return read(obj), read_marker(obj, sent)

            read_straight = read_body(answer.body) if read_body is not None else None
            items, marker = answer.parse(page) if read_straight is None else read_straight
            served += len(items)
            if max_items is not None and served > max_items:
                raise answer.malformed(
                    f"the listing served more than {max_items:,} entries, more than it may hold"
                )
            # What ends the listing after this page is decided now, so that the page's body
            # is let go of before the caller works through its items.
            failure = None
            if marker in seen:
                failure = answer.malformed(
                    f"nextMarker {marker!r} was already followed: the listing would never end"
                )
            elif marker is not None and len(seen) + 1 >= self.max_pages:
                failure = answer.malformed(
                    f"the listing did not end after {self.max_pages:,} pages")
            del answer
            yield items, marker
            if marker is None:
                return
            if failure is not None:
                raise failure
            seen.add(marker)

    # -- directories ---------------------------------------------------------------------------

    def iter_directory_pages(
        self,
        space: str,
        path: str = "",
        *,
        user_id: str | None = None,
        max_entries: int = MAX_DIRECTORY_ENTRIES,
    ) -> Iterator[DirectoryPage]:
        """The pages of one directory's listing, in the server's order.

        More than `max_entries` entries served in all (at most `MAX_DIRECTORY_ENTRIES`) is
        an error.
        """
        check_path(path, allow_root=True)

        def read(data: JsonObject) -> Entries:
            return _entries(data, path)

        def read_body(body: bytes) -> tuple[Entries, str | None] | None:
            return _directory_page(body, path)

        for entries, marker in self._follow(
            route("directory", self.library, space, path=path),
            space=space,
            grants=READ,
            limit=self.page_size,
            user_id=user_id,
            read=read,
            max_items=min(max_entries, MAX_DIRECTORY_ENTRIES),
            read_body=read_body,
        ):
            yield DirectoryPage(entries, marker)

    def read_directory(
        self,
        space: str,
        path: str = "",
        *,
        user_id: str | None = None,
        max_entries: int = MAX_DIRECTORY_ENTRIES,
    ) -> Entries:
        """Every child of one directory, each once, in the server's order, stored compactly
        (what a plan's listing holds).

        An entry repeated across pages (the directory changed while it was being paged) is
        kept once; the same name as both a file and a directory is an error. Serving more
        than `max_entries` entries (see `iter_directory_pages`) is an error.
        """
        pages = [page.entries for page in self.iter_directory_pages(
            space, path, user_id=user_id, max_entries=max_entries)]
        names = [name for page in pages for name in page.names]
        if len(set(names)) == len(names):
            return Entries.join(path, pages)
        entries: dict[str, RemoteEntry] = {}
        for page in pages:
            for entry in page:
                earlier = entries.setdefault(entry.path, entry)
                if earlier.type is not entry.type:
                    raise SmhError(
                        f"listing {space}:{path or '/'} returned {entry.path!r} both as "
                        f"{earlier.type} and as {entry.type}"
                    )
        return Entries.of(path, entries.values())

    def list_directory(
        self,
        space: str,
        path: str = "",
        *,
        user_id: str | None = None,
        max_entries: int = MAX_DIRECTORY_ENTRIES,
    ) -> list[RemoteEntry]:
        """Every child of one directory, each once, in the server's order (see
        `read_directory`)."""
        return list(self.read_directory(space, path, user_id=user_id, max_entries=max_entries))

    def info(self, space: str, path: str, *, user_id: str | None = None) -> RemoteEntry | None:
        """One file or directory's details, or None when it does not exist."""
        check_path(path, allow_root=False)
        answer = self._call(
            "GET",
            route("directory", self.library, space, path=path),
            space=space,
            query=[("info", None)],
            user_id=user_id,
            ok=(200, 404),
        )
        if answer.status == 404:
            if answer.code in NOT_FOUND_CODES:
                return None
            raise answer.error()
        parent, _, name = path.rpartition("/")
        return answer.parse(lambda data: _entry(data, parent, "answer", name=name))

    def directory_stats(
        self, space: str, path: str, *, user_id: str | None = None
    ) -> Stats | None:
        """What a directory holds recursively (SMH's directory stats), or None when the server
        gives no stats: it refuses the parameter (400 `ParamInvalid`, 404 `RouteNotFound`,
        501) or ignores it and answers something without the stats' fields."""
        check_path(path, allow_root=True)
        answer = self._call(
            "GET",
            route("directory", self.library, space, path=path),
            space=space,
            query=[("stats", "1"), ("stats_type", "normal")],
            user_id=user_id,
            ok=(200, 400, 404, 501),
        )
        if answer.status == 404 and answer.code in NOT_FOUND_CODES:
            raise answer.error()
        if answer.status != 200:
            if answer.status == 501 or answer.code in STATS_UNAVAILABLE_CODES:
                return None
            raise answer.error()

        def read(data: object) -> Stats | None:
            obj = as_object(data, "answer")
            if "fileCount" not in obj or "storage" not in obj:
                return None
            files = get_int(obj, "fileCount", "answer")
            size = get_int(obj, "storage", "answer")
            if files < 0 or size < 0:
                raise ShapeError("answer has a negative fileCount or storage")
            return Stats(files=files, bytes=size)

        return answer.parse(read)

    def space_file_count(
        self, space: str, *, user_id: str | None = None, admin: bool = False
    ) -> SpaceFileCount | None:
        """The space file-count API's answer, or None when the server will not give it: no
        permission (it needs `admin` or `space_admin`) or no such endpoint. A minted token asks
        for `admin` only when `admin` is set; otherwise this is a read like any other."""
        answer = self._call(
            "GET",
            route("space", self.library, space, "file-count"),
            space=space,
            grants=ADMIN if admin else READ,
            user_id=user_id,
            ok=(200, 400, 403, 404, 501),
        )
        if answer.status != 200:
            if answer.status in (403, 501) or answer.code in STATS_UNAVAILABLE_CODES:
                return None
            raise answer.error()

        def read(data: object) -> SpaceFileCount:
            obj = as_object(data, "answer")
            counts = [get_int(obj, key, "answer") for key in (
                "fileNum", "dirNum", "recycledFileNum", "recycledDirNum", "historyFileNum")]
            if min(counts) < 0:
                raise ShapeError("answer has a negative count")
            return SpaceFileCount(*counts)

        return answer.parse(read)

    # -- recycle bin ---------------------------------------------------------------------------

    def recycle_bin_items(self, space: str, *, user_id: str | None = None) -> int | None:
        """How many items the space's recycle bin holds; None when it has no bin.

        Asks page mode for a one-item page and reads `totalNum`: one request whatever the
        bin's size (marker mode would page through the whole bin at 100 items a request).
        A server that leaves `totalNum` out gets the bin counted by marker listing instead.
        """
        answer = self._call(
            "GET",
            route("recycled", self.library, space),
            space=space,
            query=[("page", "1"), ("page_size", "1")],
            user_id=user_id,
            ok=(200, 400),
        )
        if answer.status == 400:
            if answer.code == "RecycleBinNotEnabled":
                return None
            raise answer.error()
        total = answer.parse(lambda data: get_opt_int(as_object(data, "answer"), "totalNum",
                                                      "answer"))
        if total is not None:
            return total
        return len(self.list_recycle_bin(space, user_id=user_id))

    def list_recycle_bin(self, space: str, *, user_id: str | None = None) -> list[RecycledItem]:
        """Every item in the space's recycle bin (a bin that is off is an `SmhRequestError`)."""

        def read(data: JsonObject) -> list[RecycledItem]:
            return [
                _recycled(item, f"contents[{index}]")
                for index, item in enumerate(get_rows(data, "contents", "answer",
                                                      fields=("type",)))
            ]

        items: list[RecycledItem] = []
        for page, _ in self._follow(
            route("recycled", self.library, space),
            space=space,
            grants=READ,
            limit=RECYCLE_PAGE_SIZE,
            user_id=user_id,
            read=read,
        ):
            items.extend(page)
        return items

    # -- library -------------------------------------------------------------------------------

    def history_enabled(self) -> bool:
        """Whether the library keeps earlier file versions (reading it needs `admin`)."""
        answer = self._call(
            "GET", route("directory-history", self.library, "library-history"),
            space=None, grants=ADMIN,
        )
        return answer.parse(
            lambda data: get_bool(as_object(data, "answer"), "enableFileHistory", "answer")
        )

    def list_spaces(self) -> list[str]:
        """Every space id of the library (needs `admin`); `["-"]` for a single-tenant one."""

        def read(data: JsonObject) -> list[str]:
            spaces = []
            for index, item in enumerate(get_list(data, "list", "answer", default_empty=True)):
                spaces.append(get_str(as_object(item, f"list[{index}]"), "spaceId",
                                      f"list[{index}]"))
            return spaces

        found: list[str] = []
        try:
            for page, _ in self._follow(
                route("space", self.library, "list"),
                space=None,
                grants=grants_for(Operation.LIST_SPACES),
                limit=MAX_PAGE_SIZE,
                user_id=None,
                read=read,
                next_marker=_space_list_marker,
            ):
                found.extend(page)
        except SmhRequestError as error:
            if error.code == "NotMultiSpaceLibrary":
                return ["-"]
            raise
        return found

    # -- tasks ---------------------------------------------------------------------------------

    def query_tasks(
        self, space: str, ids: Sequence[int], *, user_id: str | None = None
    ) -> list[TaskState]:
        """The state of batch tasks of one space."""
        return self._tasks(f"{route('task', self.library, space)}/{_id_list(ids)}", space,
                           user_id)

    def query_library_tasks(self, ids: Sequence[int]) -> list[TaskState]:
        """The state of library-level tasks (clearing history)."""
        return self._tasks(f"{route('task', self.library)}/{_id_list(ids)}", None, None)

    def _tasks(self, path: str, space: str | None, user_id: str | None) -> list[TaskState]:
        grants = READ if space is not None else ADMIN
        answer = self._call("GET", path, space=space, grants=grants, user_id=user_id)
        return answer.parse(_task_states)


# -- answer readers ----------------------------------------------------------------------------

class _Row(msgspec.Struct, gc=False):
    """The fields of a directory page's row the listing keeps, as SMH sends them."""

    name: str
    type: str
    eTag: str | None = None  # the fields spelled as SMH spells them
    modificationTime: str | None = None
    size: str | None = None
    crc64: str | None = None


class _DirectoryPage(msgspec.Struct, gc=False):
    contents: list[_Row]
    nextMarker: str | int | msgspec.UnsetType | None = msgspec.UNSET


_read_directory_page: Final = msgspec.json.Decoder(_DirectoryPage).decode


def _directory_page(body: bytes, parent: str) -> tuple[Entries, str | None] | None:
    """A directory page of files, or of directories, as SMH sends them, read straight from
    its body into its compact form (`packed_page`), with its next marker: only the fields
    kept are made into objects, where reading the whole answer makes an object of every field
    of every row. None for any other page (a row of an unknown type, a field of another type,
    a name the listing does not take, JSON msgspec does not read), which `_entries` then reads
    from the answer as `json` reads it, and says what is wrong with it. A field given twice
    counts once, the last, as `json` reads it."""
    try:
        if not body.isascii():
            body.decode()  # msgspec passes over bad UTF-8 in a field it skips; `json` does not
        page = _read_directory_page(body)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError):  # ValidationError too
        return None
    rows = page.contents
    kinds = [row.type for row in rows]
    if not _KNOWN_TYPES.issuperset(kinds):
        return None
    entries = packed_page(parent, [row.name for row in rows],
                          list(map(ENTRY_TYPES.__getitem__, kinds)),
                          [row.eTag for row in rows], [row.modificationTime for row in rows],
                          [row.size for row in rows], [row.crc64 for row in rows])
    if entries is None:
        return None
    marker = page.nextMarker
    return entries, _next_marker({} if marker is msgspec.UNSET else {"nextMarker": marker},
                                 None)


def _entries(data: JsonObject, parent: str) -> Entries:
    """A directory page's rows, read into their compact form (a page `_directory_page` does
    not take).

    The loop takes the rows the documented shape allows (an object with a usable name, a known
    type and string fields) with a few type tests each; at the first row it does not take, the
    page is read again by `get_rows` and `_entry`, which say what is wrong with it, or read the
    rows this loop leaves to them (an unknown type, a number where a string is documented).
    """
    rows = data.get("contents")
    if type(rows) is list:
        builder = EntriesBuilder(parent)
        add = builder.add
        for item in rows:
            if type(item) is not dict:
                break
            name = item.get("name")
            kind = item.get("type")
            entry_type = ENTRY_TYPES.get(kind) if type(kind) is str else None
            etag = item.get("eTag")
            mtime = item.get("modificationTime")
            size = item.get("size")
            crc64 = item.get("crc64")
            if (type(name) is not str or entry_type is None or not usable_name(name)
                    or not (etag is None or type(etag) is str)
                    or not (mtime is None or type(mtime) is str)
                    or not (size is None or type(size) is str)
                    or not (crc64 is None or type(crc64) is str)):
                break
            add(name, entry_type, etag, mtime, size, crc64)
        else:
            return builder.build()
    return Entries.of(parent, [
        _entry(item, parent, f"contents[{index}]")
        for index, item in enumerate(get_rows(data, "contents", "answer",
                                              fields=("name", "type")))
    ])


def _entry(item: object, parent: str, what: str, *, name: str | None = None) -> RemoteEntry:
    obj = as_object(item, what)
    if name is None:
        name = check_name(get_str(obj, "name", what), what)
    kind = get_str(obj, "type", what)
    entry_type = ENTRY_TYPES.get(kind, EntryType.UNKNOWN)
    fingerprint = Fingerprint(
        etag=get_opt_text(obj, "eTag", what),
        modification_time=get_opt_str(obj, "modificationTime", what),
        size=get_opt_text(obj, "size", what),
        crc64=get_opt_text(obj, "crc64", what),
    )
    return RemoteEntry(f"{parent}/{name}" if parent else name, entry_type, fingerprint,
                       server_text(kind, 64) if entry_type is EntryType.UNKNOWN else None)


def _next_marker(data: JsonObject, sent: str | None) -> str | None:
    return get_marker(data, "nextMarker", "answer")


def _space_list_marker(data: JsonObject, sent: str | None) -> str | None:
    """The space list's next marker: `nextMarker`, else a `marker` that differs from the one
    sent (the doc shows both; the JS and iOS SDKs read only `marker`)."""
    found = _next_marker(data, sent)
    if found is None:
        marker = get_marker(data, "marker", "answer")
        found = marker if marker != sent else None
    return found


def _recycled(item: object, what: str) -> RecycledItem:
    obj = as_object(item, what)
    kind = get_str(obj, "type", what)
    entry_type = ENTRY_TYPES.get(kind, EntryType.UNKNOWN)
    return RecycledItem(
        recycled_item_id=to_int(obj.get("recycledItemId"), f"{what}.recycledItemId"),
        original_path=path_from(obj.get("originalPath"), f"{what}.originalPath"),
        type=entry_type,
        removal_time=get_opt_str(obj, "removalTime", what),
        remaining_days=get_opt_int(obj, "remainingTime", what),
        size=_size(obj.get("size")),
    )


def _size(value: object) -> int | None:
    """A bin row's `size` (a string of bytes, like every SMH size); None when it has none."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _task_states(data: object) -> list[TaskState]:
    states = []
    for index, item in enumerate(as_list(data, "answer")):
        what = f"answer[{index}]"
        obj = as_object(item, what)
        # Current docs and SDKs say `taskId`; older pages and the old Java SDK say `id`.
        raw_id = obj.get("taskId", obj.get("id"))
        states.append(
            TaskState(
                task_id=to_int(raw_id, f"{what}.taskId"),
                status=to_int(obj.get("status"), f"{what}.status"),
                result=obj.get("result"),
            )
        )
    return states


def task_id_of(data: object) -> int:
    """The task id of a 202 answer (`taskId`, or `id` as older pages spell it)."""
    obj = as_object(data, "answer")
    return to_int(obj.get("taskId", obj.get("id")), "answer.taskId")


def _id_list(ids: Sequence[int]) -> str:
    """The `TaskIdList` path segment: the ids joined by literal commas, as the API shows it."""
    if not ids:
        raise ValueError("no task ids given")
    return ",".join(str(int(task_id)) for task_id in ids)
