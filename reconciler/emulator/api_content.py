"""Endpoints for a space's content: `/directory` (list, info, HEAD, create, delete), `/file`
(HEAD, info, download, delete) and `/batch` (batch delete)."""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from .errors import ApiError
from .listing import MarkerError, Order, decode_marker, encode_marker
from .seed import clean_text, split_path, usable_name
from .state import (
    DELETE_GRANTS,
    MAX_BATCH,
    MAX_PAGE_WINDOW,
    Call,
    Library,
    Reply,
    SpaceState,
    Token,
    free_name,
    int_param,
    parse_bool,
    path_prefix,
)
from .tree import Dir, iso_time


def route_directory(lib: Library, call: Call) -> Reply:
    token, space, rest = lib.space_call(call)
    segments = lib.path_segments(rest)
    call.path = "/".join(segments)
    if call.method == "GET":
        if call.flag("info"):
            return _info(lib, space, segments)
        if call.flag("stats"):
            return _stats(lib, call, space, segments)
        return _list(lib, call, space, segments)
    if call.method == "HEAD":
        found = lib.locate(space, segments)
        if found is None or found[0] != "dir":
            raise ApiError(404, "DirectoryNotFound")
        return Reply(200, None, {"ETag": str(found[1].etag)})
    if call.method == "PUT":
        return _create_directory(lib, call, token, space, segments)
    if call.method == "DELETE":
        permanent = lib.permanent_query(call)
        lib.require(token, lib.delete_grant("dir", permanent))
        recycled = lib.delete(space, segments, "dir", permanent)
        return Reply(204) if recycled is None else Reply(200, {"recycledItemId": recycled})
    raise ApiError(404, "RouteNotFound")


def _info(lib: Library, space: SpaceState, segments: tuple[str, ...]) -> Reply:
    found = lib.locate(space, segments)
    if found is None:
        raise ApiError(404, "FileNotFound")
    kind, node, name = found
    if kind == "dir":
        item = lib.dir_item(node, list(segments))
        item.update(fileCount=node.file_count(), subDirCount=node.dir_count())
    else:
        item = lib.file_item(space.id, node, name, list(segments))
    item["userId"] = ""
    return Reply(200, item)


def _stats(lib: Library, call: Call, space: SpaceState, segments: tuple[str, ...]) -> Reply:
    """Directory stats: recursive bytes (a string, like every size), files and directories."""
    if lib.faults.stats_refused("/".join(segments)):
        raise ApiError(400, "ParamInvalid", "stats are not supported.")
    kind = call.query.get("stats_type") or "normal"
    if kind not in ("normal", "recycle", "history"):
        raise ApiError(400, "ParamInvalid", "stats_type must be normal, recycle or history.")
    size, files, dirs = lib.counts(space, segments, kind)
    return Reply(200, {"storage": str(size), "fileCount": files, "dirCount": dirs})


def _list(lib: Library, call: Call, space: SpaceState, segments: tuple[str, ...]) -> Reply:
    d = lib.find_dir(space, segments)
    if d is None:
        raise ApiError(404, "DirectoryNotFound")
    etag = str(d.etag)
    if call.headers.get("if-none-match", "").strip().strip('"') == etag:
        return Reply(304, None, {"ETag": etag})
    order = _order(call, {"name", "modificationTime", "size", "creationTime",
                          "localCreationTime", "localModificationTime"})
    page_mode = any(k in call.query for k in ("page", "page_size", "by-page"))
    path = list(segments)
    doc: dict[str, Any] = {"path": path, "eTag": etag, "fileCount": d.file_count(),
                           "subDirCount": d.dir_count(),
                           "totalNum": d.file_count() + d.dir_count()}
    if page_mode:
        page = int_param(call, "page", 1)
        size = int_param(call, "page_size", 20)
        if page < 1 or size < 1:
            raise ApiError(400, "ParamInvalid", "page and page_size must be positive.")
        size = min(size, lib.faults.max_list_limit)
        if page * size > MAX_PAGE_WINDOW:
            raise ApiError(400, "ParamInvalid", "page * page_size must be <= 10000.")
        entries = list(islice(space.lister.entries(d, order), (page - 1) * size, page * size))
    else:
        limit = int_param(call, "limit", 20)
        if lib.faults.max_list_limit_rejects and limit > lib.faults.max_list_limit:
            raise ApiError(400, "ParamInvalid",
                           f"limit must be at most {lib.faults.max_list_limit}.")
        limit = min(max(limit, 1), lib.faults.max_list_limit)
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
    prefix = path_prefix(path)
    files = iter(lib.file_items_json(space, d, [name for kind, _, name, _ in entries
                                                 if kind == "f"], prefix))
    contents = [lib.dir_item_json(node, prefix) if node is not None else next(files)
                for _, _, _, node in entries]
    head = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    body = f'{head[:-1]},"contents":[{",".join(contents)}]}}'
    return Reply(200, None, {"ETag": etag}, raw=body.encode())


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


def _create_directory(lib: Library, call: Call, token: Token, space: SpaceState,
                      segments: tuple[str, ...]) -> Reply:
    lib.require(token, "create_directory")
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
            child = lib.new_dir(node, name)
        node = child
    name = segments[-1]
    if node.has_child(name):
        if strategy == "ask" or (node.has_file(name) and strategy != "rename"):
            raise ApiError(409, "SameNameDirectoryOrFileExists")
        name = free_name(node, name, is_dir=True)
    created = lib.new_dir(node, name)
    path = [*segments[:-1], name]
    if strategy == "rename" or call.flag("with_inode"):
        return Reply(201, {"path": path, "creationTime": iso_time(created.ctime)})
    return Reply(201)


def route_file(lib: Library, call: Call) -> Reply:
    token, space, rest = lib.space_call(call)
    segments = lib.path_segments(rest)
    call.path = "/".join(segments)
    found = lib.locate(space, segments) if segments else None
    if call.method == "DELETE":
        permanent = lib.permanent_query(call)
        lib.require(token, lib.delete_grant("file", permanent))
        recycled = lib.delete(space, segments, "file", permanent)
        return Reply(204) if recycled is None else Reply(200, {"recycledItemId": recycled})
    if call.method not in ("GET", "HEAD"):
        raise ApiError(404, "RouteNotFound")
    if found is None or found[0] != "file":
        raise ApiError(404, "FileNotFound")
    _, parent, name = found
    item = lib.file_item(space.id, parent, name, list(segments))
    headers = {"x-smh-type": item["type"], "x-smh-creation-time": item["creationTime"],
               "x-smh-content-type": item["contentType"], "x-smh-size": item["size"],
               "x-smh-etag": item["eTag"], "x-smh-crc64": item["crc64"]}
    if call.method == "HEAD":
        return Reply(200, None, headers)
    url = f"https://emulator.invalid/{lib.seed.library}/{space.id}/{call.path}"
    if call.flag("info"):
        item.update(cosUrl=url, cosUrlExpiration=iso_time(lib.clock.now() + 3600))
        return Reply(200, item)
    return Reply(302, None, {**headers, "Location": url})


def route_batch(lib: Library, call: Call) -> Reply:
    token, space, rest = lib.space_call(call)
    if rest or call.method != "POST":
        raise ApiError(404, "RouteNotFound")
    if not call.flag("delete"):
        raise ApiError(400, "ParamInvalid", "Only batch delete is supported by this emulator.")
    body = call.json_body()
    items = _batch_items(body)
    if not token.has(*DELETE_GRANTS):
        raise ApiError(403, "NoPermission")
    results = _batch_delete(lib, token, space, items)
    status = 200 if all(r["status"] in (200, 204) for r in results) else 207
    faults = lib.faults
    if len(items) >= faults.async_threshold:
        if faults.task_status is not None:
            # A task that ends 204 (done, no result) or 500 (failed) says nothing per item.
            return lib.submit_task(space.id, faults.task_status,
                                   results if faults.task_status in (200, 207) else None)
        return lib.submit_task(space.id, status, results if faults.task_result else None)
    return Reply(status, {"result": results})


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
        if raw is None:
            items.append((entry["path"], False))
        elif raw is True or raw is False:
            items.append((entry["path"], raw))
        else:
            permanent = parse_bool(raw)
            if permanent is None or raw == "":
                raise ApiError(400, "ParamInvalid", f"Item {index}: invalid permanent value.")
            items.append((entry["path"], permanent))
    return items


def _batch_delete(lib: Library, token: Token, space: SpaceState,
                  items: list[tuple[Any, bool]]) -> list[dict[str, Any]]:
    """Each item's result, in order; the batch's deletions happen at one instant.

    Whether the token may delete each kind of item in each mode is asked once a batch, and
    whether any path holds a character no name may hold, once in all. The common item, a file
    in a directory an earlier item named by the same text, takes a short path (when no fault
    is set on paths): the parent is not looked up again, and the file leaves its directory's
    sorted names with the batch's other files from there, in one pass, the directory changing
    once, before any other kind of item is deleted and when the batch ends."""
    allowed: dict[tuple[str, bool], bool] = {}
    may_delete_file = {mode: token.has(lib.delete_grant("file", mode)) for mode in (False, True)}
    # Parent paths as sent (the text before the last "/") -> their segments and directory;
    # emptied whenever a directory is deleted.
    known: dict[str, tuple[tuple[str, ...], Dir]] = {}
    # Files deleted by the short path, still to be taken out of their directory's names, and,
    # once they are many of a directory's files, the names it keeps (a set is cheaper to ask).
    leaving: dict[Dir, set[str]] = {}
    staying: dict[Dir, set[str]] = {}
    short = not lib.faults.fail_paths
    clean = clean_text(raw for raw, _ in items if isinstance(raw, str))
    now = lib.clock.now()
    results: list[dict[str, Any]] = []
    try:
        for raw, permanent in items:
            if short and isinstance(raw, str):
                head, _, name = raw.rpartition("/")
                entry = known.get(head)
                if (entry is not None and name and may_delete_file[permanent]
                        and usable_name(name, clean=clean) and not entry[1].has_dir(name)):
                    parent_segments, parent = entry
                    segments = (*parent_segments, name)
                    gone = leaving.get(parent)
                    kept = staying.get(parent)
                    if kept is not None:
                        there = name in kept
                    else:
                        there = parent.has_file(name) and (gone is None or name not in gone)
                    if not there:
                        results.append(_failed(ApiError(404, "FileNotFound"), list(segments)))
                        continue
                    if gone is None:
                        gone = leaving[parent] = set()
                    gone.add(name)
                    if kept is not None:
                        kept.remove(name)
                    elif 50 * len(gone) >= parent.file_count():
                        staying[parent] = set(parent.files or ()) - gone
                    recycled = lib.recycle(space, segments, None, parent.file_key(name),
                                           permanent, now)
                    results.append({"status": 204, "path": list(segments)} if recycled is None
                                   else {"status": 200, "path": list(segments),
                                         "recycledItemId": recycled})
                    continue
            _remove_leaving(lib, leaving, now)
            staying.clear()
            results.append(_batch_delete_one(lib, token, space, raw, permanent, allowed, known,
                                             now))
    finally:
        _remove_leaving(lib, leaving, now)
    return results


def _remove_leaving(lib: Library, leaving: dict[Dir, set[str]], now: float) -> None:
    """The files the short path deleted leave their directories, each of which changes."""
    for parent, names in leaving.items():
        parent.remove_files(names)
        lib.touch(parent, now)
    leaving.clear()


def _batch_delete_one(lib: Library, token: Token, space: SpaceState, raw: Any,
                      permanent: bool, allowed: dict[tuple[str, bool], bool],
                      known: dict[str, tuple[tuple[str, ...], Dir]], now: float
                      ) -> dict[str, Any]:
    segments = split_path(raw) if isinstance(raw, str) else None
    if segments is not None:
        shown = list(segments)
    else:
        shown = [s for s in raw.split("/") if s] if isinstance(raw, str) else []
    try:
        if segments is None:
            raise ApiError(400, "InvalidSpaceOrDirectoryPath")
        if not segments:
            raise ApiError(400, "RootDirectoryNotAllowed")
        parent = lib.find_dir(space, segments[:-1])
        if parent is not None and not raw.endswith("/"):
            known[raw.rpartition("/")[0]] = (segments[:-1], parent)
        found = lib.locate_child(parent, segments[-1]) if parent is not None else None
        if found is None:
            lib.check_fail_paths(segments)
            raise ApiError(404, "DirectoryNotFound" if parent is None or raw.endswith("/")
                           else "FileNotFound")
        may = allowed.get((found[0], permanent))
        if may is None:
            may = allowed[(found[0], permanent)] = token.has(lib.delete_grant(found[0],
                                                                              permanent))
        if not may:
            raise ApiError(403, "NoPermission")
        recycled = lib.delete(space, segments, None, permanent, found, now)
        if found[0] == "dir":
            known.clear()
    except ApiError as error:
        return _failed(error, shown)
    if recycled is None:
        return {"status": 204, "path": shown}
    return {"status": 200, "path": shown, "recycledItemId": recycled}


def _failed(error: ApiError, shown: list[str]) -> dict[str, Any]:
    return {"status": error.status, "path": shown, "code": error.code, "message": error.message}
