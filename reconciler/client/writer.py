"""`SmhWriteClient`: the only class that can send DELETE, POST and PUT to SMH.

Owns batch delete (200 and 207 per-item results, matched to the request's items in request
order; 202 tasks), the seeds' single-item deletes (Delete File, Delete Directory or Album),
creating directories, emptying a space's recycle bin, deleting chosen bin items for good,
restoring recycled items, clearing the library's earlier
versions, and waiting for tasks. A space root is refused before any request is built. Closing
it revokes the tokens it minted.

A batch whose request was sent more than once (a retried 429, 5xx or dropped connection) says
so (`BatchReply.attempts`): an earlier attempt may have done the work, which the caller must
allow for when it reads a 404 or a missing recycled id.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, TypeVar

from reconciler import wirejson
from reconciler.auth import Grants, Operation, delete_grants, grants_for
from reconciler.client.models import BatchReply, DeleteItem, ItemResult, TaskState
from reconciler.client.reader import (
    ADMIN,
    NOT_FOUND_CODES,
    SmhReadClient,
    check_path,
    task_id_of,
)
from reconciler.client.session import Answer, route
from reconciler.client.shapes import (
    ShapeError,
    as_list,
    as_object,
    get_opt_int,
    get_opt_server_text,
    path_from,
    server_text,
    to_int,
)
from reconciler.errors import SmhError
from reconciler.slots import new, slot_setter

MAX_BATCH_ITEMS: Final = 1000
POLL_FIRST_DELAY: Final = 0.05
"""The shortest first pause before a task is polled again; it grows with the round trip."""
POLL_MAX_DELAY: Final = 5.0
MAX_TASKS_PER_QUERY: Final = 100
"""Task ids polled in one query (`GET /task/{L}/{S}/{id1,id2,...}`)."""

_K = TypeVar("_K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """A batch delete as it is sent: its items (each path checked), the grants its token
    needs and its body, encoded. Made by `of`, apart from the call, so that a caller can make
    the next batch's while calls are in flight."""

    items: tuple[DeleteItem, ...]
    grants: Grants
    body: bytes

    @classmethod
    def of(cls, items: Sequence[DeleteItem]) -> BatchRequest:
        if not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_ITEMS} items, not {len(items)}")
        for item in items:
            check_path(item.path, allow_root=False)
        return cls(tuple(items), delete_grants(permanent=(item.permanent for item in items)),
                   wirejson.dumps([{"path": item.path, "permanent": item.permanent}
                                   for item in items]))


class SmhWriteClient(SmhReadClient):
    """Reads and writes one SMH library."""

    ALLOWED_METHODS: ClassVar[frozenset[str]] = frozenset({"GET", "POST", "DELETE", "PUT"})
    REVOKES_TOKENS: ClassVar[bool] = True

    # -- deletes -------------------------------------------------------------------------------

    def batch_delete(
        self, space: str, items: Sequence[DeleteItem] | BatchRequest, *,
        user_id: str | None = None,
    ) -> BatchReply:
        """Deletes up to 1000 items in one call: per-item results (200/207) or a task (202).
        `items` may be their `BatchRequest`, made ahead of the call."""
        request = items if isinstance(items, BatchRequest) else BatchRequest.of(items)
        answer = self._call(
            "POST",
            route("batch", self.library, space),
            space=space,
            grants=request.grants,
            query=[("delete", None)],
            user_id=user_id,
            body=request.body,
            ok=(200, 202, 207),
        )
        return _batch_reply(answer, lambda raw: delete_results(request.items, raw))

    def delete_file(
        self, space: str, path: str, *, permanent: bool, user_id: str | None = None
    ) -> ItemResult:
        """The seed's Delete File: 200 recycled, 204 deleted, 404 as a result (not raised)."""
        return self._delete_one("file", space, path, permanent=permanent, user_id=user_id)

    def delete_directory(
        self, space: str, path: str, *, permanent: bool, user_id: str | None = None
    ) -> ItemResult:
        """The seed's Delete Directory or Album: the directory and all it holds, as one item."""
        return self._delete_one("directory", space, path, permanent=permanent, user_id=user_id)

    def _delete_one(
        self, kind: str, space: str, path: str, *, permanent: bool, user_id: str | None
    ) -> ItemResult:
        check_path(path, allow_root=False)
        answer = self._call(
            "DELETE",
            route(kind, self.library, space, path=path),
            space=space,
            grants=delete_grants(permanent=[permanent]),
            query=[("permanent", "1" if permanent else "0")],
            user_id=user_id,
            ok=(200, 204, 404),
        )
        if answer.status == 404:
            code, message, _ = answer.error_fields()
            # Only "this path is not there" is a result; a missing space or route is not.
            if code not in NOT_FOUND_CODES:
                raise answer.error()
            return ItemResult(path, 404, code=code, message=message)
        if answer.status == 204 or not answer.body.strip():
            return ItemResult(path, answer.status)
        recycled_id = answer.parse(
            lambda data: get_opt_int(as_object(data, "answer"), "recycledItemId", "answer")
        )
        return ItemResult(path, answer.status, recycled_item_id=recycled_id)

    # -- recycle bin ---------------------------------------------------------------------------

    def empty_recycle_bin(self, space: str, *, user_id: str | None = None) -> None:
        """Empties the space's recycle bin (the seed's Empty Recycle Bin; 204)."""
        self._call(
            "DELETE",
            route("recycled", self.library, space),
            space=space,
            grants=grants_for(Operation.EMPTY_RECYCLE_BIN),
            user_id=user_id,
            ok=(200, 204),
        )

    def delete_recycled(
        self, space: str, ids: Sequence[int], *, user_id: str | None = None
    ) -> None:
        """Deletes recycle-bin items for good in one call (204). SMH's answer says nothing of
        each item (a failure is a 500 for the whole call): list the bin again to know."""
        if not 1 <= len(ids) <= MAX_BATCH_ITEMS:
            raise ValueError(f"a bin delete holds 1 to {MAX_BATCH_ITEMS} items, not {len(ids)}")
        self._call(
            "POST",
            route("recycled", self.library, space),
            space=space,
            grants=grants_for(Operation.DELETE_RECYCLED),
            query=[("delete", None)],
            user_id=user_id,
            body=[int(recycled_id) for recycled_id in ids],
            ok=(200, 204),
        )

    # -- directories ---------------------------------------------------------------------------

    def create_directory(self, space: str, path: str, *, user_id: str | None = None) -> bool:
        """Creates a directory and any missing parents (201); False when that name is taken
        already (409 `SameNameDirectoryOrFileExists`: a directory, or a file in the way)."""
        check_path(path, allow_root=False)
        answer = self._call(
            "PUT",
            route("directory", self.library, space, path=path),
            space=space,
            grants=grants_for(Operation.CREATE_DIRECTORY),
            query=[("conflict_resolution_strategy", "ask")],
            user_id=user_id,
            ok=(200, 201, 204, 409),
        )
        if answer.status == 409:
            if answer.code != "SameNameDirectoryOrFileExists":
                raise answer.error()
            return False
        return True

    def restore_recycled(
        self, space: str, ids: Sequence[int], *, user_id: str | None = None
    ) -> BatchReply:
        """Restores recycled items to their original paths: results (200/207) or a task (202)."""
        if not 1 <= len(ids) <= MAX_BATCH_ITEMS:
            raise ValueError(f"a restore holds 1 to {MAX_BATCH_ITEMS} items, not {len(ids)}")
        answer = self._call(
            "POST",
            route("recycled", self.library, space),
            space=space,
            grants=grants_for(Operation.RESTORE),
            query=[("restore", None)],
            user_id=user_id,
            body=[int(recycled_id) for recycled_id in ids],
            ok=(200, 202, 207),
        )
        return _batch_reply(answer, lambda raw: restore_results(ids, raw))

    # -- history -------------------------------------------------------------------------------

    def clear_history(self) -> int:
        """Starts clearing every earlier version in the library; returns the library task id.

        SMH refuses while history is enabled and allows one call a minute.
        """
        answer = self._call(
            "DELETE",
            route("directory-history", self.library, "library-history"),
            space=None,
            grants=ADMIN,
            ok=(200, 202),
        )
        return answer.parse(task_id_of)

    # -- tasks ---------------------------------------------------------------------------------

    def wait_task(
        self,
        space: str | None,
        task_id: int,
        *,
        max_wait: float = 600.0,
        user_id: str | None = None,
    ) -> TaskState:
        """Polls a task (space None: a library task) until it ends (see `wait_tasks`)."""
        state = self.wait_tasks(space, [task_id], max_wait=max_wait, user_id=user_id)[task_id]
        if isinstance(state, SmhError):
            raise state
        return state

    def wait_tasks(
        self,
        space: str | None,
        task_ids: Sequence[int],
        *,
        max_wait: float = 600.0,
        user_id: str | None = None,
    ) -> dict[int, TaskState | SmhError]:
        """Polls tasks of one space (None: library tasks) until each ends, all those still
        running in one query (`MAX_TASKS_PER_QUERY` ids at most), backing off exponentially
        from a first pause as long as the first query's round trip (at least
        `POLL_FIRST_DELAY`), so a fast server is not kept waiting and a slow one is not
        flooded: even at first, a query is in flight at most half the time. Each task's
        final state, or the error that ended waiting for it: missing from the answer, or
        still running once `max_wait` seconds of waiting have passed.

        Waits through the retry policy's `sleep`; a query that fails raises.
        """
        ended: dict[int, TaskState | SmhError] = {}
        running = list(dict.fromkeys(task_ids))
        waited = 0.0
        delay: float | None = None
        while True:
            started = self._session.clock()
            for part in range(0, len(running), MAX_TASKS_PER_QUERY):
                ids = running[part : part + MAX_TASKS_PER_QUERY]
                states = (self.query_library_tasks(ids) if space is None
                          else self.query_tasks(space, ids, user_id=user_id))
                _record_states(ended, ids, {state.task_id: state for state in states})
            running = [task_id for task_id in running if task_id not in ended]
            if not running:
                return ended
            if waited >= max_wait:
                ended.update({task_id: SmhError(
                    f"task {task_id} was still running after {waited:.1f}s")
                    for task_id in running})
                return ended
            if delay is None:
                delay = max(POLL_FIRST_DELAY, self._session.clock() - started)
            pause = min(delay, POLL_MAX_DELAY, max(max_wait - waited, 0.0))
            self._session.retry.sleep(pause)
            waited += pause
            delay *= 2

    def wait_batch(
        self,
        space: str,
        task_id: int,
        items: Sequence[DeleteItem],
        *,
        max_wait: float = 600.0,
        user_id: str | None = None,
    ) -> BatchReply:
        """Waits for a batch-delete task and returns its per-item results in request order
        (see `batch_task_reply`)."""
        return batch_task_reply(
            self.wait_task(space, task_id, max_wait=max_wait, user_id=user_id), items)

    def wait_restore(
        self,
        space: str,
        task_id: int,
        ids: Sequence[int],
        *,
        max_wait: float = 600.0,
        user_id: str | None = None,
    ) -> BatchReply:
        """Waits for a batch-restore task and returns its per-item results in request order."""
        state = self.wait_task(space, task_id, max_wait=max_wait, user_id=user_id)
        return _task_reply(state, lambda raw: restore_results(ids, raw))


# -- results -----------------------------------------------------------------------------------


def _record_states(ended: dict[int, TaskState | SmhError], ids: Sequence[int],
                   states: dict[int, TaskState]) -> None:
    for task_id in ids:
        state = states.get(task_id)
        if state is None:
            ended[task_id] = SmhError(f"task {task_id} is missing from the task query's answer")
        elif not state.running:
            ended[task_id] = state


def batch_task_reply(state: TaskState, items: Sequence[DeleteItem]) -> BatchReply:
    """A finished batch-delete task's per-item results in request order. A task that ended
    with status 204 or 500, or without a result, gives no per-item results (`results` None,
    `status` the task's): what it did is for the caller to find out by listing."""
    if state.status not in (200, 207) or _task_result(state) is None:
        return BatchReply(state.status, task_id=state.task_id)
    return _task_reply(state, lambda raw: delete_results(items, raw))


def _batch_reply(
    answer: Answer, results: Callable[[object], tuple[ItemResult, ...]]
) -> BatchReply:
    if answer.status == 202:
        return BatchReply(202, task_id=answer.parse(task_id_of), attempts=answer.attempts)
    return BatchReply(
        answer.status,
        results=answer.parse(lambda data: results(as_object(data, "answer").get("result"))),
        attempts=answer.attempts,
    )


def _task_reply(
    state: TaskState, results: Callable[[object], tuple[ItemResult, ...]]
) -> BatchReply:
    if state.status not in (200, 207):
        raise SmhError(
            f"task {state.task_id} ended with status {state.status} and no per-item results"
        )
    try:
        return BatchReply(state.status, results=results(_task_result(state)),
                          task_id=state.task_id)
    except ShapeError as error:
        raise SmhError(f"task {state.task_id}: unexpected result: {error}") from None


def _task_result(state: TaskState) -> object:
    """A batch task's per-item list: the synchronous answer's `result` list (or, seen in older
    examples, that whole answer object); None when the task gave none."""
    raw = state.result
    if isinstance(raw, dict):
        raw = raw.get("result")
    return raw


@dataclass(frozen=True, slots=True)
class _Raw:
    """One per-item result as the server sent it."""

    path: str | None
    status: int
    recycled_item_id: int | None
    code: str | None
    message: str | None


def _raw_results(raw: object) -> list[_Raw]:
    out = []
    for index, item in enumerate(as_list(raw, "result")):
        what = f"result[{index}]"
        obj = as_object(item, what)
        path = obj.get("path")
        out.append(
            _Raw(
                path=None if path is None else path_from(path, f"{what}.path"),
                status=to_int(obj.get("status"), f"{what}.status"),
                recycled_item_id=get_opt_int(obj, "recycledItemId", what),
                code=get_opt_server_text(obj, "code", what),
                message=get_opt_server_text(obj, "message", what),
            )
        )
    return out


def _in_request_order(
    keys: Sequence[_K], raws: list[_Raw], key_of: Callable[[_Raw], _K | None]
) -> list[_Raw]:
    """The results lined up with the request's items.

    SMH answers in request order (and the emulator does); a server that reorders is matched
    by key instead; anything that cannot be matched one to one is refused, since a result
    attached to the wrong item would be a wrong report.
    """
    if len(raws) != len(keys):
        raise ShapeError(f"{len(raws)} results for {len(keys)} items")
    if all(key_of(raw) in (None, key) for raw, key in zip(raws, keys, strict=True)):
        return raws
    buckets: dict[_K, list[_Raw]] = {}
    for raw in raws:
        found = key_of(raw)
        if found is None:
            raise ShapeError("results are not in request order and one does not say its item")
        buckets.setdefault(found, []).append(raw)
    ordered = []
    for key in keys:
        bucket = buckets.get(key)
        if not bucket:
            raise ShapeError(f"no result for {key!r}")
        ordered.append(bucket.pop(0))
    return ordered


def delete_results(items: Sequence[DeleteItem], raw: object) -> tuple[ItemResult, ...]:
    """A batch delete's `result` list as one `ItemResult` per item, in request order."""
    fast = _delete_results_in_order(items, raw)
    if fast is not None:
        return fast
    ordered = _in_request_order([item.path for item in items], _raw_results(raw),
                                lambda result: result.path)
    return tuple(
        ItemResult(item.path, r.status, r.recycled_item_id, r.code, r.message)
        for item, r in zip(items, ordered, strict=True)
    )


def restore_results(ids: Sequence[int], raw: object) -> tuple[ItemResult, ...]:
    """A batch restore's `result` list as one `ItemResult` per id, in request order; `path`
    is where the item went ("" when the server did not say)."""
    ordered = _in_request_order([int(i) for i in ids], _raw_results(raw),
                                lambda result: result.recycled_item_id)
    return tuple(
        ItemResult(r.path or "", r.status, int(recycled_id), r.code, r.message)
        for recycled_id, r in zip(ids, ordered, strict=True)
    )


def _delete_results_in_order(items: Sequence[DeleteItem], raw: object
                             ) -> tuple[ItemResult, ...] | None:
    """The results read in one pass with a few type tests each, when every row has the
    documented shape and says its own item (or none) in request order; None at the first row
    this does not take, for `_raw_results` and `_in_request_order` to read the answer again
    and say what is wrong with it (or match a server that reorders)."""
    if type(raw) is not list or len(raw) != len(items):
        return None
    out: list[ItemResult] = []
    add = out.append
    set_path, set_status, set_recycled, set_code, set_message = _SET_RESULT
    for item, row in zip(items, raw, strict=True):
        if type(row) is not dict:
            return None
        status = row.get("status")
        recycled = row.get("recycledItemId")
        code = row.get("code")
        message = row.get("message")
        path = row.get("path")
        if (type(status) is not int or not (recycled is None or type(recycled) is int)
                or not (code is None or type(code) is str)
                or not (message is None or type(message) is str)):
            return None
        if path is not None and not (type(path) is str and path == item.path):
            # A path other than the item's very own spelling: read as `path_from` does.
            if type(path) is list:
                try:
                    path = "/".join(path)
                except TypeError:
                    return None
            elif type(path) is str:
                path = path.strip("/")
            else:
                return None
            if path != item.path:
                return None
        result = new(ItemResult)
        set_path(result, item.path)
        set_status(result, status)
        set_recycled(result, recycled)
        set_code(result, None if code is None else server_text(code))
        set_message(result, None if message is None else server_text(message))
        add(result)
    return tuple(out)


# A batch's thousand results are made by setting their slots (`reconciler.slots`).
_SET_RESULT = tuple(slot_setter(ItemResult, name) for name in (
    "path", "status", "recycled_item_id", "code", "message"))
