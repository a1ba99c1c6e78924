"""Finishing an apply that died (in process, against the emulator): the journal of the first
run is reopened and the executor resumes from what it recorded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.apply.decisions import ItemId
from reconciler.apply.executor import Executor, Settings, item_outcomes
from reconciler.apply.journal import Journal, Replay
from reconciler.apply.report import ItemOutcome, Outcome
from reconciler.client import SmhWriteClient
from reconciler.emulator import Emulator
from reconciler.plan import Plan
from tests.apply.support import (
    JournalFactory,
    deleted_paths,
    faults_per_request,
    make_directory,
    paths_of,
    plan_for,
)
from tests.support import library_spec, space_spec

PURGE = space_spec(purge=["tmp/", ("**/*.part", "permanent"), "photos/old/"],
                   exist=["keep/"])


class Killed(BaseException):
    """The process died here (kill -9): nothing after this point is recorded."""


def die_at_first_outcome(journal: Journal) -> None:
    def outcomes(batch: int | None, results: Mapping[ItemId, ItemOutcome]) -> None:
        raise Killed

    journal.outcomes = outcomes  # type: ignore[method-assign]


def first_run_dies(executor: Executor) -> None:
    try:
        executor.run()
    except Killed:
        pass
    else:  # pragma: no cover
        raise AssertionError("the first run was meant to die")
    finally:
        executor.journal.close()


def resume(path: Path, writer: SmhWriteClient) -> tuple[Executor, Plan, Replay]:
    journal, recorded = Journal.resume(path)
    plan = Plan.from_json(recorded.header.plan)
    executor = Executor(plan, writer, journal, settings=Settings(recheck=True))
    try:
        executor.run(recorded)
    finally:
        journal.close()
    return executor, plan, recorded


def by_path(executor: Executor, plan: Plan) -> dict[str, ItemOutcome]:
    results = executor.results
    return {d.path: results[ItemId(i)] for i, d in enumerate(plan.deletes) if i in results}


def test_a_directory_whose_inner_item_a_lost_answer_deleted_is_still_deleted_on_resume(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    journal = new_journal(plan)
    die_at_first_outcome(journal)
    # The first wave (tmp/x.part among it) reaches the library; its answer is never recorded.
    first_run_dies(Executor(plan, writer, journal))
    assert "tmp/x.part" not in paths_of(emu)

    executor, plan, _ = resume(journal.path, writer)
    results = by_path(executor, plan)
    # Removing tmp/x.part changed tmp's eTag: that change is this apply's own doing.
    assert results["tmp"].outcome is Outcome.RECYCLED, results["tmp"]
    assert results["tmp/x.part"].outcome is Outcome.DELETED
    assert "tmp/" not in paths_of(emu)


def test_a_task_that_cannot_be_attached_to_is_not_resent_before_the_recheck(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["readme.txt"])), writer)
    emu.set_faults({"async_threshold": 1, "task_polls": 3})
    journal = new_journal(plan)
    original_wait = writer.wait_tasks

    def dies_while_polling(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    writer.wait_tasks = dies_while_polling  # type: ignore[method-assign]
    first_run_dies(Executor(plan, writer, journal))
    writer.wait_tasks = original_wait  # type: ignore[method-assign]
    # The task recycled readme.txt; then someone made a directory of that name.
    assert "readme.txt" not in paths_of(emu)
    make_directory(emu, "readme.txt")
    # And the task can no longer be queried.
    faults_per_request(emu, lambda request: {"error_rate": 1.0, "error_statuses": [500]}
                       if "/task/" in request.target else None)
    seen = len(emu.request_log())
    executor, plan, recorded = resume(journal.path, writer)
    assert recorded.open_tasks
    assert deleted_paths(emu, seen) == []
    assert "readme.txt/" in paths_of(emu)
    assert by_path(executor, plan)["readme.txt"].outcome is Outcome.STALE


def test_a_change_deep_inside_a_planned_directory_that_could_hold_kept_paths_makes_it_stale(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["tmp/"], protect=["tmp/**/keep/"])), writer)
    # Added after the plan was made, two levels down: tmp's own eTag does not change, and
    # what was added is protected. Deleting tmp whole would take it along.
    make_directory(emu, "tmp/cache/keep")
    executor = Executor(plan, writer, new_journal(plan), settings=Settings(recheck=True))
    executor.run()
    assert "tmp/cache/keep/" in paths_of(emu)
    outcome = by_path(executor, plan)["tmp"]
    assert outcome.outcome is Outcome.STALE
    assert "inside it changed" in (outcome.message or "")


def test_a_change_inside_a_planned_directory_no_rule_can_keep_goes_with_it(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["tmp/"])), writer)
    # Nothing inside tmp/ can be kept or deleted in another mode, so the plan did not list
    # inside it: what appears there later is purged with it, as the manifest says.
    make_directory(emu, "tmp/cache/added-later")
    executor = Executor(plan, writer, new_journal(plan), settings=Settings(recheck=True))
    executor.run()
    assert not any(path.startswith("tmp") for path in paths_of(emu))
    assert by_path(executor, plan)["tmp"].outcome is Outcome.RECYCLED


def test_items_sent_without_an_answer_are_reported_unanswered_not_unattempted(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    journal = new_journal(plan)
    die_at_first_outcome(journal)
    executor = Executor(plan, writer, journal)
    first_run_dies(executor)
    outcomes = {delete.path: outcome.outcome for delete, outcome
                in item_outcomes(plan.deletes, executor.results, executor.unanswered)}
    sent = {plan.deletes[i].path for i in executor.unanswered}
    assert sent, "the first batch was sent before the run died"
    gone = {path for _, path in deleted_paths(emu)}
    assert gone <= sent
    for path, outcome in outcomes.items():
        # What may have reached the library is never reported as not attempted.
        expected = Outcome.UNANSWERED if path in sent else Outcome.NOT_ATTEMPTED
        assert outcome is expected, path
        if path in gone:
            assert outcome is Outcome.UNANSWERED, path


def _listed(emu: Emulator, since: int) -> list[str]:
    """The directories listed since request `since` (not their stats)."""
    return [entry["path"] for entry in emu.request_log()[since:]
            if entry["method"] == "GET" and entry["route"] == "directory"
            and "stats" not in entry["query"]]


def test_the_recheck_lists_a_directory_both_a_parent_and_inside_an_item_once(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    tmp = next(delete for delete in plan.deletes if delete.path == "tmp")
    assert tmp.fingerprint.contents is not None
    assert tmp.fingerprint.contents.listed == ("", "cache")
    seen = len(emu.request_log())
    executor = Executor(plan, writer, new_journal(plan), settings=Settings(recheck=True))
    executor.run()
    # tmp/ is the parent of tmp/x.part and the first directory inside the item tmp/.
    listed = _listed(emu, seen)
    assert sorted(listed) == sorted(set(listed))
    assert {"tmp", "tmp/cache"} <= set(listed)
    assert all(outcome.outcome in (Outcome.RECYCLED, Outcome.DELETED)
               for outcome in by_path(executor, plan).values())


def test_a_file_added_to_a_directory_both_a_parent_and_inside_an_item_makes_the_item_stale(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    spec = library_spec(space_spec(purge=["tmp/", ("**/*.part", "permanent")],
                                   protect=["**/*.keep"]))
    plan = plan_for(spec, writer)
    emu.write_files("-", ["tmp/added.keep"])  # another client adds a protected file
    executor = Executor(plan, writer, new_journal(plan), settings=Settings(recheck=True))
    executor.run()
    outcomes = by_path(executor, plan)
    assert outcomes["tmp"].outcome is Outcome.STALE
    assert outcomes["tmp/x.part"].outcome is Outcome.DELETED
    assert "tmp/added.keep" in paths_of(emu)
