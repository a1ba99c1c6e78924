"""Carrying a plan out: batched deletes, tasks, splits, re-checks, maintenance, in order.

Per space, in this order: re-check what needs it (every item of a saved or resumed plan;
otherwise only items a lost answer may have deleted), create its missing directories
(`create_missing`), then the waves of `batching.order` (each wave's batches `concurrency` at a time,
none waiting for another's task, then all the tasks they started polled together, one query
for all of them), then the bin items it deletes for good (`recycle_bin.older_than`: the bin is
listed before and after the detail-free batch call, to send only items still there as planned
and to report each one), then the space's recycle bin; the history clear last of all, once
every space is done. Every batch is journaled before it is sent and its outcome when it
returns; a 202's task id is journaled before it is polled.

Spaces go side by side (`side_by_side`: `concurrency` of them sending at a time, taken in the
plan's order of spaces, and as many more re-checking theirs meanwhile, see `_run_spaces`):
nothing orders one space's deletes
against another's, and one after another each space would wait out its own round trips (its
re-check, each wave's answers, its tasks' polls) while the others wait. They share the run's
`concurrency`: one pool sends every space's batch calls, another lists the directories of
every space's re-check. A space whose run fails (the credentials refused, the server gone)
stops the others from sending more; the first failure ends the apply once the spaces in
flight are done.

The executor only sends, waits and records: what each answer means, and what to do with a
batch that failed as a whole, a lost answer or a task without per-item results, is decided in
`reconciler.apply.decisions`.

`stop` (the first Ctrl-C) ends the apply between batches: no new batch starts, the ones in
flight are waited for, and items never sent are left for the report as not attempted. A second
Ctrl-C (a `KeyboardInterrupt` in the thread that runs the apply) waits for nothing more: the
answers already back are settled when one space is applied; with several, each space's thread
has settled its answers as they came.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial
from itertools import islice

from reconciler.apply import decisions as decide
from reconciler.apply import maintenance
from reconciler.apply.batching import Order, chunks, order
from reconciler.apply.decisions import ItemId, Remedy, bin_was_off, item_outcomes
from reconciler.apply.journal import Journal, Replay, StepKey, StepRecord
from reconciler.apply.progress import NoProgress, ProgressSink
from reconciler.apply.recheck import Found, recheck
from reconciler.apply.report import Failure, ItemOutcome, ItemReport, StepOutcome, StepReport
from reconciler.apply.results import Results
from reconciler.apply.side_by_side import WAKE_SECONDS, for_each_space
from reconciler.client import BatchReply, BatchRequest, DeleteItem, SmhWriteClient, TaskState
from reconciler.client.writer import batch_task_reply
from reconciler.collector import gc_paused
from reconciler.desired import PERMANENT
from reconciler.errors import CredentialsError, ReconcileError, SmhError
from reconciler.listing import DIR
from reconciler.options import MAX_BATCH_SIZE, MAX_SPACES_AT_ONCE
from reconciler.plan import Action, ClearHistory, EmptyRecycleBin, Plan
from reconciler.slots import new, slot_setter

__all__ = ["MAX_BATCH_SIZE", "Executor", "Settings", "bin_was_off", "item_outcomes"]

log = logging.getLogger(__name__)

_SET_ITEM = (slot_setter(DeleteItem, "path"), slot_setter(DeleteItem, "permanent"))


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


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch on its way: its journal number, items, and which of them an earlier call may
    already have deleted."""

    space: str
    number: int
    items: tuple[ItemId, ...]
    resent: frozenset[ItemId]
    single: bool = False
    retried: bool = False
    attached: bool = False
    """A task of an earlier run: if waiting for it fails, its items are not sent again before
    the re-check has seen them (the task may have deleted them, or they may have changed)."""
    request: BatchRequest | None = None
    """The batch call as it was sent (none for a single item or an earlier run's task): its
    items are read again with its task's results."""


_Answered = tuple[_Batch, BatchReply]
"""A batch and its answer with per-item results, not settled yet."""


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
        # Each space's items, in the plan's order.
        self._ids: dict[str, list[ItemId]] = {}
        for index, delete in enumerate(self.deletes):
            self._ids.setdefault(delete.space, []).append(ItemId(index))
        self.writer = writer
        self.journal = journal
        self.settings = settings
        self.progress = progress or NoProgress()
        self.stop = stop or threading.Event()
        self.sleep = sleep
        self.state = Results()
        self._recorded_steps: Mapping[StepKey, StepRecord] = {}
        self._lock = threading.Lock()
        self._running: dict[int, _Batch] = {}
        """Tasks started and not yet polled to their end, by task id."""
        self._halt = threading.Event()
        """Set when a space's run failed: no space sends anything more."""
        self._failure: BaseException | None = None
        """The first failure of a space's run, raised once the others are done."""
        self._sending = 0
        """Spaces sending a wave now: they share the batches made ahead (`_send_wave`)."""
        self._listings: ThreadPoolExecutor | None = None
        """Lists the directories of every space's re-check, `concurrency` at a time."""
        self._turns = threading.BoundedSemaphore(settings.concurrency)
        """Held by a space in its turn: `concurrency` spaces send at a time (`_run_spaces`)."""
        self._admitted = threading.BoundedSemaphore(2 * settings.concurrency)
        """Held by a space from its re-check's start to its turn's end: as many spaces again
        as send at a time re-check theirs, or wait, meanwhile (`_run_spaces`)."""

    # -- what happened -------------------------------------------------------------------------

    @property
    def results(self) -> dict[ItemId, ItemOutcome]:
        """Each settled item's outcome so far; items not in it were not attempted."""
        return self.state.items

    @property
    def unanswered(self) -> set[ItemId]:
        """Items sent (now or by an earlier run) whose answer never came."""
        return self.state.unanswered

    @property
    def steps(self) -> list[StepReport]:
        """The maintenance steps of the plan, in order, with what became of each."""
        return self.state.steps(self.plan)

    @property
    def other_items(self) -> list[ItemReport]:
        """The directories created and the bin items deleted for good, in plan order."""
        return self.state.other_items(self.plan)

    def _settle(self, batch: int | None, outcomes: Mapping[ItemId, ItemOutcome], *,
                space: str, task_id: int | None = None) -> None:
        self.journal.outcomes(batch, outcomes)
        if self.state.settle(space, outcomes):
            log.warning("space %s has no recycle bin: a recycle delete was answered without a "
                        "recycledItemId; no more recycle deletes are sent there", space)
        self.progress.batch(space, outcomes, task_id=task_id)

    def _user(self, space: str) -> str | None:
        return self.plan.user_id(space)

    def _stopping(self) -> bool:
        """Whether nothing more is to be sent: the run was stopped, or another space failed."""
        return self.stop.is_set() or self._halt.is_set()

    # -- the run -------------------------------------------------------------------------------

    def run(self, replay: Replay | None = None) -> None:
        """Apply the plan; with `replay`, finish what an interrupted apply recorded first."""
        if replay is not None:
            self._resume(replay)
        self.progress.start(len(self.deletes), len(self.state.items))
        pool = ThreadPoolExecutor(max_workers=self.settings.concurrency,
                                  thread_name_prefix="smh-apply")
        self._listings = listings = ThreadPoolExecutor(max_workers=self.settings.concurrency,
                                                       thread_name_prefix="smh-recheck")
        try:
            if replay is not None:
                self._attach(replay)
            self._run_spaces(self._spaces(), pool)
            if not self.stop.is_set() and isinstance(self.plan.clear_history, ClearHistory):
                self._clear_history()
        finally:
            # An abandoned run (a second Ctrl-C) must not wait here for calls in flight.
            pool.shutdown(wait=False, cancel_futures=True)
            listings.shutdown(wait=False, cancel_futures=True)
            self.progress.stop()

    def _resume(self, replay: Replay) -> None:
        # Only what is done stays settled; failed and stale items get another chance.
        done = {i: r for i, r in replay.results.items() if r.outcome.done}
        self.state = Results(done, replay.maybe_applied,
                                {self.deletes[i].space for i, r in done.items() if bin_was_off(r)})
        self._recorded_steps = replay.steps

    def _spaces(self) -> list[str]:
        """The spaces in the order they are applied: those with deletes first."""
        spaces = list(dict.fromkeys(delete.space for delete in self.deletes))
        for change in self.plan.changes:
            if not isinstance(change, ClearHistory) and change.space not in spaces:
                spaces.append(change.space)
        return spaces

    def _attach(self, replay: Replay) -> None:
        """Wait for the tasks an interrupted apply started, instead of sending them again
        (each space's, side by side)."""
        if not replay.open_tasks:
            return
        self.progress.note(f"attaching to {len(replay.open_tasks)} unfinished task(s)")
        for task in replay.open_tasks:
            self._started(task.task_id, _Batch(task.space, task.batch, task.items,
                                               frozenset(task.resent), retried=task.retried,
                                               attached=True))
        for_each_space(self._await_tasks, list(dict.fromkeys(
            task.space for task in replay.open_tasks)), at_once=self.settings.concurrency)

    def _run_spaces(self, spaces: Sequence[str], pool: ThreadPoolExecutor) -> None:
        """Each space's run, side by side; the first failure is raised once all are done.

        `concurrency` spaces send at a time, each in its turn (its missing directories,
        batches, task polls and bin); a space with nothing left but its last tasks' polls
        passes its turn on while it polls (`_send_space`). As many more spaces re-check
        theirs meanwhile, their listings sharing the listing pool with the others' (the pool
        takes them in the order they came), so that a turn begins with its re-check done; the
        first of them done takes the next turn, and no more than `concurrency` wait. Spaces
        polling their last tasks are not counted: up to `concurrency` more threads (at most
        `MAX_SPACES_AT_ONCE` in all) keep the turns going while they poll. With
        `concurrency` 1 no space goes ahead: one request at a time, one space after another.
        """
        concurrency = self.settings.concurrency
        at_once = 1 if concurrency == 1 else min(3 * concurrency, MAX_SPACES_AT_ONCE)
        try:
            for_each_space(partial(self._space_run, pool=pool), spaces, at_once=at_once)
        except BaseException:
            self._halt.set()  # an abandoned run (a second Ctrl-C) sends nothing more
            raise
        if self._failure is not None:
            raise self._failure

    def _space_run(self, space: str, pool: ThreadPoolExecutor) -> None:
        """One space's run beside the others': a failure stops them all from sending more."""
        if self._stopping():
            return
        try:
            self._run_space(space, pool)
        except BaseException as error:
            with self._lock:
                if self._failure is None:
                    self._failure = error
            self._halt.set()

    def _run_space(self, space: str, pool: ThreadPoolExecutor) -> None:
        ids = self._ids.get(space, [])
        space_order = order([self.deletes[i].path for i in ids])
        inside = {ids[p]: [ids[q] for q in space_order.inside(p)] for p in range(len(ids))}
        if not self._take(self._admitted):
            return
        held = [self._admitted]

        def leave_turn() -> None:
            while held:
                held.pop().release()

        try:
            self._recheck(space, ids, inside)
            if not self._take(self._turns):
                return
            held.append(self._turns)
            self._send_space(space, pool, ids, space_order, inside, leave_turn)
        finally:
            leave_turn()

    def _take(self, semaphore: threading.BoundedSemaphore) -> bool:
        """Wait for `semaphore`; False when the run stops first."""
        while not semaphore.acquire(timeout=WAKE_SECONDS):
            if self._stopping():
                return False
        return True

    def _send_space(self, space: str, pool: ThreadPoolExecutor, ids: Sequence[ItemId],
                    space_order: Order, inside: Mapping[ItemId, Sequence[ItemId]],
                    leave_turn: Callable[[], None]) -> None:
        """A space's turn, its re-check done: its missing directories, waves and bin. The
        turn passes to the next space once its last batches are answered when nothing but
        their tasks' polls is left (and the halves of a task that failed as a whole): those
        wait on the server, not on the workers."""
        if self._stopping():
            return
        maintenance.create_directories(self._changes(space), self.plan.created)
        empties = any(isinstance(c, EmptyRecycleBin) for c in self.plan.of_space(space).changes)
        maintained = empties or any(change.space == space for change in self.plan.bin_deletes)
        last = -1 if maintained else len(space_order.waves) - 1
        for number, wave in enumerate(space_order.waves):
            if self._stopping():
                return
            sendable = self._sendable(space, [ids[position] for position in wave], inside)
            # The wave's batches go out `concurrency` at a time, none waiting for another's
            # task; then all the tasks they started are polled together. Each batch makes
            # thousands of small acyclic objects (its items, the answer's rows, the results
            # and outcomes) that live while it is in flight: the collector would rescan those
            # of every batch in flight many times over, for a fifth of the client's CPU. It
            # is paused for the wave; the few cycles each HTTP exchange leaves (about 50
            # objects, a few kilobytes) are collected once it ends.
            with gc_paused(leave_out=False):
                self._send_wave(space, sendable, pool)
                if number == last:
                    leave_turn()
                self._await_tasks(space)
        if self._stopping():
            return
        maintenance.delete_recycled(self._changes(space), self.plan.bin_deletes,
                                    batch_size=self.settings.batch_size)
        if self._stopping():
            return
        if empties:
            self._empty_bin(space)

    def _sendable(self, space: str, wave: Sequence[ItemId],
                  inside: Mapping[ItemId, Sequence[ItemId]]) -> list[ItemId]:
        """The wave's items not settled yet whose inner items are all done; the others are
        settled as blocked."""
        sendable: list[ItemId] = []
        blocked: dict[ItemId, ItemOutcome] = {}
        results = self.state.items
        for item in wave:
            if item in results:
                continue
            waiting = [i for i in inside[item] if not self.state.done(i)]
            if waiting:
                blocked[item] = decide.blocked(waiting, self.deletes, results)
            else:
                sendable.append(item)
        if blocked:
            self._settle(None, blocked, space=space)
        return sendable

    def _send_wave(self, space: str, items: Sequence[ItemId], pool: ThreadPoolExecutor) -> None:
        """A wave's batches, `concurrency` of them in flight.

        Each batch is on disk in the journal before its call (the journal's rule), but neither
        its fsync nor making its request (its items, their paths checked, its body encoded) is
        on the call's way: batches are journaled and made ahead of them (`_ahead` of them),
        here, while the workers send (`_hand_out`). Nor is settling an answer (reading
        its 1,000 results, journaling their outcomes): a worker hands a synchronous answer
        back, here, and takes its next batch at once (one that may show the space has no
        recycle bin it settles first, see `_deliver`). A batch journaled and then not sent
        (the run stopped first) is journaled as unsent. After a failure no more batches are
        handed out; those already given to the workers are sent and settled, and the failure
        is raised once they are done. A second Ctrl-C settles the answers already back and
        waits for no other."""
        batches = iter(chunks(items, self.settings.batch_size))
        unsettled: set[Future[_Answered | None]] = set()
        failure: BaseException | None = None
        with self._lock:
            self._sending += 1
        try:
            while True:
                if failure is None and not self._stopping():
                    room = max(0, self._ahead() - len(unsettled))
                    group = list(islice(batches, room))
                    unsettled.update(self._hand_out(space, group, pool))
                if not unsettled:
                    break
                done, _ = wait(unsettled, return_when=FIRST_COMPLETED)
                for future in done:
                    unsettled.discard(future)
                    # A bug in a worker, or in settling its answer, must not pass silently.
                    error = self._settle_done(future)
                    if error is not None and failure is None:
                        failure = error
        except KeyboardInterrupt:
            for future in unsettled:
                if (future.done() and not future.cancelled()
                        and (error := self._settle_done(future)) is not None):
                    log.warning("an answer was not settled as the run was abandoned: %s",
                                error)
            raise
        finally:
            with self._lock:
                self._sending -= 1
        if failure is not None:
            raise failure

    def _ahead(self) -> int:
        """How many of its batches a space sending a wave keeps made and given to the workers:
        twice the workers, shared among the spaces sending (at least two each), so that the
        workers always have a batch to take and the batches made ahead stay as many however
        many spaces send."""
        return max(2, -(-2 * self.settings.concurrency // max(1, self._sending)))

    def _hand_out(self, space: str, group: Sequence[tuple[ItemId, ...]],
                  pool: ThreadPoolExecutor) -> list[Future[_Answered | None]]:
        """Journal these batches (one fsync for them all) and give them to the workers, each
        with its request made."""
        if not group:
            return []
        maybe = self.state.maybe_applied
        numbers = self.journal.batches(
            space, [(batch, [i for i in batch if maybe(i)]) for batch in group])
        return [pool.submit(self._deliver, space, batch, number=number,
                            request=self._request(batch))
                for batch, number in zip(group, numbers, strict=True)]

    def _settle_done(self, future: Future[_Answered | None]) -> BaseException | None:
        """Settle the answer a finished call handed back, if any; the error that the call, or
        settling its answer, ended with."""
        error = future.exception()
        if error is not None:
            return error
        answered = future.result()
        if answered is not None:
            try:
                self._settle_reply(*answered)
            except Exception as settling:
                return settling
        return None

    # -- re-check ------------------------------------------------------------------------------

    def _recheck(self, space: str, ids: Sequence[ItemId],
                 inside: Mapping[ItemId, Sequence[ItemId]]) -> None:
        results = self.state.items
        withdrawn = decide.withdrawn((i for i in ids if i not in results), self.deletes)
        if withdrawn:
            self._settle(None, withdrawn, space=space)
        pending = [i for i in ids if i not in results and i not in withdrawn]
        maybe = self.state.maybe_applied
        wanted = pending if self.settings.recheck else [i for i in pending if maybe(i)]
        if not wanted:
            return
        # A directory whose planned inner items were (or, their answer lost, may have been)
        # deleted changed because of them: only its type can still be compared.
        type_only = {
            i for i in wanted
            if self.deletes[i].type is DIR
            and any(self.state.done(j) or maybe(j) for j in inside[i])
        }
        self.progress.phase("re-check", f"re-checking {len(wanted)} item(s) of space {space} "
                                        "against the library before sending them", space=space)
        checks = recheck(self.writer, space, {i: self.deletes[i] for i in wanted},
                         user_id=self._user(space), type_only=type_only,
                         concurrency=self.settings.concurrency, executor=self._listings)
        self.progress.phase("apply", space=space)
        present = [i for i, check in checks.items() if check.found is Found.PRESENT]
        self.journal.present(present)
        self.state.present(present)
        settled = {i: decide.checked(self.deletes[i], check, maybe_applied=maybe(i))
                   for i, check in checks.items() if check.found is not Found.PRESENT}
        if settled:
            self._settle(None, settled, space=space)

    # -- batches -------------------------------------------------------------------------------

    def _send(self, space: str, items: tuple[ItemId, ...], parent: int | None = None,
              single: bool = False, number: int | None = None) -> None:
        """Send one batch (or, `single`, one item with its own endpoint) and settle it;
        `number`: the batch is journaled already, under that number."""
        answered = self._deliver(space, items, parent, single, number)
        if answered is not None:
            self._settle_reply(*answered)

    def _deliver(self, space: str, items: tuple[ItemId, ...], parent: int | None = None,
                 single: bool = False, number: int | None = None,
                 request: BatchRequest | None = None) -> _Answered | None:
        """`_send`, except that an answer with per-item results is returned unsettled, for
        the caller to settle (a wave's worker is then free for its next batch at once);
        everything else (a failure, a split, a task, an answer that may show the space has
        no recycle bin) is dealt with here. `request`: the batch call made ahead, sent unless
        items are held back from it."""
        if self._stopping():
            if number is not None:
                self.journal.unsent(number)
            return None
        if self.state.bin_off(space):
            held = decide.held_for_bin_off(items, self.deletes)
            if held:
                self._settle(None, held, space=space)
                items = tuple(i for i in items if i not in held)
                request = None
                if not items:
                    return None
        resent = self.state.sent(items)
        if number is None:
            number = self.journal.batch(space, items, parent=parent, resent=sorted(resent),
                                        single=single)
        batch = _Batch(space, number, items, frozenset(resent), single,
                       request=None if single else request or self._request(items))
        try:
            reply = self._call(batch)
        except CredentialsError:
            raise  # every batch would meet it: the run ends with this one error
        except SmhError as error:
            self._failed_whole(batch, error)
            return None
        except ReconcileError as error:
            self._settle(number, dict.fromkeys(items, decide.failed(error)), space=space)
            return None
        if reply.task_id is not None and not single:
            self.journal.task(number, reply.task_id, retried=reply.retried)
            self._started(reply.task_id, replace(batch, retried=reply.retried))
            return None
        if decide.may_show_bin_off(reply.results or ()):
            # Settled before this thread sends again: should it show that the space has no
            # recycle bin, no more recycle deletes are sent there.
            self._settle_reply(batch, reply)
            return None
        return batch, reply

    def _call(self, batch: _Batch) -> BatchReply:
        user_id = self._user(batch.space)
        if batch.single:
            delete = self.deletes[batch.items[0]]
            call = (self.writer.delete_directory if delete.type is DIR
                    else self.writer.delete_file)
            result = call(batch.space, delete.path, permanent=delete.mode is PERMANENT,
                          user_id=user_id)
            return BatchReply(result.status, results=(result,))
        return self.writer.batch_delete(batch.space, batch.request or self._items(batch.items),
                                        user_id=user_id)

    def _request(self, items: Sequence[ItemId]) -> BatchRequest | None:
        """The batch call for these items; None for one the call itself is to refuse (a
        path the client will not send: the batch's items then fail with its error)."""
        try:
            return BatchRequest.of(self._items(items))
        except ReconcileError:
            return None

    def _items(self, items: Sequence[ItemId]) -> list[DeleteItem]:
        """A batch's delete items, made by setting their slots (`reconciler.slots`)."""
        permanent = PERMANENT
        set_path, set_permanent = _SET_ITEM
        made: list[DeleteItem] = []
        add = made.append
        for delete in map(self.deletes.__getitem__, items):
            item = new(DeleteItem)
            set_path(item, delete.path)
            set_permanent(item, delete.mode is permanent)
            add(item)
        return made

    def _started(self, task_id: int, batch: _Batch) -> None:
        with self._lock:
            self._running[task_id] = batch

    def _await_tasks(self, space: str) -> None:
        """Poll every task of `space` started and not ended, all in one query, and settle each
        batch as its task ends (a failed one's halves may start more: they are polled in the
        next round)."""
        while True:
            with self._lock:
                tasks = {task: batch for task, batch in self._running.items()
                         if batch.space == space}
                for task in tasks:
                    del self._running[task]
            if not tasks:
                return
            try:
                ended = self.writer.wait_tasks(space, list(tasks),
                                               max_wait=self.settings.task_max_wait,
                                               user_id=self._user(space))
            except SmhError as error:
                ended = dict.fromkeys(tasks, error)
            for task_id, batch in tasks.items():
                self._task_ended(batch, task_id, ended[task_id])

    def _task_ended(self, batch: _Batch, task_id: int, ended: TaskState | SmhError) -> None:
        try:
            if isinstance(ended, SmhError):
                raise ended
            reply = batch_task_reply(ended, batch.request.items if batch.request is not None
                                     else self._items(batch.items))
        except SmhError as error:
            if batch.attached:
                self.journal.batch_failed(batch.number, Failure.of(error, whole=True))
                return
            self._failed_whole(batch, error)
            return
        if reply.results is None:
            self._verify_by_listing(batch, task_id, reply.status)
            return
        self._settle_reply(batch, reply, task_id=task_id)

    def _verify_by_listing(self, batch: _Batch, task_id: int, status: int) -> None:
        """A task that ended without per-item results: each item is reported from what a
        listing of its directory now shows; nothing is sent again."""
        space, items = batch.space, batch.items
        checks = recheck(self.writer, space, {i: self.deletes[i] for i in items},
                         user_id=self._user(space), type_only=items,
                         concurrency=self.settings.concurrency, executor=self._listings)
        outcomes = decide.from_listing(items, self.deletes, checks, task_id=task_id,
                                       status=status)
        log.info("batch %d: task %d ended with status %d and no per-item results; verified "
                 "%d item(s) by listing", batch.number, task_id, status, len(items))
        self._settle(batch.number, outcomes, space=space, task_id=task_id)

    def _settle_reply(self, batch: _Batch, reply: BatchReply, *,
                      task_id: int | None = None) -> None:
        outcomes = decide.read_reply(batch.items, reply.results or (), self.deletes,
                                     retried=batch.retried or reply.retried,
                                     resent=batch.resent)
        self._settle(batch.number, outcomes, space=batch.space, task_id=task_id)

    def _failed_whole(self, batch: _Batch, error: SmhError) -> None:
        self.journal.batch_failed(batch.number, Failure.of(error, whole=True))
        log.info("batch %d (%d item(s)) failed as a whole: %s", batch.number, len(batch.items),
                 error.message)
        choice = decide.on_whole_failure(batch.items, error, single=batch.single,
                                         resent=batch.resent)
        if choice.remedy is Remedy.SPLIT:
            for part in choice.parts:
                self._send(batch.space, part, parent=batch.number, single=len(part) == 1)
            return
        self._settle(batch.number, decide.settled_failure(
            batch.items, self.deletes, choice.failure, self._gone(batch.space, choice.look_up)),
            space=batch.space)

    def _gone(self, space: str, items: Collection[ItemId]) -> set[ItemId]:
        """The items a listing no longer shows (a call whose answer was lost deleted them)."""
        if not items:
            return set()
        checks = recheck(self.writer, space, {i: self.deletes[i] for i in items},
                         user_id=self._user(space), type_only=items, concurrency=1)
        return {i for i, check in checks.items() if check.found is Found.ABSENT}

    # -- directories and recycle-bin items -------------------------------------------------

    def _changes(self, space: str) -> maintenance.Changes:
        return maintenance.Changes(self.writer, self.journal, self.state, self.progress,
                                   self._stopping, space, self._user(space))

    # -- maintenance ---------------------------------------------------------------------------

    def _recorded_done(self, key: StepKey) -> bool:
        """Whether an interrupted apply already finished this step (it is not done twice)."""
        record = self._recorded_steps.get(key)
        if record is None or record.report is None:
            return False
        if record.report.outcome is not StepOutcome.DONE:
            return False
        self.state.step(record.report)
        return True

    def _empty_bin(self, space: str) -> None:
        if self._recorded_done((Action.EMPTY_RECYCLE_BIN, space)):
            return
        self.progress.note(f"emptying the recycle bin of space {space}")
        self.state.step(maintenance.empty_recycle_bin(self.writer, self.journal, space,
                                                         user_id=self._user(space)))

    def _clear_history(self) -> None:
        key: StepKey = (Action.CLEAR_HISTORY, None)
        if self._recorded_done(key):
            return
        self.progress.note("clearing the library's earlier file versions")
        self.state.step(maintenance.clear_history(
            self.writer, self.journal, sleep=self.sleep,
            recorded=self._recorded_steps.get(key), max_wait=self.settings.task_max_wait))
