"""The executor against the in-process emulator: order, outcomes, tasks, faults, splitting,
re-checks, blocked directories, maintenance and the journal it writes."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from reconciler.apply.decisions import ItemId
from reconciler.apply.executor import Executor, Settings
from reconciler.apply.journal import Journal, read_records, replay
from reconciler.apply.progress import NoProgress
from reconciler.apply.report import Outcome, StepOutcome
from reconciler.client import SmhWriteClient
from reconciler.emulator import Emulator, HttpRequest, HttpResponse
from reconciler.plan import Plan
from reconciler.retry import SmhRequestError
from tests.apply.support import (
    LIBRARY,
    TOKEN,
    JournalFactory,
    deleted_paths,
    faults_per_request,
    make_directory,
    paths_of,
    plan_for,
    seed,
    writer_for,
)
from tests.support import library_spec, space_spec

PURGE = space_spec(purge=["tmp/", ("**/*.part", "permanent"), "photos/old/"],
                   exist=["keep/"], empty_recycle_bin=True)


def outcomes(executor: Executor, plan: Plan) -> dict[str, Outcome]:
    results = executor.results
    return {d.path: results[ItemId(i)].outcome for i, d in enumerate(plan.deletes)
            if i in results}


def run(plan: Plan, writer: SmhWriteClient, new_journal: JournalFactory,
        **settings: object) -> Executor:
    executor = Executor(plan, writer, new_journal(plan), settings=Settings(**settings))  # type: ignore[arg-type]
    executor.run()
    return executor


def test_deletes_inner_items_first_then_the_directory_then_empties_the_bin(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    assert [d.path for d in plan.deletes] == [
        "photos/2024/b.jpg.part", "photos/old", "tmp", "tmp/x.part"]
    executor = run(plan, writer, new_journal)
    assert outcomes(executor, plan) == {
        "photos/2024/b.jpg.part": Outcome.DELETED, "photos/old": Outcome.RECYCLED,
        "tmp": Outcome.RECYCLED, "tmp/x.part": Outcome.DELETED}
    assert paths_of(emu) == ["keep/", "keep/contract.pdf", "photos/", "photos/2024/",
                             "photos/2024/a.jpg", "readme.txt"]
    assert emu.state()["spaces"]["-"]["recycled"] == []
    batches = [[item["path"] for item in entry["body"]]
               for entry in emu.request_log() if entry["route"] == "batch"]
    assert batches == [["photos/2024/b.jpg.part", "photos/old", "tmp/x.part"], ["tmp"]]
    assert [step.outcome for step in executor.steps] == [StepOutcome.DONE]


def test_recycled_items_keep_their_recycle_bin_ids(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["tmp/", "readme.txt"])), writer)
    executor = run(plan, writer, new_journal)
    ids = {d.path: executor.results[ItemId(i)].recycled_item_id for i, d in enumerate(plan.deletes)}
    in_bin = {item["originalPath"]: item["recycledItemId"]
              for item in emu.state()["spaces"]["-"]["recycled"]}
    assert ids == in_bin


def test_batches_are_cut_to_the_batch_size(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["**/*.jpg", "**/*.bin", "readme.txt"])),
                    writer)
    run(plan, writer, new_journal, batch_size=2, concurrency=3)
    sizes = [len(entry["body"]) for entry in emu.request_log() if entry["route"] == "batch"]
    assert sorted(sizes) == [1, 2, 2]


def test_async_batches_are_polled_and_their_task_ids_journaled(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    emu.set_faults({"async_threshold": 1, "task_polls": 2})
    executor = run(plan, writer, new_journal)
    assert all(result.outcome.done for result in executor.results.values())
    records = read_records(executor.journal.path)
    tasks = [record for record in records if record["type"] == "task"]
    assert len(tasks) == 2
    assert replay(records).open_tasks == []


def test_a_wave_s_tasks_are_all_polled_in_one_query_after_its_batches_went_out(
    new_journal: JournalFactory
) -> None:
    emu = Emulator.from_seed(seed([f"d/f{i}.bin" for i in range(7)]))
    targets: list[str] = []

    def note(request: HttpRequest) -> None:
        if "/batch/" in request.target or "/task/" in request.target:
            targets.append(request.target.split("?")[0])

    faults_per_request(emu, lambda request: note(request))
    with writer_for(emu) as client:
        plan = plan_for(library_spec(space_spec(purge=["**/*.bin"])), client)
        emu.set_faults({"async_threshold": 1, "task_polls": 1})
        executor = run(plan, client, new_journal, batch_size=2, concurrency=2)
    assert {r.outcome for r in executor.results.values()} == {Outcome.RECYCLED}
    task_ids = sorted(record["task_id"] for record in read_records(executor.journal.path)
                      if record["type"] == "task")
    assert len(task_ids) == 4
    # Four batch calls, none waiting for another's task; then one query for all four tasks
    # (each answers "running" once), and one more that finds them ended.
    assert ["/batch/" in target for target in targets] == [True] * 4 + [False] * 2
    for target in targets[4:]:
        assert sorted(int(i) for i in unquote(target.rsplit("/", 1)[1]).split(",")) == task_ids


def test_a_207_reports_the_failing_item_and_does_the_rest(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["**/*.part", "readme.txt"])), writer)
    emu.set_faults({"fail_paths": {"tmp/x.part": {"status": 403, "code": "NoPermission"}}})
    executor = run(plan, writer, new_journal)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    assert results["tmp/x.part"].outcome is Outcome.FAILED
    assert (results["tmp/x.part"].status, results["tmp/x.part"].code) == (403, "NoPermission")
    assert results["readme.txt"].outcome is Outcome.RECYCLED
    assert results["photos/2024/b.jpg.part"].outcome is Outcome.RECYCLED


def test_a_directory_is_not_sent_while_an_item_inside_it_failed(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    emu.set_faults({"fail_paths": {"tmp/x.part": {"status": 500, "code": "InternalError"}}})
    executor = run(plan, writer, new_journal)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    assert results["tmp/x.part"].outcome is Outcome.FAILED
    assert results["tmp"].outcome is Outcome.FAILED
    assert results["tmp"].code == "InnerItemNotDeleted"
    assert ("-", "tmp") not in deleted_paths(emu)
    assert "tmp/cache/y.bin" in paths_of(emu)


def test_a_404_is_already_gone(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["tmp/", "readme.txt"])), writer)
    writer.delete_file("-", "readme.txt", permanent=True)
    executor = run(plan, writer, new_journal)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    assert results["readme.txt"].outcome is Outcome.ALREADY_GONE
    assert results["readme.txt"].status == 404


def test_a_re_sent_batch_reports_items_its_first_attempt_recycled_as_recycled(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["tmp/", "readme.txt"])), writer)
    # The first batch call is carried out but its answer is lost; the retry finds nothing.
    calls = {"batch": 0}

    def first_batch_answer_lost(request: HttpRequest) -> dict[str, Any] | None:
        if "/batch/" not in request.target:
            return None
        calls["batch"] += 1
        return {"drop_rate": 1.0, "drop_phase": "after", "seed": 1} if calls["batch"] == 1 else None

    faults_per_request(emu, first_batch_answer_lost)
    executor = run(plan, writer, new_journal)
    for index, _ in enumerate(plan.deletes):
        result = executor.results[ItemId(index)]
        assert result.outcome is Outcome.RECYCLED
        assert result.recycled_item_id is None and result.recycled_item_id_unknown
        assert result.status == 404
    assert paths_of(emu) == ["keep/", "keep/contract.pdf", "photos/", "photos/2024/",
                             "photos/2024/a.jpg", "photos/2024/b.jpg.part", "photos/old/",
                             "photos/old/c.jpg"]


def test_a_batch_that_keeps_failing_is_split_down_to_single_deletes(
    emu: Emulator, new_journal: JournalFactory
) -> None:
    with writer_for(emu, attempts=1) as client:
        plan = plan_for(library_spec(space_spec(purge=["**/*.jpg", "tmp/", "readme.txt"])),
                        client)
        faults_per_request(emu, lambda request: {"error_rate": 1.0, "error_statuses": [503]}
                           if "/batch/" in request.target else None)
        executor = run(plan, client, new_journal)
    assert all(result.outcome.done for result in executor.results.values())
    singles = sorted((entry["route"], entry["path"]) for entry in emu.request_log()
                     if entry["method"] == "DELETE")
    assert singles == [("directory", "tmp"), ("file", "photos/2024/a.jpg"),
                       ("file", "photos/old/c.jpg"), ("file", "readme.txt")]
    records = read_records(executor.journal.path)
    assert sum(1 for r in records if r["type"] == "batch_failed") == 3  # 4 items, 2, 2


def test_one_bad_item_fails_alone_after_the_split(
    emu: Emulator, new_journal: JournalFactory
) -> None:
    with writer_for(emu, attempts=1) as client:
        plan = plan_for(library_spec(space_spec(purge=["**/*.jpg", "readme.txt"])), client)
        def poisoned(request: HttpRequest) -> dict[str, Any] | None:
            names = request.target + request.body.decode()
            if request.method != "GET" and "readme.txt" in names:
                return {"error_rate": 1.0, "error_statuses": [500]}
            return None

        faults_per_request(emu, poisoned)
        executor = run(plan, client, new_journal)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    assert results["readme.txt"].outcome is Outcome.FAILED
    assert results["readme.txt"].status == 500
    assert results["photos/2024/a.jpg"].outcome is Outcome.RECYCLED
    assert results["photos/old/c.jpg"].outcome is Outcome.RECYCLED


def test_a_whole_batch_refused_for_permission_is_not_split(
    new_journal: JournalFactory, tmp_path: Path
) -> None:
    emu = Emulator.from_seed(seed())
    with writer_for(emu, attempts=1) as client:
        plan = plan_for(library_spec(space_spec(purge=["**/*.jpg", "readme.txt"])), client)
        emu.set_faults({"error_rate": 1.0, "error_statuses": [403]})
        executor = run(plan, client, new_journal)
    assert {r.outcome for r in executor.results.values()} == {Outcome.FAILED}
    assert sum(1 for e in emu.request_log() if e["route"] in ("batch", "file")) == 1


def test_the_recheck_skips_changed_items_and_never_deletes_them(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["tmp/", "readme.txt", "**/*.jpg"])),
                    writer)
    # Between plan and apply: something is added to tmp/, readme.txt becomes a directory,
    # photos/old/c.jpg is removed.
    make_directory(emu, "tmp/new")
    writer.delete_file("-", "readme.txt", permanent=True)
    make_directory(emu, "readme.txt")
    writer.delete_file("-", "photos/old/c.jpg", permanent=True)
    seen = len(emu.request_log())
    executor = run(plan, writer, new_journal, recheck=True)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    assert results["tmp"].outcome is Outcome.STALE
    assert "etag" in (results["tmp"].message or "")
    assert results["readme.txt"].outcome is Outcome.STALE
    assert "now a dir" in (results["readme.txt"].message or "")
    assert results["photos/old/c.jpg"].outcome is Outcome.ALREADY_GONE
    assert results["photos/2024/a.jpg"].outcome is Outcome.RECYCLED
    log = emu.request_log()[seen:]
    deletes = [e for e in log if e["method"] != "GET"]
    assert [[item["path"] for item in e["body"]] for e in deletes] == [["photos/2024/a.jpg"]]
    # One listing per parent directory, however many items it holds.
    lists = sorted(e["path"] for e in log if e["method"] == "GET")
    assert lists == ["", "photos/2024", "photos/old"]
    assert "tmp/new/" in paths_of(emu)


def test_a_fingerprint_edited_in_the_plan_is_stale(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    data = plan_for(library_spec(space_spec(purge=["readme.txt"])), writer).to_json(
        fingerprints=True)
    data["changes"][0]["fingerprint"]["crc64"] = "12345"
    executor = run(Plan.from_json(data), writer, new_journal, recheck=True)
    assert executor.results[ItemId(0)].outcome is Outcome.STALE
    assert "crc64" in (executor.results[ItemId(0)].message or "")
    assert "readme.txt" in paths_of(emu)


def _spaces(files: int, spaces: str | list[str] = "ab") -> tuple[Emulator, SmhWriteClient, Plan]:
    """`spaces`, each with `files` files the plan recycles (`d/f00.bin`...), and a plan of
    them all."""
    emu = Emulator.from_seed({**seed(), "spaces": {
        space: [f"d/f{i:02d}.bin" for i in range(files)] + ["keep.txt"] for space in spaces}})
    writer = writer_for(emu)
    spec = library_spec(*(space_spec(space, purge=["**/*.bin"]) for space in spaces))
    return emu, writer, plan_for(spec, writer)


def _all_recycled(executor: Executor, emu: Emulator, spaces: str | list[str], files: int) -> None:
    """Every item of `_spaces(files, spaces)` was recycled, and nothing else was deleted."""
    assert {r.outcome for r in executor.results.values()} == {Outcome.RECYCLED}
    assert len(executor.results) == len(spaces) * files
    assert sorted(deleted_paths(emu)) == sorted(
        (space, f"d/f{i:02d}.bin") for space in spaces for i in range(files))


def _hold_batches(emu: Emulator, hold: Callable[[str], None]) -> list[str]:
    """Before the emulator answers each batch call, `hold(space)`; returns the spaces of the
    batch calls, as they arrive."""
    original = emu.handle
    arrived: list[str] = []

    def handle(request: HttpRequest) -> HttpResponse:
        segments = request.target.split("?")[0].split("/")
        if segments[3:4] == ["batch"]:
            arrived.append(segments[5])
            hold(segments[5])
        return original(request)

    emu.handle = handle  # type: ignore[method-assign]
    return arrived


@pytest.mark.parametrize(("concurrency", "wait", "met"), [
    (2, 10.0, [True, True]),
    (1, 0.3, [False, True]),  # one space at a time: the first waits in vain
], ids=["side by side", "one at a time at concurrency 1"])
def test_spaces_are_applied_side_by_side_as_many_as_the_concurrency(
    new_journal: JournalFactory, concurrency: int, wait: float, met: list[bool]
) -> None:
    emu, writer, plan = _spaces(3)
    here = {space: threading.Event() for space in "ab"}
    found: list[bool] = []

    def hold(space: str) -> None:
        # Each space's batch call is answered once the other space's has come too.
        here[space].set()
        found.append(here["b" if space == "a" else "a"].wait(timeout=wait))

    arrived = _hold_batches(emu, hold)
    with writer:
        emu.set_faults({"async_threshold": 1, "task_polls": 1})
        executor = run(plan, writer, new_journal, recheck=True, concurrency=concurrency)
    assert sorted(arrived) == ["a", "b"]
    assert found == met
    _all_recycled(executor, emu, "ab", 3)


def test_the_next_spaces_re_check_while_the_spaces_in_their_turn_send(
    new_journal: JournalFactory
) -> None:
    # Two spaces send at a time (concurrency 2); the third re-checks meanwhile, and sends
    # only once one of theirs has ended.
    emu, writer, plan = _spaces(3, "abc")
    listed: set[str] = set()
    every_space_listed = threading.Event()
    found: list[bool] = []
    arrived = _hold_batches(emu, lambda space: found.append(
        len(arrived) > 2 or every_space_listed.wait(timeout=10)))
    sending = emu.handle
    ended: list[str] = []

    def handle(request: HttpRequest) -> HttpResponse:
        segments = request.target.split("?")[0].split("/")
        if request.method == "GET" and segments[3:4] == ["directory"]:
            listed.add(segments[5])
            if len(listed) == 3:
                every_space_listed.set()
        if segments[3:4] == ["batch"] and len(arrived) == 2:  # the third space's batch
            ended.extend(space for space in arrived if all(
                ItemId(i) in executor.results
                for i, delete in enumerate(plan.deletes) if delete.space == space))
        return sending(request)

    emu.handle = handle  # type: ignore[method-assign]
    executor = Executor(plan, writer, new_journal(plan),
                        settings=Settings(recheck=True, concurrency=2))
    with writer:
        executor.run()
    assert sorted(arrived) == ["a", "b", "c"]
    assert found == [True, True, True]  # the first two spaces' batches: all three re-checked
    assert ended  # the third space sent once one of the first two was done
    _all_recycled(executor, emu, "abc", 3)


def test_no_more_spaces_re_check_ahead_than_send_at_a_time(
    new_journal: JournalFactory
) -> None:
    # Concurrency 2, six spaces: while the first two turns' batches are held, two more spaces
    # re-check theirs, and no other: a re-check is never taken long before its turn.
    spaces = [f"s{n}" for n in range(6)]
    emu, writer, plan = _spaces(3, spaces)
    listed: list[str] = []
    during: list[list[str]] = []

    held = itertools.count()
    both = threading.Barrier(2, timeout=10)

    def hold(space: str) -> None:
        if next(held) < 2:
            both.wait()  # the two turns' first batches are held together
            time.sleep(0.5)  # while the spaces admitted ahead re-check
            during.append(sorted(set(listed)))
            both.wait()  # and neither is answered before both have looked

    _hold_batches(emu, hold)
    sending = emu.handle

    def handle(request: HttpRequest) -> HttpResponse:
        segments = request.target.split("?")[0].split("/")
        if request.method == "GET" and segments[3:4] == ["directory"]:
            listed.append(segments[5])
        return sending(request)

    emu.handle = handle  # type: ignore[method-assign]
    executor = run(plan, writer, new_journal, recheck=True, concurrency=2)
    assert [len(seen) for seen in during] == [4, 4]
    _all_recycled(executor, emu, spaces, 3)


def test_a_space_polling_its_last_tasks_leaves_its_turn_to_the_next(
    new_journal: JournalFactory
) -> None:
    # Concurrency 2: the first two spaces' task polls are answered once the third space's
    # batch has come, which it can only once one of them has left its turn.
    emu, writer, plan = _spaces(3, "abc")
    arrived = _hold_batches(emu, lambda space: None)
    sending = emu.handle
    third_sent = threading.Event()
    found: list[bool] = []

    def handle(request: HttpRequest) -> HttpResponse:
        segments = request.target.split("?")[0].split("/")
        if segments[3:4] == ["batch"] and len(arrived) == 2:
            third_sent.set()
        if segments[3:4] == ["task"] and not third_sent.is_set():
            found.append(third_sent.wait(timeout=10))
        return sending(request)

    emu.handle = handle  # type: ignore[method-assign]
    with writer:
        emu.set_faults({"async_threshold": 1, "task_polls": 1})
        executor = run(plan, writer, new_journal, recheck=True, concurrency=2)
    assert sorted(arrived) == ["a", "b", "c"]
    assert found and all(found)
    _all_recycled(executor, emu, "abc", 3)


def test_spaces_that_start_sending_while_others_send_share_the_workers(
    new_journal: JournalFactory
) -> None:
    # Each space sending keeps fewer batches made ahead as more spaces send: one that has more
    # handed out than its share by then sends none until its share has room again.
    spaces = [f"s{n}" for n in range(4)]
    emu, writer, plan = _spaces(24, spaces)
    with writer:
        emu.set_faults({"latency_ms": 2})
        executor = run(plan, writer, new_journal, recheck=True, batch_size=1, concurrency=4)
    _all_recycled(executor, emu, spaces, 24)


def test_a_ctrl_c_another_thread_took_stops_spaces_side_by_side(
    new_journal: JournalFactory
) -> None:
    # The kernel gives a process's signal to any of its threads; Python handles it in the main
    # thread, once that runs. Here a worker takes it, as the first batch call goes out.
    emu, writer, plan = _spaces(12)
    stop = threading.Event()
    sent: list[str] = []

    def hold(space: str) -> None:
        sent.append(space)
        if len(sent) == 1:
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        stop.wait(timeout=1)  # the batch calls in flight are answered once the stop is seen

    _hold_batches(emu, hold)
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        with writer:
            executor = Executor(plan, writer, new_journal(plan), stop=stop,
                                settings=Settings(batch_size=1, concurrency=2))
            executor.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    # The calls in flight when the Ctrl-C came, one a worker, and no more.
    assert 1 <= len(sent) <= 2
    assert len(executor.results) == len(sent)


def test_a_space_that_fails_stops_the_others_and_ends_the_run(
    new_journal: JournalFactory
) -> None:
    emu, writer, plan = _spaces(5)
    executor = Executor(plan, writer, new_journal(plan),
                        settings=Settings(recheck=True, batch_size=1, concurrency=2))
    sent = threading.Event()

    def hold(space: str) -> None:
        # Space b's batch calls are answered once space a's run has failed.
        assert space == "b"
        sent.set()
        deadline = time.monotonic() + 10
        while not executor._stopping() and time.monotonic() < deadline:
            time.sleep(0.001)

    arrived = _hold_batches(emu, hold)

    def refuse(request: HttpRequest) -> dict[str, Any] | None:
        # Space a's re-check is refused for the credentials (every call there would be), once
        # space b has sent a batch.
        if request.method == "GET" and request.target.startswith(
                f"/api/v1/directory/{LIBRARY}/a"):
            assert sent.wait(timeout=10)
            return {"error_rate": 1.0, "error_statuses": [403]}
        return None

    faults_per_request(emu, refuse)
    with writer, pytest.raises(SmhRequestError) as caught:
        executor.run()
    assert caught.value.status == 403
    # Space b sent the batches in flight when space a failed (at most one a worker), and no
    # more; each is settled.
    assert 1 <= len(arrived) <= 2
    deleted = [path for _, path in deleted_paths(emu)]
    assert len(deleted) == len(arrived)
    assert {plan.deletes[i].path for i, r in executor.results.items()
            if r.outcome is Outcome.RECYCLED} == set(deleted)


def test_a_stop_sends_no_new_batch(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    stop = threading.Event()
    stop.set()
    executor = Executor(plan, writer, new_journal(plan), stop=stop)
    executor.run()
    assert executor.results == {}
    assert deleted_paths(emu) == []
    assert [step.outcome for step in executor.steps] == [StepOutcome.NOT_ATTEMPTED]


def test_every_batch_call_comes_after_its_record_is_on_disk(
    new_journal: JournalFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = Emulator.from_seed(seed([f"d/f{i:02d}.bin" for i in range(24)]))
    with writer_for(emu) as client:
        plan = plan_for(library_spec(space_spec(purge=["**/*.bin"])), client)
        journal = new_journal(plan)
        durable: list[str] = []  # the paths of the batch records on disk
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            written = read_records(journal.path)
            real_fsync(fd)
            durable[:] = [plan.deletes[i].path for record in written
                          if record["type"] == "batch" for i in record["items"]]

        monkeypatch.setattr("reconciler.apply.journal.os.fsync", fsync)
        early: list[str] = []

        def check(request: HttpRequest) -> None:
            if "/batch/" in request.target:
                sent = [item["path"] for item in json.loads(request.body)]
                early.extend(path for path in sent if path not in durable)

        faults_per_request(emu, lambda request: check(request))
        executor = Executor(plan, client, journal, settings=Settings(batch_size=2,
                                                                     concurrency=3))
        executor.run()
    assert {r.outcome for r in executor.results.values()} == {Outcome.RECYCLED}
    assert len([e for e in emu.request_log() if e["route"] == "batch"]) == 12
    assert early == []


def test_a_stop_marks_batches_journaled_ahead_as_unsent_and_a_rerun_trusts_that(
    new_journal: JournalFactory
) -> None:
    emu = Emulator.from_seed(seed([f"d/f{i}.bin" for i in range(6)]))
    stop = threading.Event()

    def stop_at_the_first_batch(request: HttpRequest) -> None:
        if "/batch/" in request.target:
            stop.set()

    with writer_for(emu) as client:
        plan = plan_for(library_spec(space_spec(purge=["**/*.bin"])), client)
        journal = new_journal(plan)
        faults_per_request(emu, lambda request: stop_at_the_first_batch(request))
        first = Executor(plan, client, journal, stop=stop,
                         settings=Settings(batch_size=1, concurrency=1))
        first.run()
        records = read_records(journal.path)
        journal.close()
        # One call went out; the batch journaled ahead of it was not sent, and says so.
        assert len(first.results) == 1
        assert [r["type"] for r in records].count("batch_unsent") == 1
        # Meanwhile someone else deletes one of the items never sent.
        sent = {p for _, p in deleted_paths(emu)}
        gone = next(d.path for d in plan.deletes if d.path not in sent)
        emu.handle(HttpRequest("DELETE", f"/api/v1/file/{LIBRARY}/-/{gone}?permanent=1"
                                         f"&access_token={TOKEN}", {}, b""))
        resumed, recorded = Journal.resume(journal.path)
        emu.set_faults({})
        faults_per_request(emu, lambda request: None)
        second = Executor(plan, client, resumed, settings=Settings(batch_size=1))
        second.run(recorded)
        resumed.close()
    outcomes = {plan.deletes[i].path: r.outcome for i, r in second.results.items()}
    # Not taken for the doing of a call that never went out.
    assert outcomes[gone] is Outcome.ALREADY_GONE
    assert not any(r.recycled_item_id_unknown for r in second.results.values())
    assert {o for p, o in outcomes.items() if p != gone} == {Outcome.RECYCLED}
    assert not [p for p in paths_of(emu) if p.endswith(".bin")]


class _BreaksOnFirstBatch(NoProgress):
    """Raises `error` while the first answer is settled, `wait` seconds in."""

    def __init__(self, error: BaseException, wait: float = 0.0) -> None:
        self.error, self.wait = error, wait
        self.batches = 0

    def batch(self, space: str, outcomes: Any, *, task_id: int | None = None) -> None:
        self.batches += 1
        if self.batches == 1:
            time.sleep(self.wait)
            raise self.error


@dataclass
class _BrokenRun:
    executor: Executor
    sent: set[str]
    """The paths the emulator deleted."""
    settled: set[str]
    """The paths the run settled as recycled."""
    journaled: set[str]
    """The paths with an outcome in the journal."""


def _broken_at_first_batch(new_journal: JournalFactory, progress: _BreaksOnFirstBatch,
                           raised: type[BaseException]) -> _BrokenRun:
    """An apply of 24 files in batches of 2, 3 at a time, that `progress` breaks."""
    emu = Emulator.from_seed(seed([f"d/f{i:02d}.bin" for i in range(24)]))
    with writer_for(emu) as client:
        plan = plan_for(library_spec(space_spec(purge=["**/*.bin"])), client)
        journal = new_journal(plan)
        executor = Executor(plan, client, journal, progress=progress,
                            settings=Settings(batch_size=2, concurrency=3))
        with pytest.raises(raised):
            executor.run()
        records = read_records(journal.path)
    return _BrokenRun(
        executor, {path for _, path in deleted_paths(emu)},
        {plan.deletes[i].path for i, r in executor.results.items()
         if r.outcome is Outcome.RECYCLED},
        {plan.deletes[int(i)].path for r in records if r["type"] == "outcome"
         for i in r["items"]})


def test_a_failure_settling_one_answer_ends_the_apply_after_the_batches_in_flight_are_settled(
    new_journal: JournalFactory
) -> None:
    progress = _BreaksOnFirstBatch(RuntimeError("progress display broke"))
    broken = _broken_at_first_batch(new_journal, progress, RuntimeError)
    # It stopped: not every batch went out.
    assert 0 < len(broken.sent) < 24
    # Every item a call deleted is settled and journaled as such, the failing batch's too.
    assert broken.settled == broken.sent
    assert broken.journaled == broken.sent
    assert progress.batches == len(broken.sent) // 2


def test_an_abandoned_apply_settles_the_answers_already_back(new_journal: JournalFactory
                                                             ) -> None:
    # A second Ctrl-C while the first answer is settled, once the other calls are back.
    progress = _BreaksOnFirstBatch(KeyboardInterrupt(), wait=0.5)
    broken = _broken_at_first_batch(new_journal, progress, KeyboardInterrupt)
    # The first answer's batch and those handed out with it went out; no more did.
    assert 2 < len(broken.sent) < 24
    assert broken.settled == broken.sent
    assert not broken.executor.unanswered
    assert broken.journaled == broken.sent


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_delete_the_client_refuses_fails_its_batch_and_the_apply_goes_on(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory, batch_size: int
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["readme.txt", "photos/old/"])), writer)
    unclean = next(d for d in plan.deletes if d.path == "photos/old")
    plan = replace(plan, changes=tuple(replace(c, path="photos/./old") if c is unclean else c
                                       for c in plan.changes))
    executor = run(plan, writer, new_journal, batch_size=batch_size)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    refused = results["photos/./old"]
    assert refused.outcome is Outcome.FAILED and "refused" in (refused.message or "")
    # Alone, the other item is deleted; in the same batch, the whole batch is refused.
    readme = results["readme.txt"].outcome
    assert readme is (Outcome.RECYCLED if batch_size == 1 else Outcome.FAILED)
    assert [path for _, path in deleted_paths(emu)] == (["readme.txt"] if batch_size == 1
                                                        else [])
    assert "photos/old/c.jpg" in paths_of(emu)


def test_delete_items_never_name_a_path_outside_the_plan(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(PURGE), writer)
    emu.set_faults({"error_rate": 0.3, "drop_rate": 0.2, "seed": 7, "async_threshold": 2})
    run(plan, writer, new_journal, batch_size=1)
    planned = {("-", d.path) for d in plan.deletes}
    assert set(deleted_paths(emu)) <= planned


def test_an_item_a_lost_answer_deleted_is_not_reported_failed_when_its_retry_fails(
    emu: Emulator, new_journal: JournalFactory
) -> None:
    with writer_for(emu, attempts=2) as client:
        plan = plan_for(library_spec(space_spec(purge=["readme.txt", "tmp/"])), client)
        calls = {"n": 0}

        def lost_then_unavailable(request: HttpRequest) -> dict[str, Any] | None:
            if request.method == "GET":
                return None
            calls["n"] += 1
            # The first delete call is carried out and its answer lost; every later one
            # meets a server that is unavailable.
            if calls["n"] == 1:
                return {"drop_rate": 1.0, "drop_phase": "after", "seed": 1}
            return {"error_rate": 1.0, "error_statuses": [503]}

        faults_per_request(emu, lost_then_unavailable)
        executor = run(plan, client, new_journal)
    assert "readme.txt" not in paths_of(emu) and "tmp/" not in paths_of(emu)
    for index, _ in enumerate(plan.deletes):
        result = executor.results[ItemId(index)]
        assert result.outcome is Outcome.RECYCLED, result
        assert result.recycled_item_id_unknown


def test_an_item_whose_directory_cannot_be_relisted_failed_it_is_not_stale(
    emu: Emulator, new_journal: JournalFactory
) -> None:
    with writer_for(emu, attempts=1) as client:
        plan = plan_for(library_spec(PURGE), client)
        faults_per_request(emu, lambda request: {"error_rate": 1.0, "error_statuses": [500]}
                           if request.method == "GET" and "/directory/" in request.target
                           and "photos" in request.target else None)
        executor = run(plan, client, new_journal, recheck=True, concurrency=1)
    result = outcomes(executor, plan)
    assert result["photos/2024/b.jpg.part"] is Outcome.FAILED
    assert "not re-checked" in (executor.results[ItemId(0)].message or "")
    assert executor.results[ItemId(0)].status == 500
    assert result["tmp/x.part"] is Outcome.DELETED


def test_a_recheck_refused_for_the_credentials_ends_the_run(
    emu: Emulator, new_journal: JournalFactory
) -> None:
    with writer_for(emu, attempts=1) as client:
        plan = plan_for(library_spec(PURGE), client)
        faults_per_request(emu, lambda request: {"error_rate": 1.0, "error_statuses": [403]}
                           if request.method == "GET" and "/directory/" in request.target
                           else None)
        with pytest.raises(SmhRequestError) as caught:
            run(plan, client, new_journal, recheck=True)
    assert caught.value.status == 403
    assert deleted_paths(emu) == []


def test_a_task_ending_204_is_verified_by_listing_and_nothing_is_sent_again(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["tmp/", "readme.txt",
                                                   ("**/*.part", "permanent")])), writer)
    emu.set_faults({"async_threshold": 1, "task_status": 204})
    executor = run(plan, writer, new_journal)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    assert {path: r.outcome for path, r in results.items()} == {
        "photos/2024/b.jpg.part": Outcome.DELETED, "readme.txt": Outcome.RECYCLED,
        "tmp": Outcome.RECYCLED, "tmp/x.part": Outcome.DELETED}
    assert results["readme.txt"].recycled_item_id_unknown  # undo finds it by its path
    assert "task 2 ended with status 204" in (results["tmp"].message or "")
    sent = deleted_paths(emu)
    assert sorted(sent) == sorted(("-", d.path) for d in plan.deletes)  # each sent once
    listed = [e["path"] for e in emu.request_log()
              if e["route"] == "directory" and e["method"] == "GET"]
    assert {"", "tmp", "photos/2024"} <= set(listed)


def test_a_task_ending_500_reports_each_item_from_the_listing(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["**/*.part", "readme.txt"])), writer)
    emu.set_faults({"async_threshold": 1, "task_status": 500,
                    "fail_paths": {"tmp/x.part": {"status": 500, "code": "InternalError"}}})
    executor = run(plan, writer, new_journal)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    failed = results["tmp/x.part"]
    assert (failed.outcome, failed.status, failed.code) == (Outcome.FAILED, 500,
                                                           "TaskWithoutResult")
    assert "still in its directory's listing" in (failed.message or "")
    assert results["readme.txt"].outcome is Outcome.RECYCLED
    assert results["photos/2024/b.jpg.part"].outcome is Outcome.RECYCLED
    assert len([e for e in emu.request_log() if e["route"] == "batch"]) == 1
    assert "tmp/x.part" in paths_of(emu)


def test_a_task_without_a_result_is_verified_too(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory
) -> None:
    plan = plan_for(library_spec(space_spec(purge=["readme.txt"])), writer)
    emu.set_faults({"async_threshold": 1, "task_result": False})
    executor = run(plan, writer, new_journal)
    (result,) = executor.results.values()
    assert result.outcome is Outcome.RECYCLED and result.status == 200


@pytest.mark.parametrize("recording", [0.0, 0.2], ids=["at-once", "slow-journal"])
@pytest.mark.parametrize("batch_size", [1, 2], ids=["alone", "in-pairs"])
def test_a_recycle_delete_answered_without_a_bin_id_stops_recycle_deletes_in_that_space(
    emu: Emulator, writer: SmhWriteClient, new_journal: JournalFactory,
    monkeypatch: pytest.MonkeyPatch, recording: float, batch_size: int
) -> None:
    spec = library_spec(space_spec(purge=["readme.txt", "photos/old/", "tmp/",
                                          ("**/*.part", "permanent")]))
    plan = plan_for(spec, writer)
    assert [(d.path, d.mode.value) for d in plan.deletes] == [
        ("photos/2024/b.jpg.part", "permanent"), ("photos/old", "recycle"),
        ("readme.txt", "recycle"), ("tmp", "recycle"), ("tmp/x.part", "permanent")]
    emu.set_faults({"recycle_bin_off": True})  # the bin listing still looks like a bin's
    # However long an answer takes to record, the next batch waits for what it showed.
    journal_outcomes = Journal.outcomes

    def slowly(self: Journal, *args: Any, **kwargs: Any) -> None:
        time.sleep(recording)
        journal_outcomes(self, *args, **kwargs)

    monkeypatch.setattr(Journal, "outcomes", slowly)
    # In pairs, the second batch (made before the first was answered) holds a recycle delete
    # and a permanent one: only the permanent one may be sent.
    executor = run(plan, writer, new_journal, batch_size=batch_size, concurrency=1)
    results = {d.path: executor.results[ItemId(i)] for i, d in enumerate(plan.deletes)}
    first = results["photos/old"]
    assert (first.outcome, first.status, first.code) == (Outcome.DELETED, 204,
                                                        "RecycleBinNotEnabled")
    assert "deleted permanently, not recycled" in (first.message or "")
    for path in ("readme.txt", "tmp"):
        held = results[path]
        assert (held.outcome, held.code) == (Outcome.FAILED, "RecycleBinNotEnabled")
        assert (held.message or "").startswith("not sent: the space has no recycle bin")
    assert results["tmp/x.part"].outcome is Outcome.DELETED  # permanent deletes go on
    assert results["photos/2024/b.jpg.part"].outcome is Outcome.DELETED
    assert {path for _, path in deleted_paths(emu)} == {
        "photos/2024/b.jpg.part", "photos/old", "tmp/x.part"}
    assert {"readme.txt", "tmp/cache/y.bin"} <= set(paths_of(emu))
