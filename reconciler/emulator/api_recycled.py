"""Recycle-bin endpoints: `/recycled` list, item info, restore one and many, delete one and
many, empty, lifecycle."""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Callable
from typing import Any

from .errors import ApiError
from .state import (
    MAX_BATCH,
    MAX_PAGE_WINDOW,
    Call,
    Library,
    Recycled,
    Reply,
    SpaceState,
    int_param,
)

BIN_MAX_LIMIT = 100


def route_recycled(lib: Library, call: Call) -> Reply:
    token, space, rest = lib.space_call(call)
    lib.bin_enabled()
    bin_items = lib.bin(space)
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
            return Reply(200, lib.recycled_item(space, item, info=True))
        if call.method == "POST" and call.flag("restore"):
            lib.require(token, "restore_recycled")
            if item is None:
                raise ApiError(404, "RecycledItemNotFound")
            strategy = call.query.get("conflict_resolution_strategy") or "rename"
            if strategy not in ("ask", "rename", "overwrite"):
                raise ApiError(400, "InvalidConflictResolutionStrategy")
            path = lib.restore(space, item, strategy, _fallback_to_root(call))
            return Reply(200, {"path": path})
        if call.method == "DELETE":
            lib.require(token, "delete_recycled")
            if item is None:
                raise ApiError(404, "RecycledItemNotFound")
            del bin_items[item_id]
            return Reply(204)
        raise ApiError(404, "RouteNotFound")
    if call.method == "GET":
        return _list_bin(lib, call, space)
    if call.method == "DELETE":
        lib.require(token, "delete_recycled")
        bin_items.clear()
        return Reply(204)
    if call.method == "POST" and call.flag("restore"):
        lib.require(token, "restore_recycled")
        ids = _id_list(call.json_body())
        fallback = _fallback_to_root(call)
        results = [_restore_one_of_many(lib, space, i, fallback) for i in ids]
        status = 200 if all(r["status"] == 200 for r in results) else 207
        if len(ids) >= lib.faults.async_threshold:
            return lib.submit_task(space.id, status, results)
        return Reply(status, {"result": results})
    if call.method == "POST" and call.flag("delete"):
        lib.require(token, "delete_recycled")
        for item_id in _id_list(call.json_body()):
            bin_items.pop(item_id, None)
        return Reply(204)
    if call.method == "POST" and call.flag("lifecycle"):
        lib.require(token, "space_admin")
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


def _fallback_to_root(call: Call) -> bool:
    strategy = call.query.get("restore_path_strategy") or "originalPath"
    if strategy not in ("originalPath", "fallbackToRoot"):
        raise ApiError(400, "ParamInvalid",
                       "restore_path_strategy must be originalPath or fallbackToRoot.")
    return strategy == "fallbackToRoot"


def _restore_one_of_many(lib: Library, space: SpaceState, item_id: int,
                         fallback: bool) -> dict[str, Any]:
    item = space.bin.get(item_id)
    try:
        if item is None:
            raise ApiError(404, "RecycledItemNotFound")
        path = lib.restore(space, item, "rename", fallback)
    except ApiError as error:
        return {"status": error.status, "code": error.code, "message": error.message,
                "recycledItemId": item_id}
    return {"status": 200, "path": path, "recycledItemId": item_id}


def _list_bin(lib: Library, call: Call, space: SpaceState) -> Reply:
    by = call.query.get("order_by") or call.query.get("orderBy") or ""
    direction = (call.query.get("order_by_type") or call.query.get("orderByType")
                 or "").lower()
    if direction not in ("", "asc", "desc"):
        raise ApiError(400, "ParamInvalid", "order_by_type must be asc or desc.")
    items = lib.bin(space)
    # Ids grow with removal time, so id order is removal order (and, with one retention
    # period per space, remaining-time order too). Unordered requests get newest first.
    desc = direction != "asc" if not by else direction == "desc"
    key_functions: dict[str, Callable[[Recycled], Any]] = {
        "": lambda item: item.id,
        "removalTime": lambda item: item.id,
        "remainingTime": lambda item: item.id,
        "name": lambda item: item.original[-1],
        "size": lambda item: int(lib.recycled_item(space, item)["size"]),
        "modificationTime": lambda item: lib.recycled_item(space, item)["modificationTime"],
    }
    key_of = key_functions.get(by)
    if key_of is None:
        raise ApiError(400, "ParamInvalid", f"Unsupported order_by: {by}.")
    rows = sorted((key_of(item), item.id) for item in items.values())
    if desc:
        rows.reverse()
    doc: dict[str, Any] = {"totalNum": len(rows)}
    if any(k in call.query for k in ("page", "page_size", "by-page")):
        page = int_param(call, "page", 1)
        size = int_param(call, "page_size", 20)
        if page < 1 or size < 1 or page * size > MAX_PAGE_WINDOW:
            raise ApiError(400, "ParamInvalid", "Invalid page or page_size.")
        chosen = rows[(page - 1) * size: page * size]
    else:
        limit = min(max(int_param(call, "limit", 20), 1), BIN_MAX_LIMIT)
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
    doc["contents"] = [lib.recycled_item(space, items[i]) for _, i in chosen]
    return Reply(200, doc)
