"""Library-level endpoints: `/token` (generate, renew, delete), `/task` (space and library
level), `/directory-history` (library history config and clear) and `/space` (list, count,
size)."""

from __future__ import annotations

import math
import secrets
from typing import Any

from .errors import ApiError
from .state import MAX_PERIOD, Call, Library, Reply, SpaceState, Token, int_param
from .tree import iso_time

KNOWN_GRANTS = frozenset({
    "admin", "create_space", "delete_space", "space_admin",
    "create_directory", "delete_directory", "delete_directory_permanent", "move_directory",
    "copy_directory", "upload_file", "upload_file_force", "begin_upload", "begin_upload_force",
    "confirm_upload", "create_symlink", "create_symlink_force", "delete_file",
    "delete_file_permanent", "move_file", "move_file_force", "copy_file", "copy_file_force",
    "delete_recycled", "restore_recycled", "delete_history", "set_history_latest", "read_only",
})
DEFAULT_PERIOD = 86400
MIN_PERIOD = 300
HISTORY_CLEAR_INTERVAL = 60.0  # clearing library history: at most one call a minute
SPACE_MAX_LIMIT = 1000


def route_token(lib: Library, call: Call) -> Reply:
    if not call.parts:
        if call.method not in ("GET", "POST"):
            raise ApiError(404, "RouteNotFound")
        return _create_token(lib, call)
    lib.check_library(call)
    if len(call.parts) == 1 and call.method == "DELETE":
        return _delete_user_tokens(lib, call)
    if len(call.parts) != 2:
        raise ApiError(404, "RouteNotFound")
    value = call.parts[1]
    if call.method == "DELETE":
        lib.tokens.pop(value, None)
        return Reply(204)
    if call.method != "POST":
        raise ApiError(404, "RouteNotFound")
    token = lib.tokens.get(value)
    now = lib.clock.now()
    if token is None or (token.expires is not None and token.expires <= now):
        raise ApiError(403, "InvalidAccessToken")
    if token.expires is not None:
        token.expires = now + token.period
    return Reply(200, {"accessToken": token.value, "expiresIn": token.period})


def _create_token(lib: Library, call: Call) -> Reply:
    params: dict[str, Any] = dict(call.query)
    body = call.json_body() if call.method == "POST" else None
    if isinstance(body, dict):
        for name, value in body.items():
            params.setdefault(name, value if isinstance(value, str) else str(value))
    library, secret = params.get("library_id", ""), params.get("library_secret", "")
    if not library or not secret:
        raise ApiError(400, "EmptyLibraryIdOrSecret")
    if library != lib.seed.library or secret != lib.seed.secret:
        raise ApiError(404, "WrongLibraryIdOrSecret")
    grants = frozenset(g.strip() for g in params.get("grant", "").split(",") if g.strip())
    unknown = grants - KNOWN_GRANTS
    if unknown:
        raise ApiError(400, "ParamInvalid", f"Unknown grant: {', '.join(sorted(unknown))}.")
    space_ids = [s.strip() for s in params.get("space_id", "").split(",") if s.strip()]
    for space_id in space_ids:
        if space_id not in lib.spaces:
            raise ApiError(404, "SpaceNotFound")
    spaces: frozenset[str] | None = frozenset(space_ids) if space_ids else None
    if spaces is None and lib.seed.multi_space and "admin" not in grants:
        raise ApiError(400, "EmptySpaceId")
    try:
        period = int(params.get("period", DEFAULT_PERIOD))
    except ValueError:
        period = DEFAULT_PERIOD
    if period <= 0:
        period = DEFAULT_PERIOD
    period = min(max(period, MIN_PERIOD), MAX_PERIOD)
    value = "acctk" + secrets.token_hex(24)
    lib.tokens[value] = Token(value, spaces, grants, period,
                              lib.clock.now() + period, params.get("user_id", ""))
    return Reply(200, {"accessToken": value, "expiresIn": period})


def _delete_user_tokens(lib: Library, call: Call) -> Reply:
    secret = call.query.get("library_secret", "")
    if not secret:
        raise ApiError(400, "EmptyLibraryIdOrSecret")
    if secret != lib.seed.secret:
        raise ApiError(404, "WrongLibraryIdOrSecret")
    users = {u for u in call.query.get("user_id", "").split(",") if u}
    if not users:
        raise ApiError(400, "ParamInvalid", "user_id is required.")
    for value in [v for v, t in lib.tokens.items() if t.user_id in users]:
        del lib.tokens[value]
    return Reply(204)


def route_task(lib: Library, call: Call) -> Reply:
    lib.check_library(call)
    token = lib.authenticate(call)
    if call.method != "GET" or len(call.parts) not in (2, 3):
        raise ApiError(404, "RouteNotFound")
    space_id: str | None = None
    if len(call.parts) == 3:
        space_id = lib.space(call, token, call.parts[1]).id
    try:
        ids = [int(i) for i in call.parts[-1].split(",") if i.strip()]
    except ValueError as error:
        raise ApiError(400, "ParamInvalid", "Task ids must be integers.") from error
    answers = []
    for task_id in ids:
        task = lib.tasks.get(task_id)
        if task is None or task.space != space_id:
            continue
        # Current docs and SDKs read `taskId`, the old Java SDK and Flutter `id`: both are sent.
        if task.polls_left > 0:
            task.polls_left -= 1
            answers.append({"taskId": task.id, "id": task.id, "status": 202, "result": None})
        else:
            answers.append({"taskId": task.id, "id": task.id, "status": task.status,
                            "result": task.result})
    if not answers:
        raise ApiError(404, "TaskNotFound")
    return Reply(200, answers)


def route_history(lib: Library, call: Call) -> Reply:
    lib.check_library(call)
    token = lib.authenticate(call)
    if call.parts[1:] != ["library-history"]:
        raise ApiError(404, "RouteNotFound")
    if "admin" not in token.grants:
        raise ApiError(403, "NoPermission")
    if call.method == "GET":
        doc: dict[str, Any] = {"enableFileHistory": lib.history_enabled}
        if lib.history_enabled:
            doc.update(lib.history_config)
        return Reply(200, doc)
    if call.method == "POST":
        return _set_history(lib, call.json_body())
    if call.method == "DELETE":
        now = lib.clock.now()
        last = lib.last_history_clear
        if last is not None and now - last < HISTORY_CLEAR_INTERVAL:
            wait = math.ceil(HISTORY_CLEAR_INTERVAL - (now - last))
            raise ApiError(429, "RateLimitExceeded", headers={"Retry-After": str(wait)})
        lib.last_history_clear = now
        if lib.history_enabled:
            raise ApiError(400, "FileHistoryEnabled")
        deleted, lib.earlier_versions = lib.earlier_versions, 0
        return lib.submit_task(None, 200, [{"err": "", "status": 0,
                                            "deleteCount": deleted}])
    raise ApiError(404, "RouteNotFound")


def _set_history(lib: Library, body: Any) -> Reply:
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
    lib.history_config.update(updates)
    lib.history_enabled = body["enableFileHistory"]
    return Reply(204)


def _file_count(lib: Library, token: Token, space: SpaceState) -> Reply:
    """The space file-count API: `fileNum` counts the files in the bin and the earlier
    versions too (as the doc says), `dirNum` the directories in the bin."""
    lib.require(token)  # admin or space_admin only
    if lib.faults.stats_refused(None):
        raise ApiError(404, "RouteNotFound")
    _, files, dirs = lib.counts(space, (), sizes=False)
    _, recycled_files, recycled_dirs = lib.counts(space, (), "recycle", sizes=False)
    history = lib.history_files(space)
    return Reply(200, {"fileNum": files + recycled_files + history,
                       "dirNum": dirs + recycled_dirs, "recycledFileNum": recycled_files,
                       "recycledDirNum": recycled_dirs, "historyFileNum": history})


def route_space(lib: Library, call: Call) -> Reply:
    lib.check_library(call)
    token = lib.authenticate(call)
    rest = call.parts[1:]
    if call.method != "GET":
        raise ApiError(404, "RouteNotFound")
    if len(rest) == 2 and rest[1] == "size":
        space = lib.space(call, token, rest[0])
        return Reply(200, {"size": str(space.root.total_size(space.meta))})
    if len(rest) == 2 and rest[1] == "file-count":
        return _file_count(lib, token, lib.space(call, token, rest[0]))
    if rest not in (["list"], ["count"]):
        raise ApiError(404, "RouteNotFound")
    if not lib.seed.multi_space:
        raise ApiError(400, "NotMultiSpaceLibrary")
    visible = sorted(lib.spaces if token.spaces is None or token.has()
                     else token.spaces)
    if rest == ["count"]:
        return Reply(200, {"total": len(visible)})
    limit = min(max(int_param(call, "limit", SPACE_MAX_LIMIT), 1), SPACE_MAX_LIMIT,
                lib.faults.max_list_limit)
    marker = call.query.get("marker", "")
    start = 0
    if marker:
        try:
            start = visible.index(marker) + 1
        except ValueError as error:
            raise ApiError(404, "MarkerNotFound") from error
    chosen = visible[start:start + limit]
    doc: dict[str, Any] = {"list": [
        {"spaceId": s, "userId": "", "creationTime": iso_time(lib.spaces[s].root.ctime)}
        for s in chosen]}
    if start + limit < len(visible):
        # The JS and iOS SDK models read the next marker from `marker`.
        doc["marker" if lib.faults.space_list_marker_only else "nextMarker"] = chosen[-1]
    return Reply(200, doc)
