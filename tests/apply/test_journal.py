"""The journal: records on disk as they are made, replay, torn lines, locking, archiving."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.decisions import ItemId
from reconciler.apply.journal import (
    Header,
    Journal,
    OpenTask,
    Phase,
    canonical_text,
    journal_path,
    read_records,
    replay,
)
from reconciler.apply.report import Failure, ItemOutcome, Outcome, StepOutcome, StepReport
from reconciler.errors import ReconcileError
from reconciler.plan import Action

HEADER = Header("smhtest", "https://x")


def ids(*values: int) -> list[ItemId]:
    return [ItemId(value) for value in values]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return journal_path(tmp_path / "state", "smh/test")


def test_the_journal_is_named_for_its_library(tmp_path: Path) -> None:
    assert journal_path(tmp_path, "smhdemo").name == "journal-smhdemo.jsonl"
    assert journal_path(tmp_path, "a/../b").name == "journal-a_.._b.jsonl"


def test_each_record_is_on_disk_before_the_call_it_announces(path: Path) -> None:
    journal = Journal.create(path, HEADER)
    number = journal.batch("-", ids(0, 1), resent=ids(1))
    records = read_records(path)  # read while the journal is still open
    journal.close()
    assert [r["type"] for r in records] == ["start", "batch"]
    assert records[0]["version"] == 1 and records[0]["library"] == "smhtest"
    assert records[1] == {"type": "batch", "batch": number, "space": "-", "items": [0, 1],
                          "parent": None, "resent": [1], "single": False}


def test_replay_knows_done_items_open_tasks_and_unanswered_batches(path: Path) -> None:
    journal = Journal.create(path, HEADER)
    first = journal.batch("-", ids(0, 1))
    journal.outcomes(first, {
        ItemId(0): ItemOutcome(Outcome.RECYCLED, Failure(200), recycled_item_id=5),
        ItemId(1): ItemOutcome(Outcome.FAILED, Failure(500, "InternalError", "boom"))})
    second = journal.batch("-", ids(2, 3), resent=ids(3))
    journal.task(second, 77, retried=True)
    journal.batch("s1", ids(4))  # sent, never answered
    failed = journal.batch("-", ids(5, 6))
    journal.batch_failed(failed, Failure(503, "ServerOverloaded", "gave up"))
    journal.present(ids(6))
    journal.step(Action.CLEAR_HISTORY, None, Phase.TASK, task_id=9)
    journal.close()

    state = replay(read_records(path))
    assert state.results[ItemId(0)] == ItemOutcome(Outcome.RECYCLED, Failure(200),
                                                   recycled_item_id=5)
    assert state.results[ItemId(1)].outcome is Outcome.FAILED
    assert state.open_tasks == [OpenTask(second, "-", 77, tuple(ids(2, 3)), resent=tuple(ids(3)),
                                         retried=True)]
    assert state.maybe_applied == {2, 3, 4, 5}
    assert state.steps[(Action.CLEAR_HISTORY, None)].task_id == 9
    assert state.next_batch == failed + 1
    assert not state.finished


def test_batches_journaled_together_share_one_fsync_and_an_unsent_one_leaves_no_doubt(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal.create(path, HEADER)
    earlier = journal.batch("-", ids(1))  # sent by an earlier attempt, answer lost
    synced: list[int] = []
    monkeypatch.setattr("reconciler.apply.journal.os.fsync",
                        lambda fd: synced.append(len(read_records(path))))
    first, second = journal.batches("-", [(ids(0, 1), ids(1)), (ids(2, 3), ())])
    assert synced == [4]  # both on disk, with one fsync, before either is sent
    journal.unsent(first)
    journal.close()
    records = read_records(path)
    assert [r["type"] for r in records] == ["start", "batch", "batch", "batch", "batch_unsent"]
    assert records[2]["batch"] == first == earlier + 1 and records[3]["batch"] == second
    # No call was made about batch `first`: item 0 is in no doubt; item 1 still is (the
    # earlier attempt's answer never came), and batch `second` may have reached the server.
    assert replay(records).maybe_applied == {1, 2, 3}


def test_an_outcome_closes_a_task(path: Path) -> None:
    journal = Journal.create(path, HEADER)
    number = journal.batch("-", ids(0))
    journal.task(number, 3)
    journal.outcomes(number, {ItemId(0): ItemOutcome(Outcome.DELETED, Failure(204))})
    journal.close()
    state = replay(read_records(path))
    assert state.open_tasks == [] and state.maybe_applied == set()


def test_a_torn_last_line_is_dropped_and_cut_off_on_resume(path: Path) -> None:
    journal = Journal.create(path, HEADER)
    journal.batch("-", ids(0))
    journal.close()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"type": "outcome", "batch": 1, "ite')
    resumed, state = Journal.resume(path)
    assert state.maybe_applied == {0}
    number = resumed.batch("-", ids(1))
    resumed.close()
    assert number == 2
    assert [r["type"] for r in read_records(path)] == ["start", "batch", "batch"]


def test_a_damaged_line_in_the_middle_is_an_error(path: Path) -> None:
    Journal.create(path, HEADER).close()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("not json\n" + json.dumps({"type": "end"}) + "\n")
    with pytest.raises(ReconcileError, match="damaged"):
        read_records(path)


def test_a_journal_of_another_version_is_refused() -> None:
    with pytest.raises(ReconcileError, match="version"):
        replay([{"type": "start", "version": 99}])
    with pytest.raises(ReconcileError, match="damaged"):
        replay([{"type": "start", "version": 1}, {"type": "batch"}])


def test_two_applies_cannot_hold_one_journal(path: Path) -> None:
    journal = Journal.create(path, HEADER)
    with pytest.raises(ReconcileError, match="another apply is running"):
        Journal.resume(path)
    with pytest.raises(ReconcileError, match="already recorded"):
        Journal.create(path, HEADER)
    journal.close()
    Journal.resume(path)[0].close()


def test_a_finished_journal_is_archived(path: Path) -> None:
    journal = Journal.create(path, HEADER)
    journal.step_done(StepReport(Action.EMPTY_RECYCLE_BIN, "-", StepOutcome.DONE, Failure(204)))
    archived = journal.finish("2027-01-01T00:00:00.000Z")
    assert not path.exists()
    assert archived.parent.name == "archive"
    state = replay(read_records(archived))
    assert state.finished
    step = state.steps[(Action.EMPTY_RECYCLE_BIN, "-")].report
    assert step is not None and step.outcome is StepOutcome.DONE
    second = Journal.create(path, HEADER)
    assert second.finish("2027-01-01T00:00:00.000Z") != archived


def test_records_announcing_a_call_are_fsynced_and_outcomes_go_with_the_next(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal.create(path, HEADER)
    synced: list[int] = []
    monkeypatch.setattr("reconciler.apply.journal.os.fsync",
                        lambda fd: synced.append(len(read_records(path))))
    number = journal.batch("-", ids(0))
    assert synced == [2]  # the batch is on disk before it is sent
    journal.outcomes(number, {ItemId(0): ItemOutcome(Outcome.DELETED, Failure(204))})
    assert synced == [2]  # flushed (a kill -9 keeps it), not waited for
    journal.close()
    assert synced == [2, 3]  # closing puts it on disk


def test_records_from_many_workers_are_whole_lines_that_replay(path: Path) -> None:
    journal = Journal.create(path, HEADER)

    def send(worker: int) -> None:
        for i in range(20):
            item = ItemId(worker * 100 + i)
            number = journal.batch("-", [item])
            journal.outcomes(number, {item: ItemOutcome(Outcome.DELETED, Failure(204))})

    threads = [threading.Thread(target=send, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    state = replay(read_records(path))
    assert len(state.results) == 160 and state.maybe_applied == set()
    assert state.next_batch == 161


OLD_JOURNAL: list[dict[str, Any]] = [
    {"type": "start", "version": 1, "library": "smhtest", "endpoint": "https://x",
     "source": {"kind": "manifests", "digest": "d", "spaces": []}, "plan_digest": "sha256:0",
     "started_at": "2027-01-01T00:00:00.000Z", "plan": {}},
    {"type": "change", "action": "create_directory", "space": "-", "phase": "sent",
     "path": "new"},
    {"type": "batch", "batch": 1, "space": "-", "items": [0, 1], "parent": None, "resent": [],
     "single": False},
    {"type": "task", "batch": 1, "task_id": 7, "retried": False},
    {"type": "batch", "batch": 2, "space": "-", "items": [2, 3], "parent": None, "resent": [3],
     "single": False},
    {"type": "batch_failed", "batch": 2, "status": 503, "code": None, "message": "gave up"},
    {"type": "outcome", "batch": None, "items": {"3": {
        "outcome": "recycled", "status": None, "code": None, "message": "lost",
        "recycled_item_id": None, "recycled_item_id_unknown": True}}},
    {"type": "present", "items": [2]},
    {"type": "step", "action": "clear_history", "space": None, "phase": "task", "task_id": 9},
    {"type": "step", "phase": "done", "action": "empty_recycle_bin", "space": "-",
     "outcome": "done", "status": 204, "code": None, "message": None, "task_id": None},
]


def test_a_journal_written_by_an_earlier_version_still_replays() -> None:
    state = replay(OLD_JOURNAL)
    assert (state.header.library, state.header.plan_digest) == ("smhtest", "sha256:0")
    assert state.header.source == {"kind": "manifests", "digest": "d", "spaces": []}
    assert state.open_tasks == [OpenTask(1, "-", 7, tuple(ids(0, 1)))]
    assert state.maybe_applied == {0, 1}
    assert state.results[ItemId(3)].recycled_item_id_unknown
    assert state.steps[(Action.CLEAR_HISTORY, None)].task_id == 9
    done = state.steps[(Action.EMPTY_RECYCLE_BIN, "-")].report
    assert done == StepReport(Action.EMPTY_RECYCLE_BIN, "-", StepOutcome.DONE, Failure(204))
    assert state.next_batch == 3 and not state.finished


def test_a_batch_of_every_kind_of_outcome_is_one_sorted_line_that_replays(path: Path) -> None:
    kinds = [
        ItemOutcome(Outcome.RECYCLED, Failure(200), recycled_item_id=41),
        ItemOutcome(Outcome.RECYCLED, Failure(200), recycled_item_id=None,
                    recycled_item_id_unknown=True),
        ItemOutcome(Outcome.RECYCLED, Failure(404, "FileNotFound", "lost \"answer\""),
                    recycled_item_id=None, recycled_item_id_unknown=True),
        ItemOutcome(Outcome.DELETED, Failure(204)),
        ItemOutcome(Outcome.FAILED, Failure(500, "Oops", "caf\u00e9 \u2603\n\"x\"")),
        ItemOutcome(Outcome.ALREADY_GONE, Failure(404, "FileNotFound", None)),
        ItemOutcome(Outcome.UNANSWERED, Failure(message="sent")),
    ]
    # Twelve items, so that "10" sorts before "2" as the keys of a JSON object do.
    outcomes = {ItemId(i): ItemOutcome(Outcome.RECYCLED, Failure(200), recycled_item_id=1000 + i)
                if i >= len(kinds) else kinds[i] for i in range(12)}
    journal = Journal.create(path, HEADER)
    number = journal.batch("-", list(outcomes))
    journal.outcomes(number, outcomes)
    journal.outcomes(None, {ItemId(20): kinds[4]})
    journal.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines[-2:]:
        assert line == json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False,
                                  separators=(",", ":"))
    assert json.loads(lines[-2])["items"]["0"] == {
        "outcome": "recycled", "status": 200, "code": None, "message": None,
        "recycled_item_id": 41}
    state = replay(read_records(path))
    assert state.results == {**outcomes, ItemId(20): kinds[4]}
    assert state.maybe_applied == set()


def test_the_plan_written_for_its_digest_is_the_first_record_as_it_would_be_written(
        tmp_path: Path) -> None:
    plan = {"library": "smhtest", "changes": [{"path": "caf\u00e9/\"a\"", "files": 1}],
            "summary": {"delete": 1}}
    source = {"kind": "planfile", "digest": "sha256:ab", "spaces": ["-"]}
    plain = Header("smhtest", "https://x", source, "sha256:cd", "2027-01-01T00:00:00Z", plan)
    shared = Header("smhtest", "https://x", source, "sha256:cd", "2027-01-01T00:00:00Z", plan,
                    plan_text=canonical_text(plan))
    lines = []
    for name, header in (("plain", plain), ("shared", shared)):
        Journal.create(tmp_path / f"{name}.jsonl", header).close()
        lines.append((tmp_path / f"{name}.jsonl").read_text(encoding="utf-8"))
    assert lines[0] == lines[1]
    assert lines[0] == json.dumps(plain.to_json(), sort_keys=True, ensure_ascii=False,
                                  separators=(",", ":")) + "\n"
    assert replay(read_records(tmp_path / "shared.jsonl")).header == plain
