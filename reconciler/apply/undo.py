"""Undo: restore from the recycle bin what an apply report says was recycled.

Per space, the recycled items are restored with batch restore calls (200, 207 and 202 alike),
outer items first, the reverse of the apply order, so that a directory is back before an item
that goes inside it. An item whose recycle-bin id is unknown is found by listing the bin and
matching its original path (the most recently removed match not claimed by another item). A
restore call the client had to re-send may answer 404 for an item its first attempt already
restored; that item counts as restored, to a path the answer did not give.

An item no longer in the recycle bin whose original path is in the library again (an earlier
undo put it back) is `already_restored`, not a failure. Within a wave, `concurrency` restore
calls are in flight at once, and each settled batch is shown on the progress display.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.apply.batching import chunks, order
from reconciler.apply.progress import NoProgress, ProgressSink
from reconciler.apply.recheck import Found, recheck
from reconciler.apply.report import (
    NO_FAILURE,
    NO_PERMISSION,
    Answered,
    ApplyReport,
    Failure,
    ItemReport,
    Outcome,
)
from reconciler.apply.side_by_side import shared_or_own
from reconciler.client import ItemResult, RecycledItem, SmhWriteClient
from reconciler.desired import Mode
from reconciler.errors import ReconcileError
from reconciler.options import MAX_RESTORE_ITEMS
from reconciler.plan import Delete
from reconciler.render.common import visible

UNDO_REPORT_KIND = "smh-reconcile-undo-report"
# How the server says a recycle-bin entry is not there (any more).
NOT_IN_BIN_CODES = frozenset({"RecycledItemNotFound", "RecycledItemNotExist"})


class Restored(StrEnum):
    RESTORED = "restored"
    ALREADY_RESTORED = "already_restored"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RestoreResult(Answered):
    space: str
    path: str
    recycled_item_id: int | None
    outcome: Restored
    restored_path: str | None = None
    answer: Failure = NO_FAILURE

    def to_json(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "path": self.path,
            "recycled_item_id": self.recycled_item_id,
            "outcome": self.outcome.value,
            "restored_path": self.restored_path,
            **self.answer.to_json(),
        }


@dataclass(frozen=True, slots=True)
class UndoReport:
    library: str
    endpoint: str
    plan_digest: str
    started_at: str
    finished_at: str
    items: tuple[RestoreResult, ...]

    @property
    def failed(self) -> bool:
        return any(item.outcome is Restored.FAILED for item in self.items)

    def totals(self) -> dict[str, int]:
        counts = Counter(item.outcome for item in self.items)
        return {"items": len(self.items), **{o.value: counts.get(o, 0) for o in Restored}}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": UNDO_REPORT_KIND,
            "format_version": 1,
            "library": self.library,
            "endpoint": self.endpoint,
            "plan_digest": self.plan_digest,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "items": [item.to_json() for item in self.items],
            "totals": self.totals(),
        }


def render_undo_summary(report: UndoReport) -> str:
    totals = report.totals()
    already = (f", {totals['already_restored']} already restored"
               if totals["already_restored"] else "")
    lines = [
        f"Undo finished for library {report.library}: {totals['items']} item(s): "
        f"{totals['restored']} restored{already}, {totals['failed']} failed."
    ]
    for item in report.items:
        where = visible(item.path if item.space == "-" else f"{item.space}:{item.path}")
        if item.outcome is Restored.FAILED:
            detail = item.answer.describe()
            if item.code == NO_PERMISSION:
                detail += "; needs grant restore_recycled"
            lines.append(f"  failed    {where}  ({visible(detail)})")
        elif item.restored_path is not None and item.restored_path != item.path:
            lines.append(f"  restored  {where}  as {visible(item.restored_path)}")
    return "\n".join(lines) + "\n"


def render_undo_preview(report: ApplyReport, endpoint: str) -> str:
    """What undo will restore, before it asks: every recycled item, by space."""
    by_space = recycled_items(report)
    total = sum(len(items) for items in by_space.values())
    lines = [f"Undo of run {report.run_id or '(no run id)'} (apply of library "
             f"{report.library}, finished {report.finished_at}) at {endpoint}: restore "
             f"{total} item(s) from the recycle bin."]
    for space, items in sorted(by_space.items()):
        lines += ["", "space - (single-tenant)" if space == "-" else f"space {space}"]
        lines += [f"  + {visible(item.path)}" for item in items]
    permanent = sum(1 for item in report.items if item.outcome is Outcome.DELETED)
    if permanent:
        lines += ["", f"{permanent} item(s) the apply deleted permanently cannot be restored."]
    return "\n".join(lines) + "\n"


def recycled_items(report: ApplyReport) -> dict[str, list[ItemReport]]:
    """The report's recycled items, by space (in the report's order)."""
    spaces: dict[str, list[ItemReport]] = {}
    for item in report.items:
        if item.outcome is Outcome.RECYCLED:
            spaces.setdefault(item.space, []).append(item)
    return spaces


# How much earlier than the apply's start (our clock) a bin entry's removal time (the server's
# clock) may read and still be taken for this apply's: allowance for clocks that disagree.
CLOCK_SKEW = dt.timedelta(minutes=10)


def removed_before(entry: RecycledItem, not_before: str | None) -> bool:
    """Whether the server says `entry` went to the bin before `not_before` (less the skew)."""
    if not_before is None or entry.removal_time is None:
        return False
    try:
        removed = dt.datetime.fromisoformat(entry.removal_time.replace("Z", "+00:00"))
        start = dt.datetime.fromisoformat(not_before.replace("Z", "+00:00"))
    except ValueError:
        return False
    return removed < start - CLOCK_SKEW


def find_ids(items: Sequence[ItemReport], bin_items: Sequence[RecycledItem],
             claimed: set[int], *, not_before: str | None = None) -> dict[int, int]:
    """Recycle-bin ids for items whose id is unknown, by original path and type (pure).

    Keys are positions in `items`; the newest unclaimed match wins, and each bin entry is
    given to one item only. An entry removed before the apply started (`not_before`) is an
    earlier delete of the same path, never this apply's, and is left in the bin.
    """
    by_path: dict[tuple[str, str], list[RecycledItem]] = {}
    for entry in bin_items:
        by_path.setdefault((entry.original_path, entry.type.value), []).append(entry)
    found: dict[int, int] = {}
    for position, item in enumerate(items):
        if item.result.recycled_item_id is not None:
            continue
        candidates = [
            entry for entry in by_path.get((item.path, item.type.value), ())
            if entry.recycled_item_id not in claimed and not removed_before(entry, not_before)
        ]
        if candidates:
            newest = max(candidates,
                         key=lambda e: (e.removal_time or "", e.recycled_item_id))
            found[position] = newest.recycled_item_id
            claimed.add(newest.recycled_item_id)
    return found


def _look_up_ids(
    writer: SmhWriteClient, space: str, items: Sequence[ItemReport], ids: dict[int, int],
    user_id: str | None, applied_at: str | None,
) -> dict[int, RestoreResult]:
    """Add to `ids` the bin entries of items whose recycled id the report lacks (by original
    path); the failures of those with none."""
    try:
        in_bin = writer.list_recycle_bin(space, user_id=user_id)
    except ReconcileError as error:
        in_bin = []
        lookup_error: ReconcileError | None = error
    else:
        lookup_error = None
    ids.update(find_ids(items, in_bin, set(ids.values()), not_before=applied_at))
    return {
        position: _failure(space, item, None, lookup_error, code="RecycledItemNotFound",
                           message="no recycle-bin entry with this original path")
        for position, item in enumerate(items) if position not in ids
    }


def undo_space(
    writer: SmhWriteClient,
    space: str,
    items: Sequence[ItemReport],
    *,
    batch_size: int = MAX_RESTORE_ITEMS,
    user_id: str | None = None,
    applied_at: str | None = None,
    concurrency: int = 1,
    progress: ProgressSink | None = None,
    pool: Executor | None = None,
) -> list[RestoreResult]:
    """Restore one space's recycled items, `concurrency` restore calls at a time (on `pool`
    where given: one the spaces undone side by side share); one result per item, in the
    order given."""
    sink = progress or NoProgress()
    results: dict[int, RestoreResult] = {}
    ids: dict[int, int] = {
        position: item.result.recycled_item_id
        for position, item in enumerate(items) if item.result.recycled_item_id is not None
    }
    if len(ids) < len(items):
        missing = _look_up_ids(writer, space, items, ids, user_id, applied_at)
        if missing:
            results.update(missing)
            sink.batch(space, missing)

    space_order = order([item.path for item in items])
    with shared_or_own(pool, concurrency, "smh-undo") as restoring:
        for wave in reversed(space_order.waves):
            restorable = [position for position in wave if position in ids]
            batches = [
                restoring.submit(_restore_batch, writer, space, items, ids, batch, user_id)
                for batch in chunks(restorable, batch_size)
            ]
            for future in batches:
                settled = future.result()
                results.update(settled)
                sink.batch(space, settled)
    _already_restored(writer, space, items, results, user_id)
    return [results[position] for position in range(len(items))]


def _already_restored(writer: SmhWriteClient, space: str, items: Sequence[ItemReport],
                      results: dict[int, RestoreResult], user_id: str | None) -> None:
    """Items no longer in the bin whose path is in the library again: an earlier undo put
    them back."""
    gone = {position: items[position] for position, result in results.items()
            if result.outcome is Restored.FAILED
            and (result.status == 404 or result.code in NOT_IN_BIN_CODES)}
    if not gone:
        return
    checks = recheck(writer, space, {
        position: Delete(space, item.path, item.type, item.mode or Mode.RECYCLE, reason="")
        for position, item in gone.items()}, user_id=user_id, type_only=list(gone),
        concurrency=4)
    for position, check in checks.items():
        if check.found is Found.PRESENT:
            result = results[position]
            results[position] = RestoreResult(
                space, result.path, result.recycled_item_id, Restored.ALREADY_RESTORED,
                answer=Failure(result.status, result.code,
                               "not in the recycle bin, and its path is in the library again"))


def _restore_batch(
    writer: SmhWriteClient,
    space: str,
    items: Sequence[ItemReport],
    ids: Mapping[int, int],
    batch: Sequence[int],
    user_id: str | None,
) -> dict[int, RestoreResult]:
    batch_ids = [ids[position] for position in batch]
    try:
        reply = writer.restore_recycled(space, batch_ids, user_id=user_id)
        retried = reply.retried
        if reply.task_id is not None:
            reply = writer.wait_restore(space, reply.task_id, batch_ids, user_id=user_id)
    except ReconcileError as error:
        return {position: _failure(space, items[position], ids[position], error)
                for position in batch}
    return {
        position: _restored(space, items[position], result, retried=retried)
        for position, result in zip(batch, reply.results or (), strict=True)
    }


def _restored(space: str, item: ItemReport, result: ItemResult, *,
              retried: bool) -> RestoreResult:
    rid = result.recycled_item_id
    if result.status == 200:
        return RestoreResult(space, item.path, rid, Restored.RESTORED,
                             restored_path=result.path or None, answer=Failure(200))
    if result.not_found and retried:
        return RestoreResult(space, item.path, rid, Restored.RESTORED, answer=Failure(
            404, result.code, "restored by an earlier attempt whose answer was lost"))
    return RestoreResult(space, item.path, rid, Restored.FAILED,
                         answer=Failure(result.status, result.code, result.message))


def _failure(space: str, item: ItemReport, rid: int | None, error: ReconcileError | None, *,
             code: str | None = None, message: str | None = None) -> RestoreResult:
    answer = Failure.of(error) if error is not None else Failure(code=code, message=message)
    return RestoreResult(space, item.path, rid, Restored.FAILED, answer=answer)
