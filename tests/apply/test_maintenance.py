"""Maintenance steps against the in-process emulator: the history clear's precondition, its
task, the one-call-a-minute limit waited out with an injected sleep, and attaching to a task
an interrupted apply started."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply import maintenance
from reconciler.apply.journal import Header, Journal, Phase, StepRecord, read_records
from reconciler.apply.report import StepOutcome
from reconciler.emulator import Clock, Emulator
from reconciler.plan import Action
from tests.apply.support import seed, writer_for


def journal(tmp_path: Path) -> Journal:
    return Journal.create(tmp_path / "journal.jsonl", Header("smhtest"))


def test_history_is_cleared_through_its_library_task(tmp_path: Path) -> None:
    emu = Emulator.from_seed(seed(history={"enabled": False, "earlier_versions": 3}))
    log = journal(tmp_path)
    with writer_for(emu) as writer:
        report = maintenance.clear_history(writer, log, sleep=lambda _: None)
    log.close()
    assert report.outcome is StepOutcome.DONE and report.task_id is not None
    phases = [r.get("phase") for r in read_records(log.path) if r["type"] == "step"]
    assert phases == ["sent", "task", "done"]
    task_polls = [e for e in emu.request_log() if e["route"] == "task"]
    assert task_polls and task_polls[0]["space"] is None


def test_history_enabled_since_the_plan_fails_the_step_without_a_clear(tmp_path: Path) -> None:
    emu = Emulator.from_seed(seed(history={"enabled": True}))
    with writer_for(emu) as writer:
        report = maintenance.clear_history(writer, journal(tmp_path), sleep=lambda _: None)
    assert report.outcome is StepOutcome.FAILED and report.code == "FileHistoryEnabled"
    assert not [e for e in emu.request_log() if e["method"] == "DELETE"]


def test_the_once_a_minute_limit_is_waited_out_once(tmp_path: Path) -> None:
    clock = Clock(start=1_800_000_000.0)
    emu = Emulator.from_seed(seed(), clock=clock)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    with writer_for(emu) as writer:
        writer.clear_history()  # someone cleared it a moment ago
    # The client does not wait on the 429 itself: the step does.
    with writer_for(emu, attempts=1, throttled_for=0.0) as writer:
        report = maintenance.clear_history(writer, journal(tmp_path), sleep=sleep)
    assert report.outcome is StepOutcome.DONE
    assert slept[0] == 60.0
    clears = [e["status"] for e in emu.request_log() if e["method"] == "DELETE"]
    assert clears == [202, 429, 202]


def test_a_recorded_task_is_attached_to_not_started_again(tmp_path: Path) -> None:
    emu = Emulator.from_seed(seed())
    with writer_for(emu) as writer:
        task_id = writer.clear_history()
        report = maintenance.clear_history(
            writer, journal(tmp_path), sleep=lambda _: None,
            recorded=StepRecord(Action.CLEAR_HISTORY, None, Phase.TASK, task_id))
    assert report.outcome is StepOutcome.DONE and report.task_id == task_id
    assert [e["method"] for e in emu.request_log() if e["route"] == "directory-history"] == [
        "DELETE"]


def test_emptying_a_bin_that_is_off_is_a_failed_step(tmp_path: Path) -> None:
    emu = Emulator.from_seed(seed(recycle_bin=False))
    with writer_for(emu) as writer:
        report = maintenance.empty_recycle_bin(writer, journal(tmp_path), "-", user_id=None)
    assert report.outcome is StepOutcome.FAILED
    assert (report.status, report.code) == (400, "RecycleBinNotEnabled")
