"""The decisions apply makes from what it hears, without any I/O: how a per-item answer reads,
what a lost answer means, what becomes of a batch that failed as a whole, of a task without
per-item results, of items the re-check did not find as planned, and of bin items."""

from __future__ import annotations

from reconciler.apply import decisions as decide
from reconciler.apply.decisions import ItemId, Remedy
from reconciler.apply.recheck import Check, Found
from reconciler.apply.report import RECYCLE_BIN_OFF, Failure, ItemOutcome, Outcome
from reconciler.client import ItemResult, RecycledItem
from reconciler.desired import Mode
from reconciler.errors import ReconcileError
from reconciler.listing import EntryType, RemoteEntry
from reconciler.plan import Delete, DeleteRecycled
from reconciler.retry import SmhRequestError

RECYCLE = Delete("-", "a.jpg", EntryType.FILE, Mode.RECYCLE, reason="purge")
PERMANENT = Delete("-", "b.part", EntryType.FILE, Mode.PERMANENT, reason="purge")
NO_BIN = Delete("-", "c.jpg", EntryType.FILE, Mode.RECYCLE, reason="purge",
                effective_mode=Mode.PERMANENT)
DELETES = (RECYCLE, PERMANENT, NO_BIN, Delete("-", "d", EntryType.DIR, Mode.RECYCLE, "purge"))
A, B, C, D = (ItemId(i) for i in range(4))


def error(status: int | None, *, code: str | None = None, attempts: int = 1,
          detail: str | None = "said so") -> SmhRequestError:
    return SmhRequestError(method="POST", route="/api/v1/batch/x", status=status, code=code,
                           detail=detail, attempts=attempts)


# -- answers -------------------------------------------------------------------------------------

def test_a_recycled_item_keeps_its_bin_id_and_one_without_an_id_is_marked_unknown() -> None:
    kept = decide.interpret(ItemResult("a.jpg", 200, 7), RECYCLE, maybe_applied=False)
    assert (kept.outcome, kept.recycled_item_id, kept.recycled_item_id_unknown) == (
        Outcome.RECYCLED, 7, False)
    unknown = decide.interpret(ItemResult("a.jpg", 200), RECYCLE, maybe_applied=False)
    assert unknown.recycled_item_id is None and unknown.recycled_item_id_unknown


def test_a_recycle_delete_answered_204_shows_the_space_has_no_bin() -> None:
    outcome = decide.interpret(ItemResult("a.jpg", 204), RECYCLE, maybe_applied=False)
    assert outcome.outcome is Outcome.DELETED and outcome.code == RECYCLE_BIN_OFF
    assert decide.bin_was_off(outcome)
    permanent = decide.interpret(ItemResult("b.part", 204), PERMANENT, maybe_applied=False)
    assert permanent == ItemOutcome(Outcome.DELETED, Failure(204))
    assert not decide.bin_was_off(permanent)


def test_a_404_after_a_lost_answer_is_that_call_s_doing() -> None:
    gone = ItemResult("a.jpg", 404, code="FileNotFound", message="no such file")
    assert decide.interpret(gone, RECYCLE, maybe_applied=False) == ItemOutcome(
        Outcome.ALREADY_GONE, Failure(404, "FileNotFound", "no such file"))
    earlier = decide.interpret(gone, RECYCLE, maybe_applied=True)
    assert earlier.outcome is Outcome.RECYCLED and earlier.recycled_item_id_unknown
    assert earlier.message == decide.LOST_ANSWER
    assert decide.interpret(gone, PERMANENT, maybe_applied=True).outcome is Outcome.DELETED


def test_other_answers_fail_with_what_the_server_said() -> None:
    outcome = decide.interpret(ItemResult("a.jpg", 403, code="NoPermission", message="no"),
                               RECYCLE, maybe_applied=True)
    assert outcome == ItemOutcome(Outcome.FAILED, Failure(403, "NoPermission", "no"))


def test_a_recycled_answer_reads_as_interpret_reads_it() -> None:
    results = [ItemResult("a.jpg", 200, 41), ItemResult("b.part", 200)]
    read = decide.read_reply([A, B], results, DELETES, retried=False, resent=())
    assert read == {A: decide.interpret(results[0], RECYCLE, maybe_applied=False),
                    B: decide.interpret(results[1], PERMANENT, maybe_applied=False)}
    assert read[A] == ItemOutcome(Outcome.RECYCLED, Failure(200), 41)
    assert read[B].recycled_item_id_unknown and read[B].to_json()["recycled_item_id"] is None


def test_a_retried_batch_reads_every_404_as_done_and_a_resent_item_too() -> None:
    results = [ItemResult("a.jpg", 404), ItemResult("b.part", 404)]
    retried = decide.read_reply([A, B], results, DELETES, retried=True, resent=())
    assert {i: o.outcome for i, o in retried.items()} == {A: Outcome.RECYCLED,
                                                          B: Outcome.DELETED}
    resent = decide.read_reply([A, B], results, DELETES, retried=False, resent={B})
    assert {i: o.outcome for i, o in resent.items()} == {A: Outcome.ALREADY_GONE,
                                                         B: Outcome.DELETED}


def test_one_failure_value_from_an_error_serves_items_and_steps() -> None:
    refused = error(403, code="NoPermission", detail="not allowed")
    assert Failure.of(refused) == Failure(403, "NoPermission", "not allowed")
    assert Failure.of(refused, whole=True).message == refused.message
    assert Failure.of(refused).refused and not Failure.of(error(500)).refused
    assert Failure.of(ReconcileError("no way")) == Failure(message="no way")
    assert Failure.of(error(None, detail=None)).message == error(None, detail=None).message


# -- a batch that failed as a whole --------------------------------------------------------------

def test_a_failed_batch_is_split_in_halves_and_a_lone_item_goes_on_its_own() -> None:
    split = decide.on_whole_failure([A, B, C], error(500), single=False, resent=())
    assert (split.remedy, split.parts) == (Remedy.SPLIT, ((A, B), (C,)))
    alone = decide.on_whole_failure([A], error(500), single=False, resent=())
    assert (alone.remedy, alone.parts) == (Remedy.SPLIT, ((A,),))


def test_a_single_item_that_fails_is_settled_and_looked_up_only_when_its_answer_was_lost(
) -> None:
    refused = decide.on_whole_failure([A], error(400, code="Bad"), single=True, resent=())
    assert (refused.remedy, refused.look_up) == (Remedy.SETTLE, ())
    for lost in (error(503), error(None), error(400, attempts=2)):
        assert decide.on_whole_failure([A], lost, single=True, resent=()).look_up == (A,)
    assert decide.on_whole_failure([A], error(400), single=True, resent={A}).look_up == (A,)


def test_a_refusal_for_the_credentials_is_not_split() -> None:
    choice = decide.on_whole_failure([A, B, C], error(403, code="NoPermission"),
                                     single=False, resent={B})
    assert (choice.remedy, choice.parts, choice.look_up) == (Remedy.SETTLE, (), (B,))
    outcomes = decide.settled_failure([A, B, C], DELETES, choice.failure, gone={B})
    assert outcomes[A] == ItemOutcome(Outcome.FAILED, Failure(403, "NoPermission", "said so"))
    assert outcomes[B].outcome is Outcome.DELETED and outcomes[B].message == decide.LOST_ANSWER


def test_a_task_without_results_is_read_from_the_listing() -> None:
    checks = {A: Check(Found.ABSENT), B: Check(Found.PRESENT),
              C: Check(Found.UNKNOWN, "its directory could not be listed")}
    outcomes = decide.from_listing([A, B, C], DELETES, checks, task_id=9, status=204)
    assert outcomes[A].outcome is Outcome.RECYCLED and outcomes[A].recycled_item_id_unknown
    assert outcomes[A].message == ("task 9 ended with status 204 and no per-item results; it "
                                   "is gone from its directory's listing")
    assert (outcomes[B].outcome, outcomes[B].code) == (Outcome.FAILED, "TaskWithoutResult")
    assert "still in its directory's listing" in (outcomes[B].message or "")
    assert (outcomes[C].message or "").endswith("its directory could not be listed")


# -- before sending ------------------------------------------------------------------------------

def test_the_re_check_settles_gone_changed_and_unknown_items() -> None:
    assert decide.checked(RECYCLE, Check(Found.ABSENT), maybe_applied=False).outcome is (
        Outcome.ALREADY_GONE)
    assert decide.checked(RECYCLE, Check(Found.ABSENT), maybe_applied=True).outcome is (
        Outcome.RECYCLED)
    assert decide.checked(RECYCLE, Check(Found.CHANGED, "etag"), maybe_applied=False) == (
        ItemOutcome(Outcome.STALE, Failure(message="etag")))
    unknown = decide.checked(RECYCLE, Check(Found.UNKNOWN, "boom", Failure(500, "X", "y")),
                             maybe_applied=False)
    assert unknown == ItemOutcome(Outcome.FAILED, Failure(500, "X", "not re-checked: boom"))


def test_an_item_waits_for_its_inner_items_and_says_which() -> None:
    results = {A: ItemOutcome(Outcome.FAILED), B: ItemOutcome(Outcome.STALE)}
    failed = decide.blocked([A, C], DELETES, results)
    assert (failed.outcome, failed.code) == (Outcome.FAILED, "InnerItemNotDeleted")
    assert failed.message == "not sent: 2 planned item(s) inside it are not deleted: a.jpg, c.jpg"
    assert decide.blocked([A, B, C, D], DELETES, results).outcome is Outcome.STALE
    assert "and 1 more" in (decide.blocked([A, B, C, D], DELETES, results).message or "")


def test_recycle_deletes_are_held_once_a_space_shows_it_has_no_bin() -> None:
    held = decide.held_for_bin_off([A, B, D], DELETES)
    assert set(held) == {A, D}
    assert held[A].outcome is Outcome.FAILED and held[A].code == RECYCLE_BIN_OFF


def test_withdrawn_items_are_stale() -> None:
    withdrawn = Delete("-", "w", EntryType.FILE, Mode.RECYCLE, "purge", withdrawn="kept now")
    assert decide.withdrawn([A, B], (RECYCLE, withdrawn)) == {
        B: ItemOutcome(Outcome.STALE, Failure(message="kept now"))}


# -- directories and bin items -------------------------------------------------------------------

def test_a_directory_in_the_way_is_done_a_file_in_the_way_failed() -> None:
    assert decide.created(True, None) == ItemOutcome(Outcome.CREATED, Failure(201))
    there = decide.created(False, RemoteEntry("x", EntryType.DIR))
    assert (there.outcome, there.status) == (Outcome.CREATED, 409)
    file = decide.created(False, RemoteEntry("x", EntryType.FILE))
    assert (file.outcome, file.code) == (Outcome.FAILED, "SameNameDirectoryOrFileExists")


def bin_item(rid: int, path: str, withdrawn: str | None = None) -> DeleteRecycled:
    return DeleteRecycled("-", rid, path, EntryType.FILE, "2020-01-01T00:00:00.000Z", None,
                          "older than 30d", withdrawn=withdrawn)


def test_only_bin_items_still_there_as_planned_are_sent() -> None:
    planned = [bin_item(1, "a"), bin_item(2, "b"), bin_item(3, "c"), bin_item(4, "d", "no")]
    before = {1: RecycledItem(1, "a", EntryType.FILE), 3: RecycledItem(3, "other",
                                                                       EntryType.FILE),
              4: RecycledItem(4, "d", EntryType.FILE)}
    sendable, outcomes = decide.bin_sendable(planned, before)
    assert sendable == [1]
    assert {i: o.outcome for i, o in outcomes.items()} == {
        2: Outcome.ALREADY_GONE, 3: Outcome.STALE, 4: Outcome.STALE}


def test_bin_items_are_reported_from_the_listing_after_the_delete_call() -> None:
    outcomes = decide.bin_deleted([1, 2], left={2}, said=None)
    assert outcomes[1] == ItemOutcome(Outcome.DELETED, Failure(204))
    assert (outcomes[2].outcome, outcomes[2].code) == (Outcome.FAILED, "StillInRecycleBin")
    after_error = decide.bin_deleted([2], left={2}, said=error(500, code="Internal"))
    assert after_error[2].answer == Failure(
        500, "Internal", "still in the recycle bin after the delete call (said so)")
    assert decide.bin_unlisted([1], ReconcileError("down"))[1].outcome is Outcome.FAILED


def test_every_item_has_an_outcome_in_the_report() -> None:
    settled = {A: ItemOutcome(Outcome.RECYCLED)}
    listed = decide.item_outcomes(DELETES[:3], settled, unanswered={B})
    assert [o.outcome for _, o in listed] == [Outcome.RECYCLED, Outcome.UNANSWERED,
                                              Outcome.NOT_ATTEMPTED]
