"""What an apply has found out so far, in one place: each delete item's outcome, the items
sent without an answer yet, the directories created, the bin items deleted for good, the
maintenance steps, and the spaces found to have no recycle bin. Thread-safe: the executor's
workers settle into it as their answers come.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from reconciler.apply.decisions import NOT_ATTEMPTED, ItemId, bin_was_off
from reconciler.apply.journal import StepKey
from reconciler.apply.report import ItemOutcome, ItemReport, StepOutcome, StepReport
from reconciler.desired import Mode
from reconciler.listing import EntryType
from reconciler.plan import Action, CreateDirectory, DeleteRecycled, EmptyRecycleBin, Plan


class Results:
    """The outcomes of one apply (of the items of `Plan.deletes`, by `ItemId`, and of the
    plan's other changes)."""

    def __init__(self, items: Mapping[ItemId, ItemOutcome] | None = None,
                 maybe: Iterable[ItemId] = (), bin_off: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._items: dict[ItemId, ItemOutcome] = dict(items or {})
        self._maybe: set[ItemId] = set(maybe)
        """Items sent (now or by an earlier run) whose answer was not recorded."""
        self._bin_off: set[str] = set(bin_off)
        """Spaces where a recycle delete came back deleted permanently: no more are sent."""
        self._created: dict[tuple[str, str], ItemOutcome] = {}
        self._bin_items: dict[tuple[str, int], ItemOutcome] = {}
        self._steps: dict[StepKey, StepReport] = {}

    # -- recording -----------------------------------------------------------------------------

    def settle(self, space: str, outcomes: Mapping[ItemId, ItemOutcome]) -> bool:
        """Record outcomes; whether they show, for the first time, that `space` has no bin."""
        with self._lock:
            self._items.update(outcomes)
            self._maybe.difference_update(outcomes)
            if space in self._bin_off or not any(map(bin_was_off, outcomes.values())):
                return False
            self._bin_off.add(space)
            return True

    def sent(self, items: Iterable[ItemId]) -> set[ItemId]:
        """Record items about to be sent; those an earlier call may already have deleted."""
        with self._lock:
            listed = list(items)
            resent = {item for item in listed if item in self._maybe}
            self._maybe.update(listed)
            return resent

    def present(self, items: Iterable[ItemId]) -> None:
        """Items the re-check found as planned: no earlier call deleted them."""
        with self._lock:
            self._maybe.difference_update(items)

    def created(self, space: str, path: str, outcome: ItemOutcome) -> None:
        with self._lock:
            self._created[(space, path)] = outcome

    def bin_items(self, space: str, outcomes: Mapping[int, ItemOutcome]) -> None:
        with self._lock:
            self._bin_items.update({(space, i): o for i, o in outcomes.items()})

    def step(self, report: StepReport) -> None:
        with self._lock:
            self._steps[(report.action, report.space)] = report

    # -- reading -------------------------------------------------------------------------------

    def outcome(self, item: ItemId) -> ItemOutcome | None:
        return self._items.get(item)

    def done(self, item: ItemId) -> bool:
        result = self._items.get(item)
        return result is not None and result.outcome.done

    def maybe_applied(self, item: ItemId) -> bool:
        return item in self._maybe

    def bin_off(self, space: str) -> bool:
        return space in self._bin_off

    @property
    def items(self) -> dict[ItemId, ItemOutcome]:
        """Each settled item's outcome so far; items not in it were not attempted."""
        with self._lock:
            return dict(self._items)

    @property
    def unanswered(self) -> set[ItemId]:
        """Items sent (now or by an earlier run) whose answer never came."""
        with self._lock:
            return self._maybe - self._items.keys()

    def steps(self, plan: Plan) -> list[StepReport]:
        """The maintenance steps of the plan, in order, with what became of each."""
        planned: list[StepKey] = [(Action.EMPTY_RECYCLE_BIN, change.space)
                                  for change in plan.changes
                                  if isinstance(change, EmptyRecycleBin)]
        if plan.clear_history is not None:
            planned.append((Action.CLEAR_HISTORY, None))
        with self._lock:
            return [self._steps.get(key) or StepReport(key[0], key[1], StepOutcome.NOT_ATTEMPTED)
                    for key in planned]

    def other_items(self, plan: Plan) -> list[ItemReport]:
        """The directories created and the bin items deleted for good, in plan order, each
        with its outcome (not attempted when apply never got to it)."""
        reports: list[ItemReport] = []
        with self._lock:
            for change in plan.changes:
                if isinstance(change, CreateDirectory):
                    outcome = self._created.get((change.space, change.path))
                    reports.append(ItemReport(
                        change.space, change.path, EntryType.DIR, None,
                        outcome or NOT_ATTEMPTED, action=change.action))
                elif isinstance(change, DeleteRecycled):
                    outcome = self._bin_items.get((change.space, change.recycled_item_id))
                    reports.append(ItemReport(
                        change.space, change.original_path, change.type, Mode.PERMANENT,
                        outcome or NOT_ATTEMPTED, action=change.action,
                        bin_item_id=change.recycled_item_id))
        return reports
