"""The changes other than deletes: a space's missing directories created before its deletes,
its bin items deleted for good after them, emptying its recycle bin; clearing history last.

Creating a directory is one call each (SMH creates missing parents itself); a name already
taken by a directory is done, by a file failed. Deleting bin items for good is a batch call
whose answer says nothing of each item, so the bin is listed before (only items still there,
as planned, are sent: never one this apply recycled) and after (each item is reported from
it). Both are safe to repeat, so a resumed apply does them again.

Emptying a bin (seed "Empty Recycle Bin", 204) is safe to repeat, so it is simply done again
after an interruption. Clearing earlier versions (seed "Clear Earlier Version") is refused by
SMH while history is enabled, so the setting is read again first; it answers 202 with a library
task, whose id is journaled before it is polled to the end (a resumed apply attaches to it);
and it is allowed once a minute: the client already retries a 429 as `Retry-After` asks, and
should that not outlast the limit, one more whole minute is waited (with the injected sleep)
before a last try.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from reconciler.apply import decisions as decide
from reconciler.apply.batching import chunks
from reconciler.apply.journal import Journal, Phase, StepRecord
from reconciler.apply.progress import ProgressSink
from reconciler.apply.report import Failure, ItemOutcome, StepOutcome, StepReport
from reconciler.apply.results import Results
from reconciler.client import SmhWriteClient
from reconciler.errors import CredentialsError, ReconcileError
from reconciler.plan import Action, CreateDirectory, DeleteRecycled
from reconciler.retry import SmhRequestError

HISTORY_CLEAR_INTERVAL: Final = 60.0


@dataclass(frozen=True, slots=True)
class Changes:
    """What carrying out one space's other changes needs."""

    writer: SmhWriteClient
    journal: Journal
    results: Results
    progress: ProgressSink
    stopping: Callable[[], bool]
    """Whether nothing more is to be sent (the run was stopped, or another space failed)."""
    space: str
    user_id: str | None


def create_directories(run: Changes, planned: Iterable[CreateDirectory]) -> None:
    """Create the space's missing directories, one call each."""
    space, writer = run.space, run.writer
    for change in planned:
        if change.space != space or run.stopping():
            continue
        run.journal.change(change.action, space, Phase.SENT, path=change.path)
        try:
            made = writer.create_directory(space, change.path, user_id=run.user_id)
            found = None if made else writer.info(space, change.path, user_id=run.user_id)
            outcome = decide.created(made, found)
        except CredentialsError:
            raise  # every call would meet it: the run ends with this one error
        except ReconcileError as error:
            outcome = decide.failed(error)
        run.journal.change(change.action, space, Phase.DONE, path=change.path,
                           outcome=outcome)
        run.results.created(space, change.path, outcome)
        run.progress.note(f"create {change.path}/ (space {space}): {outcome.outcome.value}")


def delete_recycled(run: Changes, planned: Iterable[DeleteRecycled], *,
                    batch_size: int) -> None:
    """Delete the space's planned bin items for good, between two listings of the bin."""
    mine = [change for change in planned if change.space == run.space]
    if not mine:
        return
    try:
        before = {item.recycled_item_id: item
                  for item in run.writer.list_recycle_bin(run.space, user_id=run.user_id)}
    except CredentialsError:
        raise
    except ReconcileError as error:
        _settle_bin(run, {c.recycled_item_id: decide.failed(error) for c in mine})
        return
    sendable, outcomes = decide.bin_sendable(mine, before)
    _settle_bin(run, outcomes)
    for batch in chunks(sendable, batch_size):
        if run.stopping():
            return
        _delete_bin_batch(run, batch)


def _delete_bin_batch(run: Changes, batch: Sequence[int]) -> None:
    space, ids = run.space, tuple(batch)
    run.journal.change(Action.DELETE_RECYCLED, space, Phase.SENT, recycled_item_ids=ids)
    said: ReconcileError | None = None
    try:
        run.writer.delete_recycled(space, batch, user_id=run.user_id)
    except CredentialsError:
        raise
    except ReconcileError as error:
        said = error  # a 500 says nothing of each item either: the listing tells
    try:
        left = {entry.recycled_item_id
                for entry in run.writer.list_recycle_bin(space, user_id=run.user_id)}
    except CredentialsError:
        raise
    except ReconcileError as error:
        outcomes = decide.bin_unlisted(batch, error)
    else:
        outcomes = decide.bin_deleted(batch, left, said)
    run.journal.change(Action.DELETE_RECYCLED, space, Phase.DONE, recycled_item_ids=ids)
    _settle_bin(run, outcomes)


def _settle_bin(run: Changes, outcomes: Mapping[int, ItemOutcome]) -> None:
    if not outcomes:
        return
    run.journal.change(Action.DELETE_RECYCLED, run.space, Phase.OUTCOMES, outcomes=outcomes)
    run.results.bin_items(run.space, outcomes)
    deleted = sum(1 for outcome in outcomes.values() if outcome.outcome.done)
    run.progress.note(f"recycle bin of space {run.space}: {deleted} of {len(outcomes)} "
                      "item(s) deleted for good")


def _failed(action: Action, space: str | None, error: ReconcileError,
            task_id: int | None = None) -> StepReport:
    return StepReport(action, space, StepOutcome.FAILED, Failure.of(error, whole=True), task_id)


def empty_recycle_bin(
    writer: SmhWriteClient, journal: Journal, space: str, *, user_id: str | None
) -> StepReport:
    journal.step(Action.EMPTY_RECYCLE_BIN, space, Phase.SENT)
    try:
        writer.empty_recycle_bin(space, user_id=user_id)
    except ReconcileError as error:
        report = _failed(Action.EMPTY_RECYCLE_BIN, space, error)
    else:
        report = StepReport(Action.EMPTY_RECYCLE_BIN, space, StepOutcome.DONE, Failure(204))
    journal.step_done(report)
    return report


def clear_history(
    writer: SmhWriteClient,
    journal: Journal,
    *,
    sleep: Callable[[float], None],
    recorded: StepRecord | None = None,
    max_wait: float = 600.0,
) -> StepReport:
    """Clear the library's earlier versions; `recorded` is the journal's last record of this
    step from an interrupted apply, whose task is attached to rather than started again."""
    task_id = recorded.task_id if recorded is not None and recorded.phase is Phase.TASK else None
    try:
        if task_id is None:
            if writer.history_enabled():
                report = StepReport(Action.CLEAR_HISTORY, None, StepOutcome.FAILED, Failure(
                    code="FileHistoryEnabled",
                    message="file history is enabled on the library; disable it first"))
                journal.step_done(report)
                return report
            journal.step(Action.CLEAR_HISTORY, None, Phase.SENT)
            task_id = _start_clear(writer, sleep)
            journal.step(Action.CLEAR_HISTORY, None, Phase.TASK, task_id=task_id)
        state = writer.wait_task(None, task_id, max_wait=max_wait)
    except ReconcileError as error:
        report = _failed(Action.CLEAR_HISTORY, None, error, task_id)
    else:
        if state.succeeded:
            report = StepReport(Action.CLEAR_HISTORY, None, StepOutcome.DONE,
                                Failure(state.status), task_id=task_id)
        else:
            report = StepReport(Action.CLEAR_HISTORY, None, StepOutcome.FAILED, Failure(
                state.status, message=f"the library task ended with status {state.status}"),
                task_id=task_id)
    journal.step_done(report)
    return report


def _start_clear(writer: SmhWriteClient, sleep: Callable[[float], None]) -> int:
    try:
        return writer.clear_history()
    except SmhRequestError as error:
        if error.status != 429:
            raise
    # The client's own retries did not outlast the one-call-a-minute limit: wait a whole
    # interval once more, then try a last time.
    sleep(HISTORY_CLEAR_INTERVAL)
    return writer.clear_history()
