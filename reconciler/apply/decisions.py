"""What apply makes of what it hears: pure decisions, no I/O. The executor sends and waits;
these say what an answer means and what to do next.

Reading answers so that a re-sent call never makes a wrong report: a 404 for an item that an
earlier call may already have deleted (the batch was retried by the client, or the item was
in a batch whose answer was lost) means that earlier call did it, so the item is done, and if
it was recycled its recycle-bin id is unknown. A recycle delete answered 204 (no
`recycledItemId`) shows that the space has no recycle bin after all: the item is reported
deleted permanently, and the space's further recycle deletes are not sent.

A batch that fails as a whole is split in halves, down to the seeds' single-item deletes, so
one bad item cannot hold up the rest; a single item, or a refusal for the credentials that no
smaller call would escape, is settled failed, after looking up each item that a call whose
answer was lost may have deleted (if it is gone, that call deleted it). A task that ends
without per-item results is settled from a listing of each item's directory. An item with
planned items inside it is sent only once all of them are done.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import NewType

from reconciler.apply.batching import halves
from reconciler.apply.recheck import Check, Found
from reconciler.apply.report import RECYCLE_BIN_OFF, Failure, ItemOutcome, Outcome
from reconciler.client import ItemResult, RecycledItem
from reconciler.desired import RECYCLE
from reconciler.errors import ReconcileError
from reconciler.listing import RemoteEntry
from reconciler.plan import Delete, DeleteRecycled
from reconciler.retry import SmhRequestError
from reconciler.slots import new, slot_setter

ItemId = NewType("ItemId", int)
"""A delete item of the plan: its index in `Plan.deletes`."""

LOST_ANSWER = "deleted by an earlier attempt whose answer was lost"
BIN_OFF_DELETED = ("deleted permanently, not recycled: the server answered without a "
                   "recycledItemId, so the space has no recycle bin")
BIN_OFF_NOT_SENT = ("not sent: the space has no recycle bin after all (a recycle delete in it "
                    "was deleted permanently), so this one would be permanent too")
UNANSWERED = ItemOutcome(
    Outcome.UNANSWERED,
    Failure(message="sent, but apply stopped before the answer came: it may be deleted; run "
                    "the same command again to find out and finish"),
)
NOT_ATTEMPTED = ItemOutcome(Outcome.NOT_ATTEMPTED)


# -- answers -------------------------------------------------------------------------------------

_RECYCLED = Failure(200)
_DELETED = ItemOutcome(Outcome.DELETED, Failure(204))
_BIN_OFF = ItemOutcome(Outcome.DELETED, Failure(204, RECYCLE_BIN_OFF, BIN_OFF_DELETED))


def interpret(result: ItemResult, delete: Delete, *, maybe_applied: bool) -> ItemOutcome:
    """One item's outcome from the server's per-item answer."""
    status = result.status
    if status == 200:
        recycled = result.recycled_item_id
        return ItemOutcome(Outcome.RECYCLED, _RECYCLED, recycled, recycled is None)
    if status == 204:
        # A recycle delete deleted, not into the bin: the space has no recycle bin after all.
        return _BIN_OFF if delete.final_mode is RECYCLE else _DELETED
    if result.not_found:
        if maybe_applied:
            return applied_earlier(delete, Failure(404, result.code, LOST_ANSWER))
        return ItemOutcome(Outcome.ALREADY_GONE, Failure(404, result.code, result.message))
    return ItemOutcome(Outcome.FAILED, Failure(result.status, result.code, result.message))


def read_reply(items: Sequence[ItemId], results: Sequence[ItemResult],
               deletes: Sequence[Delete], *, retried: bool,
               resent: Collection[ItemId]) -> dict[ItemId, ItemOutcome]:
    """A batch's per-item answers, in the order its items were sent; `retried`: the call was
    sent more than once, so each 404 may be that earlier attempt's doing."""
    outcomes: dict[ItemId, ItemOutcome] = {}
    recycled_outcome = Outcome.RECYCLED
    set_outcome, set_answer, set_id, set_unknown = _SET_OUTCOME
    for item, result in zip(items, results, strict=True):
        if result.status == 200:
            # A recycled item, the common answer, read here as `interpret` reads it (its
            # slots set directly, `reconciler.slots`: a batch has a thousand of them).
            recycled = result.recycled_item_id
            outcome = new(ItemOutcome)
            set_outcome(outcome, recycled_outcome)
            set_answer(outcome, _RECYCLED)
            set_id(outcome, recycled)
            set_unknown(outcome, recycled is None)
            outcomes[item] = outcome
        else:
            outcomes[item] = interpret(result, deletes[item],
                                       maybe_applied=retried or item in resent)
    return outcomes


_SET_OUTCOME = tuple(slot_setter(ItemOutcome, name) for name in (
    "outcome", "answer", "recycled_item_id", "recycled_item_id_unknown"))


_LOST = Failure(message=LOST_ANSWER)


def applied_earlier(delete: Delete, said: Failure = _LOST) -> ItemOutcome:
    """An item gone after a call about it whose answer was lost (or said nothing of it):
    that call deleted it."""
    if delete.final_mode is RECYCLE:
        return ItemOutcome(Outcome.RECYCLED, said, recycled_item_id=None,
                           recycled_item_id_unknown=True)
    return ItemOutcome(Outcome.DELETED, said)


def failed(error: ReconcileError) -> ItemOutcome:
    """An item whose attempt ended with `error`."""
    return ItemOutcome(Outcome.FAILED, Failure.of(error))


def bin_was_off(outcome: ItemOutcome) -> bool:
    """Whether a recycle delete removed the item permanently (the space has no bin)."""
    return outcome.outcome is Outcome.DELETED and outcome.code == RECYCLE_BIN_OFF


def may_show_bin_off(results: Iterable[ItemResult]) -> bool:
    """Whether an answer's results may show that the space has no recycle bin: one of them is
    a 204 (deleted permanently), which it is for a recycle delete there (`interpret`)."""
    return any(result.status == 204 for result in results)


def held_for_bin_off(items: Iterable[ItemId], deletes: Sequence[Delete]
                     ) -> dict[ItemId, ItemOutcome]:
    """The recycle deletes not sent to a space found to have no recycle bin."""
    held = ItemOutcome(Outcome.FAILED, Failure(code=RECYCLE_BIN_OFF, message=BIN_OFF_NOT_SENT))
    return {item: held for item in items if deletes[item].final_mode is RECYCLE}


# -- a batch that failed as a whole --------------------------------------------------------------

class Remedy(Enum):
    SPLIT = "split"
    """Send it again in halves (a single item: through its own endpoint)."""
    SETTLE = "settle"
    """Nothing smaller to try: its items failed, except those `look_up` finds gone."""


@dataclass(frozen=True, slots=True)
class WholeFailure:
    """What to do with a batch that failed as a whole."""

    remedy: Remedy
    failure: Failure
    parts: tuple[tuple[ItemId, ...], ...] = ()
    """The batches to send instead (SPLIT)."""
    look_up: tuple[ItemId, ...] = ()
    """Items a call may have deleted: a listing says whether they are gone (SETTLE)."""


def lost_answer(error: ReconcileError) -> bool:
    """Whether a call that ended with `error` may have been carried out all the same: it was
    sent more than once, no answer came, or the server failed on its side."""
    return isinstance(error, SmhRequestError) and (
        error.attempts > 1 or error.status is None or error.status >= 500)


def on_whole_failure(items: Sequence[ItemId], error: ReconcileError, *, single: bool,
                     resent: Collection[ItemId]) -> WholeFailure:
    """Split a failed batch, or settle it: a single item has nothing smaller to try, and a
    refusal for the credentials no smaller call would escape."""
    failure = Failure.of(error)
    if single or failure.refused:
        lost = lost_answer(error)
        return WholeFailure(Remedy.SETTLE, failure,
                            look_up=tuple(i for i in items if lost or i in resent))
    if len(items) == 1:
        return WholeFailure(Remedy.SPLIT, failure, parts=(tuple(items),))
    return WholeFailure(Remedy.SPLIT, failure, parts=halves(items))


def settled_failure(items: Iterable[ItemId], deletes: Sequence[Delete], failure: Failure,
                    gone: Collection[ItemId]) -> dict[ItemId, ItemOutcome]:
    """The outcomes of a batch settled failed: an item found gone was deleted by a call
    whose answer was lost."""
    return {item: applied_earlier(deletes[item]) if item in gone
            else ItemOutcome(Outcome.FAILED, failure) for item in items}


def from_listing(items: Iterable[ItemId], deletes: Sequence[Delete],
                 checks: Mapping[ItemId, Check], *, task_id: int,
                 status: int) -> dict[ItemId, ItemOutcome]:
    """A task that ended without per-item results (204, 500, or no result): each item from
    what a listing of its directory shows. An item still there failed (it is not sent again:
    the next apply plans it afresh)."""
    said = f"task {task_id} ended with status {status} and no per-item results"
    outcomes: dict[ItemId, ItemOutcome] = {}
    for item in items:
        check = checks[item]
        if check.found is Found.ABSENT:
            outcomes[item] = applied_earlier(deletes[item], Failure(
                status, message=f"{said}; it is gone from its directory's listing"))
        else:
            why = ("it is still in its directory's listing" if check.found is Found.PRESENT
                   else check.detail)
            outcomes[item] = ItemOutcome(Outcome.FAILED, Failure(
                status, "TaskWithoutResult", f"{said}; {why}"))
    return outcomes


# -- before sending ------------------------------------------------------------------------------

def checked(delete: Delete, check: Check, *, maybe_applied: bool) -> ItemOutcome:
    """The outcome of an item the re-check did not find as planned."""
    if check.found is Found.ABSENT:
        if maybe_applied:
            return applied_earlier(delete)
        return ItemOutcome(Outcome.ALREADY_GONE, Failure(message="not in the library any more"))
    if check.found is Found.UNKNOWN:
        # Not knowing is not a change: the item could not be checked, so it failed.
        return ItemOutcome(Outcome.FAILED, replace(check.answer,
                                                   message=f"not re-checked: {check.detail}"))
    return ItemOutcome(Outcome.STALE, Failure(message=check.detail))


def withdrawn(items: Iterable[ItemId], deletes: Sequence[Delete]
              ) -> dict[ItemId, ItemOutcome]:
    """Items of a plan file the manifests no longer delete as planned: stale."""
    return {item: ItemOutcome(Outcome.STALE, Failure(message=deletes[item].withdrawn))
            for item in items if deletes[item].withdrawn is not None}


def blocked(waiting: Sequence[ItemId], deletes: Sequence[Delete],
            results: Mapping[ItemId, ItemOutcome]) -> ItemOutcome:
    """Why an item is not sent: items inside it are not deleted (first the stale ones)."""
    outcomes = {results[i].outcome for i in waiting if i in results}
    shown = ", ".join(deletes[i].path for i in waiting[:3])
    more = f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
    message = (f"not sent: {len(waiting)} planned item(s) inside it are not deleted: "
               f"{shown}{more}")
    if Outcome.STALE in outcomes:
        return ItemOutcome(Outcome.STALE, Failure(message=message))
    return ItemOutcome(Outcome.FAILED, Failure(code="InnerItemNotDeleted", message=message))


# -- directories and bin items -------------------------------------------------------------------

def created(made: bool, found: RemoteEntry | None) -> ItemOutcome:
    """A directory creation's outcome: made now, or (409) a directory of that name was there
    already (done) or a file is in the way (failed)."""
    if made:
        return ItemOutcome(Outcome.CREATED, Failure(201))
    if found is not None and found.is_dir:
        return ItemOutcome(Outcome.CREATED, Failure(409, message="it was there already"))
    return ItemOutcome(Outcome.FAILED, Failure(409, "SameNameDirectoryOrFileExists",
                                               "a file of that name is in the way"))


def bin_sendable(planned: Iterable[DeleteRecycled], before: Mapping[int, RecycledItem]
                 ) -> tuple[list[int], dict[int, ItemOutcome]]:
    """The bin items to delete for good (still in the bin, as planned), and the outcomes of
    the others."""
    sendable: list[int] = []
    outcomes: dict[int, ItemOutcome] = {}
    for change in planned:
        now = before.get(change.recycled_item_id)
        if change.withdrawn is not None:
            outcomes[change.recycled_item_id] = ItemOutcome(
                Outcome.STALE, Failure(message=change.withdrawn))
        elif now is None:
            outcomes[change.recycled_item_id] = ItemOutcome(
                Outcome.ALREADY_GONE, Failure(message="not in the recycle bin any more"))
        elif now.original_path != change.original_path:
            outcomes[change.recycled_item_id] = ItemOutcome(Outcome.STALE, Failure(
                message=f"the bin item is now {now.original_path}, not the one planned"))
        else:
            sendable.append(change.recycled_item_id)
    return sendable, outcomes


def bin_deleted(batch: Iterable[int], left: Collection[int],
                said: ReconcileError | None) -> dict[int, ItemOutcome]:
    """Each bin item of a delete call, from the bin listed after it (the call's answer says
    nothing of each item; `said` is the error it ended with, if any)."""
    failure = Failure.of(said) if said is not None else None
    detail = f" ({failure.message})" if failure and failure.message else ""
    still = ItemOutcome(Outcome.FAILED, Failure(
        failure.status if failure else None, failure.code if failure else "StillInRecycleBin",
        "still in the recycle bin after the delete call" + detail))
    return {i: still if i in left else ItemOutcome(Outcome.DELETED, Failure(204)) for i in batch}


def bin_unlisted(batch: Iterable[int], error: ReconcileError) -> dict[int, ItemOutcome]:
    """Bin items whose delete call could not be checked: the bin could not be listed."""
    return {i: ItemOutcome(Outcome.FAILED, Failure(message=(
        "the bin could not be listed after the delete call to see whether it went: "
        f"{error.message}"))) for i in batch}


def item_outcomes(deletes: Sequence[Delete], results: Mapping[ItemId, ItemOutcome],
                  unanswered: Collection[ItemId] = ()) -> list[tuple[Delete, ItemOutcome]]:
    """Every planned item with its outcome: settled, sent without an answer, or not attempted."""
    return [
        (delete, results.get(ItemId(index))
         or (UNANSWERED if index in unanswered else NOT_ATTEMPTED))
        for index, delete in enumerate(deletes)
    ]
