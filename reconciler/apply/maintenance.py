"""Library maintenance after the deletes: emptying a space's recycle bin, clearing history.

Emptying a bin (seed "Empty Recycle Bin", 204) is safe to repeat, so it is simply done again
after an interruption. Clearing earlier versions (seed "Clear Earlier Version") is refused by
SMH while history is enabled, so the setting is read again first; it answers 202 with a library
task, whose id is journaled before it is polled to the end (a resumed apply attaches to it);
and it is allowed once a minute: the client already retries a 429 as `Retry-After` asks, and
should that not outlast the limit, one more whole minute is waited (with the injected sleep)
before a last try.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from reconciler.apply.journal import Journal
from reconciler.apply.report import StepOutcome, StepReport
from reconciler.client import SmhWriteClient
from reconciler.errors import ReconcileError
from reconciler.retry import SmhRequestError

EMPTY_RECYCLE_BIN: Final = "empty_recycle_bin"
CLEAR_HISTORY: Final = "clear_history"
HISTORY_CLEAR_INTERVAL: Final = 60.0


def _failed(action: str, space: str | None, error: ReconcileError,
            task_id: int | None = None) -> StepReport:
    if isinstance(error, SmhRequestError):
        return StepReport(action, space, StepOutcome.FAILED, error.status, error.code,
                          error.message, task_id)
    return StepReport(action, space, StepOutcome.FAILED, message=error.message, task_id=task_id)


def empty_recycle_bin(
    writer: SmhWriteClient, journal: Journal, space: str, *, user_id: str | None
) -> StepReport:
    journal.step(EMPTY_RECYCLE_BIN, space, "sent")
    try:
        writer.empty_recycle_bin(space, user_id=user_id)
    except ReconcileError as error:
        report = _failed(EMPTY_RECYCLE_BIN, space, error)
    else:
        report = StepReport(EMPTY_RECYCLE_BIN, space, StepOutcome.DONE, status=204)
    journal.step_done(report)
    return report


def clear_history(
    writer: SmhWriteClient,
    journal: Journal,
    *,
    sleep: Callable[[float], None],
    recorded: Mapping[str, Any] | None = None,
    max_wait: float = 600.0,
) -> StepReport:
    """Clear the library's earlier versions; `recorded` is the journal's last record of this
    step from an interrupted apply, whose task is attached to rather than started again."""
    task_id: int | None = None
    if recorded is not None and recorded.get("phase") == "task":
        task_id = int(recorded["task_id"])
    try:
        if task_id is None:
            if writer.history_enabled():
                report = StepReport(
                    CLEAR_HISTORY, None, StepOutcome.FAILED, code="FileHistoryEnabled",
                    message="file history is enabled on the library; disable it first",
                )
                journal.step_done(report)
                return report
            journal.step(CLEAR_HISTORY, None, "sent")
            task_id = _start_clear(writer, sleep)
            journal.step(CLEAR_HISTORY, None, "task", task_id=task_id)
        state = writer.wait_task(None, task_id, max_wait=max_wait)
    except ReconcileError as error:
        report = _failed(CLEAR_HISTORY, None, error, task_id)
    else:
        if state.succeeded:
            report = StepReport(CLEAR_HISTORY, None, StepOutcome.DONE, state.status,
                                task_id=task_id)
        else:
            report = StepReport(CLEAR_HISTORY, None, StepOutcome.FAILED, state.status,
                                message=f"the library task ended with status {state.status}",
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
