"""Carrying a plan out: batched deletes, tasks, splits, re-checks, maintenance, in order.

Per space, in the plan's order of spaces: create its missing directories (`create_missing`),
re-check what needs it (every item of a saved or resumed plan; otherwise only items a lost
answer may have deleted), then the waves of `batching.order`, each wave's batches
`concurrency` at a time, then the bin items it deletes for good (`recycle_bin.older_than`:
the bin is listed before and after the detail-free batch call, to send only items still there
as planned and to report each one), then the space's recycle bin; the history clear last of
all. Every batch is journaled before it is sent and its outcome
when it returns; a 202's task id is journaled before it is polled.

A recycle delete answered 204 (no `recycledItemId`) shows that the space has no recycle bin
after all: that item is reported deleted permanently, and no more recycle deletes are sent to
that space (each is reported as not sent); the apply then exits 1.

A batch task that ends without per-item results (status 204 or 500, or no result) is not
sent again: each of its items is looked up in a listing of its directory and reported from
what that shows.

Reading answers so that a re-sent call never makes a wrong report: a 404 for an item that an
earlier call may already have deleted (the batch was retried by the client, or the item was
in a batch whose answer was lost) means that earlier call did it, so the item is done, and if
it was recycled its recycle-bin id is unknown. A batch that fails as a whole is split in
halves, down to the seeds' single-item deletes, so one bad item cannot hold up the rest. An
item with planned items inside it is sent only once all of them are done.

`stop` (the first Ctrl-C) ends the apply between batches: no new batch starts, the ones in
flight are waited for, and items never sent are left for the report as not attempted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from reconciler.apply import maintenance
from reconciler.apply.batching import chunks, halves, order
from reconciler.apply.journal import Journal, Replay
from reconciler.apply.progress import NoProgress, ProgressSink
from reconciler.apply.recheck import Check, Found, recheck
from reconciler.apply.report import (
    RECYCLE_BIN_OFF,
    ItemOutcome,
    ItemReport,
    Outcome,
    StepOutcome,
    StepReport,
)
from reconciler.client import BatchReply, DeleteItem, ItemResult, SmhWriteClient
from reconciler.desired import Mode
from reconciler.errors import CredentialsError, ReconcileError, SmhError
from reconciler.listing import EntryType
from reconciler.options import MAX_BATCH_SIZE
from reconciler.plan import (
    ClearHistory,
    CreateDirectory,
    Delete,
    DeleteRecycled,
    EmptyRecycleBin,
    Plan,
)
from reconciler.retry import SmhRequestError

log = logging.getLogger(__name__)

DELETE_RECYCLED = "delete_recycled"
AUTH_STATUSES = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class Settings:
    batch_size: int = MAX_BATCH_SIZE
    concurrency: int = 4
    recheck: bool = False
    """Re-check every item not yet done against the live library before sending it."""
    task_max_wait: float = 600.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size must be in [1, {MAX_BATCH_SIZE}]")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


def interpret(result: ItemResult, delete: Delete, *, maybe_applied: bool) -> ItemOutcome:
    """One item's outcome from the server's per-item answer."""
    if result.status == 200:
        return ItemOutcome(Outcome.RECYCLED, 200, recycled_item_id=result.recycled_item_id,
                           recycled_item_id_unknown=result.recycled_item_id is None)
    if result.status == 204:
        if delete.final_mode is Mode.RECYCLE:
            # Deleted, but not into the bin: the space has no recycle bin after all.
            return ItemOutcome(Outcome.DELETED, 204, RECYCLE_BIN_OFF, BIN_OFF_DELETED)
        return ItemOutcome(Outcome.DELETED, 204)
    if result.not_found:
        if maybe_applied:
            return applied_earlier(delete, status=404, code=result.code)
        return ItemOutcome(Outcome.ALREADY_GONE, 404, result.code, result.message)
    return ItemOutcome(Outcome.FAILED, result.status, result.code, result.message)


LOST_ANSWER = "deleted by an earlier attempt whose answer was lost"
BIN_OFF_DELETED = ("deleted permanently, not recycled: the server answered without a "
                   "recycledItemId, so the space has no recycle bin")
BIN_OFF_NOT_SENT = ("not sent: the space has no recycle bin after all (a recycle delete in it "
                    "was deleted permanently), so this one would be permanent too")


def applied_earlier(delete: Delete, *, status: int | None = None, code: str | None = None,
                    message: str = LOST_ANSWER) -> ItemOutcome:
    """An item gone after a call about it whose answer was lost (or said nothing of it):
    that call deleted it."""
    if delete.final_mode is Mode.RECYCLE:
        return ItemOutcome(Outcome.RECYCLED, status, code, message,
                           recycled_item_id=None, recycled_item_id_unknown=True)
    return ItemOutcome(Outcome.DELETED, status, code, message)


def _from_error(error: ReconcileError) -> ItemOutcome:
    if isinstance(error, SmhRequestError):
        return ItemOutcome(Outcome.FAILED, error.status, error.code,
                           error.detail or error.message)
    return ItemOutcome(Outcome.FAILED, message=error.message)


class Executor:
    """Applies one plan's deletes and maintenance, journaling as it goes (one use)."""

    def __init__(
        self,
        plan: Plan,
        writer: SmhWriteClient,
        journal: Journal,
        *,
        settings: Settings = Settings(),
        progress: ProgressSink | None = None,
        stop: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.plan = plan
        self.deletes = plan.deletes
        self.writer = writer
        self.journal = journal
        self.settings = settings
        self.progress = progress or NoProgress()
        self.stop = stop or threading.Event()
        self.sleep = sleep
        self._lock = threading.Lock()
        self._results: dict[int, ItemOutcome] = {}
        self._maybe: set[int] = set()
        self._steps: dict[tuple[str, str | None], StepReport] = {}
        self._recorded_steps: Mapping[tuple[str, str | None], Mapping[str, Any]] = {}
        self._bin_off: set[str] = set()
        """Spaces where a recycle delete came back deleted permanently: no more are sent."""
        self._created: dict[tuple[str, str], ItemOutcome] = {}
        self._bin_deleted: dict[tuple[str, int], ItemOutcome] = {}

    # -- what happened -------------------------------------------------------------------------

    @property
    def results(self) -> dict[int, ItemOutcome]:
        """Each settled item's outcome so far; items not in it were not attempted."""
        with self._lock:
            return dict(self._results)

    @property
    def unanswered(self) -> set[int]:
        """Items sent (now or by an earlier run) whose answer never came."""
        with self._lock:
            return set(self._maybe) - set(self._results)

    @property
    def steps(self) -> list[StepReport]:
        """The maintenance steps of the plan, in order, with what became of each."""
        planned: list[tuple[str, str | None]] = [
            (maintenance.EMPTY_RECYCLE_BIN, change.space)
            for change in self.plan.changes if isinstance(change, EmptyRecycleBin)
        ]
        if self.plan.clear_history is not None:
            planned.append((maintenance.CLEAR_HISTORY, None))
        with self._lock:
            return [
                self._steps.get(key) or StepReport(key[0], key[1], StepOutcome.NOT_ATTEMPTED)
                for key in planned
            ]

    @property
    def other_items(self) -> list[ItemReport]:
        """The directories created and the bin items deleted for good, in plan order, each
        with its outcome (not attempted when apply never got to it)."""
        reports: list[ItemReport] = []
        with self._lock:
            for change in self.plan.changes:
                if isinstance(change, CreateDirectory):
                    outcome = self._created.get((change.space, change.path))
                    reports.append(ItemReport(
                        change.space, change.path, EntryType.DIR, None,
                        outcome or ItemOutcome(Outcome.NOT_ATTEMPTED),
                        action=change.action.value))
                elif isinstance(change, DeleteRecycled):
                    outcome = self._bin_deleted.get((change.space, change.recycled_item_id))
                    reports.append(ItemReport(
                        change.space, change.original_path, change.type, Mode.PERMANENT,
                        outcome or ItemOutcome(Outcome.NOT_ATTEMPTED),
                        action=change.action.value, bin_item_id=change.recycled_item_id))
        return reports

    def _settle(self, batch: int | None, outcomes: Mapping[int, ItemOutcome], *,
                space: str, task_id: int | None = None) -> None:
        self.journal.outcomes(batch, outcomes)
        with self._lock:
            self._results.update(outcomes)
            self._maybe.difference_update(outcomes)
            if any(bin_was_off(outcome) for outcome in outcomes.values()):
                if space not in self._bin_off:
                    log.warning("space %s has no recycle bin: a recycle delete was answered "
                                "without a recycledItemId; no more recycle deletes are sent "
                                "there", space)
                self._bin_off.add(space)
        self.progress.batch(space, outcomes, task_id=task_id)

    def _done(self, item: int) -> bool:
        result = self._results.get(item)
        return result is not None and result.outcome.done

    # -- the run -------------------------------------------------------------------------------

    def run(self, replay: Replay | None = None) -> None:
        """Apply the plan; with `replay`, finish what an interrupted apply recorded first."""
        if replay is not None:
            # Only what is done stays settled; failed and stale items get another chance.
            self._results = {i: r for i, r in replay.results.items() if r.outcome.done}
            self._maybe = set(replay.maybe_applied)
            self._recorded_steps = replay.steps
            self._bin_off = {self.deletes[i].space for i, r in self._results.items()
                             if bin_was_off(r)}
        self.progress.start(len(self.deletes), len(self._results))
        pool = ThreadPoolExecutor(max_workers=self.settings.concurrency,
                                  thread_name_prefix="smh-apply")
        try:
            if replay is not None:
                self._attach(replay, pool)
            spaces = list(dict.fromkeys(delete.space for delete in self.deletes))
            for change in self.plan.changes:
                if not isinstance(change, ClearHistory) and change.space not in spaces:
                    spaces.append(change.space)
            for space in spaces:
                if self.stop.is_set():
                    break
                self._run_space(space, pool)
            if not self.stop.is_set() and isinstance(self.plan.clear_history, ClearHistory):
                self._clear_history()
        finally:
            # An abandoned run (a second Ctrl-C) must not wait here for calls in flight.
            pool.shutdown(wait=False, cancel_futures=True)
            self.progress.stop()

    def _attach(self, replay: Replay, pool: ThreadPoolExecutor) -> None:
        """Wait for the tasks an interrupted apply started, instead of sending them again."""
        if not replay.open_tasks:
            return
        self.progress.note(f"attaching to {len(replay.open_tasks)} unfinished task(s)")
        futures = [
            pool.submit(self._await_task, task.space, task.batch, task.task_id, task.items,
                        resent=set(task.resent), retried=task.retried, attached=True)
            for task in replay.open_tasks
        ]
        self._wait(futures)

    def _run_space(self, space: str, pool: ThreadPoolExecutor) -> None:
        self._create_directories(space)
        indices = [i for i, delete in enumerate(self.deletes) if delete.space == space]
        space_order = order([self.deletes[i].path for i in indices])
        inside = {indices[p]: [indices[q] for q in space_order.inside(p)]
                  for p in range(len(indices))}
        self._recheck(space, indices, inside)
        for wave in space_order.waves:
            if self.stop.is_set():
                return
            sendable: list[int] = []
            blocked: dict[int, ItemOutcome] = {}
            for item in (indices[position] for position in wave):
                if item in self._results:
                    continue
                waiting = [i for i in inside[item] if not self._done(i)]
                if waiting:
                    blocked[item] = self._blocked(waiting)
                else:
                    sendable.append(item)
            if blocked:
                self._settle(None, blocked, space=space)
            self._wait([
                pool.submit(self._send, space, tuple(batch))
                for batch in chunks(sendable, self.settings.batch_size)
            ])
        if self.stop.is_set():
            return
        self._delete_recycled(space)
        if self.stop.is_set():
            return
        if any(isinstance(c, EmptyRecycleBin) and c.space == space for c in self.plan.changes):
            self._empty_bin(space)

    def _wait(self, futures: Sequence[Future[None]]) -> None:
        wait(futures)
        for future in futures:
            future.result()  # a bug in a worker must not pass silently

    def _blocked(self, waiting: Sequence[int]) -> ItemOutcome:
        """Why an item is not sent: items inside it are not deleted (first the stale ones)."""
        outcomes = {self._results[i].outcome for i in waiting if i in self._results}
        shown = ", ".join(self.deletes[i].path for i in waiting[:3])
        more = f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
        message = (f"not sent: {len(waiting)} planned item(s) inside it are not deleted: "
                   f"{shown}{more}")
        if Outcome.STALE in outcomes:
            return ItemOutcome(Outcome.STALE, message=message)
        return ItemOutcome(Outcome.FAILED, code="InnerItemNotDeleted", message=message)

    # -- re-check ------------------------------------------------------------------------------

    def _recheck(self, space: str, indices: Sequence[int],
                 inside: Mapping[int, Sequence[int]]) -> None:
        withdrawn = {i: ItemOutcome(Outcome.STALE, message=self.deletes[i].withdrawn)
                     for i in indices
                     if i not in self._results and self.deletes[i].withdrawn is not None}
        if withdrawn:
            self._settle(None, withdrawn, space=space)
        pending = [i for i in indices if i not in self._results]
        wanted = pending if self.settings.recheck else [i for i in pending if i in self._maybe]
        if not wanted:
            return
        # A directory whose planned inner items were (or, their answer lost, may have been)
        # deleted changed because of them: only its type can still be compared.
        type_only = {
            i for i in wanted
            if self.deletes[i].type is EntryType.DIR
            and any(self._done(j) or j in self._maybe for j in inside[i])
        }
        self.progress.phase("re-check", f"re-checking {len(wanted)} item(s) of space {space} "
                                        "against the library before sending them")
        checks = recheck(self.writer, space, {i: self.deletes[i] for i in wanted},
                         user_id=self.plan.user_id(space), type_only=type_only,
                         concurrency=self.settings.concurrency)
        self.progress.phase("apply")
        present = [i for i, check in checks.items() if check.found is Found.PRESENT]
        self.journal.present(present)
        with self._lock:
            self._maybe.difference_update(present)
        settled = {
            i: self._checked(i, check)
            for i, check in checks.items() if check.found is not Found.PRESENT
        }
        if settled:
            self._settle(None, settled, space=space)

    def _checked(self, item: int, check: Check) -> ItemOutcome:
        if check.found is Found.ABSENT:
            if item in self._maybe:
                return applied_earlier(self.deletes[item])
            return ItemOutcome(Outcome.ALREADY_GONE, message="not in the library any more")
        if check.found is Found.UNKNOWN:
            # Not knowing is not a change: the item could not be checked, so it failed.
            return ItemOutcome(Outcome.FAILED, check.status, check.code,
                               f"not re-checked: {check.detail}")
        return ItemOutcome(Outcome.STALE, message=check.detail)

    # -- batches -------------------------------------------------------------------------------

    def _send(self, space: str, items: tuple[int, ...], parent: int | None = None,
              single: bool = False) -> None:
        """Send one batch (or, `single`, one item with its own endpoint) and settle it."""
        if self.stop.is_set():
            return
        if space in self._bin_off:
            held = {i: ItemOutcome(Outcome.FAILED, code=RECYCLE_BIN_OFF, message=BIN_OFF_NOT_SENT)
                    for i in items if self.deletes[i].final_mode is Mode.RECYCLE}
            if held:
                self._settle(None, held, space=space)
                items = tuple(i for i in items if i not in held)
                if not items:
                    return
        with self._lock:
            resent = {i for i in items if i in self._maybe}
            self._maybe.update(items)
        number = self.journal.batch(space, items, parent=parent, resent=sorted(resent),
                                    single=single)
        user_id = self.plan.user_id(space)
        try:
            if single:
                reply = self._delete_one(space, items[0], user_id)
            else:
                delete_items = [self._item(i) for i in items]
                reply = self.writer.batch_delete(space, delete_items, user_id=user_id)
                if reply.task_id is not None:
                    self.journal.task(number, reply.task_id, retried=reply.retried)
                    self._await_task(space, number, reply.task_id, items, resent=resent,
                                     retried=reply.retried)
                    return
        except CredentialsError:
            raise  # every batch would meet it: the run ends with this one error
        except SmhError as error:
            self._failed_whole(space, number, items, error, single=single, resent=resent)
            return
        except ReconcileError as error:
            self._settle(number, {i: _from_error(error) for i in items}, space=space)
            return
        self._settle_reply(space, number, items, reply, resent=resent)

    def _await_task(self, space: str, number: int, task_id: int, items: Sequence[int], *,
                    resent: set[int], retried: bool, attached: bool = False) -> None:
        try:
            reply = self.writer.wait_batch(
                space, task_id, [self._item(i) for i in items],
                max_wait=self.settings.task_max_wait, user_id=self.plan.user_id(space),
            )
        except SmhError as error:
            if attached:
                # A task of an earlier run: its items are not sent again before the re-check
                # has seen them (the task may have deleted them, or they may have changed).
                status = error.status if isinstance(error, SmhRequestError) else None
                code = error.code if isinstance(error, SmhRequestError) else None
                self.journal.batch_failed(number, status, code, error.message)
                return
            self._failed_whole(space, number, tuple(items), error, single=False,
                               resent=resent)
            return
        if reply.results is None:
            self._verify_by_listing(space, number, items, task_id, reply.status)
            return
        self._settle_reply(space, number, items, reply, resent=resent, retried=retried,
                           task_id=task_id)

    def _verify_by_listing(self, space: str, number: int, items: Sequence[int], task_id: int,
                           status: int) -> None:
        """A task that ended without per-item results (204, 500, or no result): each item is
        reported from what a listing of its directory now shows. Nothing is sent again: an
        item still there failed, and the next apply plans it afresh."""
        said = f"task {task_id} ended with status {status} and no per-item results"
        checks = recheck(self.writer, space, {i: self.deletes[i] for i in items},
                         user_id=self.plan.user_id(space), type_only=items,
                         concurrency=self.settings.concurrency)
        outcomes: dict[int, ItemOutcome] = {}
        for item in items:
            check = checks[item]
            if check.found is Found.ABSENT:
                outcomes[item] = applied_earlier(
                    self.deletes[item], status=status,
                    message=f"{said}; it is gone from its directory's listing")
            elif check.found is Found.PRESENT:
                outcomes[item] = ItemOutcome(
                    Outcome.FAILED, status, code="TaskWithoutResult",
                    message=f"{said}; it is still in its directory's listing")
            else:
                outcomes[item] = ItemOutcome(Outcome.FAILED, status, code="TaskWithoutResult",
                                             message=f"{said}; {check.detail}")
        log.info("batch %d: %s; verified %d item(s) by listing", number, said, len(items))
        self._settle(number, outcomes, space=space, task_id=task_id)

    def _settle_reply(self, space: str, number: int, items: Sequence[int], reply: BatchReply,
                      *, resent: set[int], retried: bool = False,
                      task_id: int | None = None) -> None:
        results = reply.results or ()
        retried = retried or reply.retried
        self._settle(number, {
            item: interpret(result, self.deletes[item],
                            maybe_applied=retried or item in resent)
            for item, result in zip(items, results, strict=True)
        }, space=space, task_id=task_id)

    def _failed_whole(self, space: str, number: int, items: tuple[int, ...], error: SmhError,
                      *, single: bool, resent: set[int]) -> None:
        status = error.status if isinstance(error, SmhRequestError) else None
        code = error.code if isinstance(error, SmhRequestError) else None
        self.journal.batch_failed(number, status, code, error.message)
        log.info("batch %d (%d item(s)) failed as a whole: %s", number, len(items),
                 error.message)
        if single or status in AUTH_STATUSES:
            # Nothing smaller to try, or a refusal no smaller call would escape. An item
            # that this call (an attempt whose answer was lost) or an earlier one may have
            # deleted is looked up: if it is gone, that call deleted it.
            lost = isinstance(error, SmhRequestError) and (
                error.attempts > 1 or status is None or status >= 500)
            maybe = [i for i in items if lost or i in resent]
            gone: set[int] = set()
            if maybe:
                checks = recheck(self.writer, space, {i: self.deletes[i] for i in maybe},
                                 user_id=self.plan.user_id(space), type_only=maybe,
                                 concurrency=1)
                gone = {i for i, check in checks.items() if check.found is Found.ABSENT}
            self._settle(number, {
                i: applied_earlier(self.deletes[i]) if i in gone else _from_error(error)
                for i in items
            }, space=space)
            return
        if len(items) == 1:
            self._send(space, items, parent=number, single=True)
            return
        for half in halves(items):
            self._send(space, half, parent=number, single=len(half) == 1)

    def _delete_one(self, space: str, item: int, user_id: str | None) -> BatchReply:
        delete = self.deletes[item]
        permanent = delete.mode is Mode.PERMANENT
        call = (self.writer.delete_directory if delete.type is EntryType.DIR
                else self.writer.delete_file)
        result = call(space, delete.path, permanent=permanent, user_id=user_id)
        return BatchReply(result.status, results=(result,))

    def _item(self, item: int) -> DeleteItem:
        delete = self.deletes[item]
        return DeleteItem(delete.path, permanent=delete.mode is Mode.PERMANENT)

    # -- directories and recycle-bin items -------------------------------------------------

    def _create_directories(self, space: str) -> None:
        """Create the space's missing directories, before its deletes, one call each (SMH
        creates missing parents itself). A name already taken by a directory is done; by a
        file, failed."""
        user_id = self.plan.user_id(space)
        for change in self.plan.created:
            if change.space != space or self.stop.is_set():
                continue
            item = {"path": change.path}
            self.journal.change(change.action.value, space, "sent", item)
            try:
                if self.writer.create_directory(space, change.path, user_id=user_id):
                    outcome = ItemOutcome(Outcome.CREATED, 201)
                else:
                    found = self.writer.info(space, change.path, user_id=user_id)
                    outcome = (ItemOutcome(Outcome.CREATED, 409, message="it was there already")
                               if found is not None and found.is_dir else
                               ItemOutcome(Outcome.FAILED, 409, "SameNameDirectoryOrFileExists",
                                           "a file of that name is in the way"))
            except CredentialsError:
                raise  # every call would meet it: the run ends with this one error
            except ReconcileError as error:
                outcome = _from_error(error)
            self.journal.change(change.action.value, space, "done", item, outcome)
            with self._lock:
                self._created[(space, change.path)] = outcome
            self.progress.note(f"create {change.path}/ (space {space}): "
                               f"{outcome.outcome.value}")

    def _delete_recycled(self, space: str) -> None:
        """Delete the space's planned bin items for good. The batch call's answer says nothing
        of each item, so the bin is listed before (only items still there, as planned, are
        sent: never one this apply recycled) and after (each item is reported from it)."""
        planned = [c for c in self.plan.bin_deletes if c.space == space]
        if not planned:
            return
        user_id = self.plan.user_id(space)
        outcomes: dict[int, ItemOutcome] = {}
        try:
            before = {item.recycled_item_id: item
                      for item in self.writer.list_recycle_bin(space, user_id=user_id)}
        except CredentialsError:
            raise
        except ReconcileError as error:
            self._settle_bin(space, {c.recycled_item_id: _from_error(error) for c in planned})
            return
        sendable: list[int] = []
        for change in planned:
            now = before.get(change.recycled_item_id)
            if change.withdrawn is not None:
                outcomes[change.recycled_item_id] = ItemOutcome(Outcome.STALE,
                                                                message=change.withdrawn)
            elif now is None:
                outcomes[change.recycled_item_id] = ItemOutcome(
                    Outcome.ALREADY_GONE, message="not in the recycle bin any more")
            elif now.original_path != change.original_path:
                outcomes[change.recycled_item_id] = ItemOutcome(
                    Outcome.STALE, message=f"the bin item is now {now.original_path}, not "
                                           "the one planned")
            else:
                sendable.append(change.recycled_item_id)
        self._settle_bin(space, outcomes)
        for batch in chunks(sendable, self.settings.batch_size):
            if self.stop.is_set():
                return
            self._delete_bin_batch(space, batch, user_id)

    def _delete_bin_batch(self, space: str, batch: Sequence[int], user_id: str | None) -> None:
        item = {"recycled_item_ids": list(batch)}
        self.journal.change(DELETE_RECYCLED, space, "sent", item)
        said: ReconcileError | None = None
        try:
            self.writer.delete_recycled(space, batch, user_id=user_id)
        except CredentialsError:
            raise
        except ReconcileError as error:
            said = error  # a 500 says nothing of each item either: the listing tells
        try:
            left = {entry.recycled_item_id
                    for entry in self.writer.list_recycle_bin(space, user_id=user_id)}
        except CredentialsError:
            raise
        except ReconcileError as error:
            outcomes = {i: ItemOutcome(Outcome.FAILED, message=(
                f"the bin could not be listed after the delete call to see whether it went: "
                f"{error.message}")) for i in batch}
        else:
            failed = _from_error(said) if said is not None else None
            outcomes = {
                i: ItemOutcome(Outcome.FAILED, failed.status if failed else None,
                               failed.code if failed else "StillInRecycleBin",
                               "still in the recycle bin after the delete call"
                               + (f" ({failed.message})" if failed and failed.message else ""))
                if i in left else ItemOutcome(Outcome.DELETED, 204)
                for i in batch
            }
        self.journal.change(DELETE_RECYCLED, space, "done", item)
        self._settle_bin(space, outcomes)

    def _settle_bin(self, space: str, outcomes: Mapping[int, ItemOutcome]) -> None:
        if not outcomes:
            return
        self.journal.change(DELETE_RECYCLED, space, "outcomes", {
            "items": {str(i): outcome.to_json() for i, outcome in outcomes.items()}})
        with self._lock:
            self._bin_deleted.update({(space, i): o for i, o in outcomes.items()})
        deleted = sum(1 for outcome in outcomes.values() if outcome.outcome.done)
        self.progress.note(f"recycle bin of space {space}: {deleted} of {len(outcomes)} "
                           "item(s) deleted for good")

    # -- maintenance ---------------------------------------------------------------------------

    def _recorded_done(self, key: tuple[str, str | None]) -> bool:
        """Whether an interrupted apply already finished this step (it is not done twice)."""
        record = self._recorded_steps.get(key)
        if record is None or record.get("phase") != "done":
            return False
        report = StepReport.from_json(record)
        if report.outcome is not StepOutcome.DONE:
            return False
        with self._lock:
            self._steps[key] = report
        return True

    def _empty_bin(self, space: str) -> None:
        key = (maintenance.EMPTY_RECYCLE_BIN, space)
        if self._recorded_done(key):
            return
        self.progress.note(f"emptying the recycle bin of space {space}")
        report = maintenance.empty_recycle_bin(self.writer, self.journal, space,
                                               user_id=self.plan.user_id(space))
        with self._lock:
            self._steps[key] = report

    def _clear_history(self) -> None:
        key = (maintenance.CLEAR_HISTORY, None)
        if self._recorded_done(key):
            return
        self.progress.note("clearing the library's earlier file versions")
        report = maintenance.clear_history(
            self.writer, self.journal, sleep=self.sleep,
            recorded=self._recorded_steps.get(key), max_wait=self.settings.task_max_wait,
        )
        with self._lock:
            self._steps[key] = report


def bin_was_off(outcome: ItemOutcome) -> bool:
    """Whether a recycle delete removed the item permanently (the space has no bin)."""
    return outcome.outcome is Outcome.DELETED and outcome.code == RECYCLE_BIN_OFF


UNANSWERED = ItemOutcome(
    Outcome.UNANSWERED,
    message="sent, but apply stopped before the answer came: it may be deleted; run the same "
            "command again to find out and finish",
)


def item_outcomes(deletes: Iterable[Delete], results: Mapping[int, ItemOutcome],
                  unanswered: Collection[int] = ()) -> list[tuple[Delete, ItemOutcome]]:
    """Every planned item with its outcome: settled, sent without an answer, or not attempted."""
    return [
        (delete, results.get(index)
         or (UNANSWERED if index in unanswered else ItemOutcome(Outcome.NOT_ATTEMPTED)))
        for index, delete in enumerate(deletes)
    ]
