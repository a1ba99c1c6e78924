"""The write side against the emulator: batch delete (200, 207, 202 and task polling), the
single-item deletes, emptying the bin, restoring, clearing history, and refusing the root."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.client import (
    MAX_BATCH_ITEMS,
    BatchReply,
    DeleteItem,
    ItemResult,
    SmhRequestError,
    SmhWriteClient,
)
from reconciler.client.reader import check_path
from reconciler.emulator import Clock, Emulator
from reconciler.errors import ReconcileError, SmhError

from .support import Connect, Sleeps, requests_of, seeded


def paths(emu: Emulator, space: str = "-") -> list[str]:
    listed: list[str] = emu.state()["spaces"][space]["paths"]
    return listed


def recycled(emu: Emulator, space: str = "-") -> dict[int, str]:
    items = emu.state()["spaces"][space]["recycled"]
    return {item["recycledItemId"]: item["originalPath"] for item in items}


def test_batch_200_recycles_and_deletes_in_request_order(
    writer: SmhWriteClient, emu: Emulator
) -> None:
    reply = writer.batch_delete(
        "-",
        [DeleteItem("tmp", False), DeleteItem("hello.txt", True), DeleteItem("a/b.txt", False)],
    )
    assert reply.status == 200 and not reply.retried and not reply.is_async
    assert reply.results is not None
    assert [(r.path, r.status, r.ok) for r in reply.results] == [
        ("tmp", 200, True),
        ("hello.txt", 204, True),
        ("a/b.txt", 200, True),
    ]
    tmp_id, _, b_id = (r.recycled_item_id for r in reply.results)
    assert recycled(emu) == {tmp_id: "tmp", b_id: "a/b.txt"}
    assert reply.results == (ItemResult("tmp", 200, tmp_id), ItemResult("hello.txt", 204),
                             ItemResult("a/b.txt", 200, b_id))
    assert repr(reply.results[1]) == repr(ItemResult("hello.txt", 204))
    body = requests_of(emu, "batch", "POST")[0]["body"]
    assert body == [
        {"path": "tmp", "permanent": False},
        {"path": "hello.txt", "permanent": True},
        {"path": "a/b.txt", "permanent": False},
    ]


def test_batch_207_reports_each_failed_item(writer: SmhWriteClient, emu: Emulator) -> None:
    emu.set_faults({"fail_paths": {"docs/handbook.pdf": {"status": 409, "code": "PathConflict"}}})
    reply = writer.batch_delete(
        "-",
        [DeleteItem("hello.txt", False), DeleteItem("gone.txt", False),
         DeleteItem("docs/handbook.pdf", False)],
    )
    assert reply.status == 207 and reply.results is not None
    ok, missing, conflict = reply.results
    assert ok.ok and ok.recycled_item_id is not None
    assert (missing.status, missing.code, missing.not_found) == (404, "FileNotFound", True)
    assert missing.message
    assert (conflict.path, conflict.status, conflict.code) == ("docs/handbook.pdf", 409,
                                                               "PathConflict")


def test_batch_202_is_a_task_polled_with_backoff_to_its_results(
    writer: SmhWriteClient, emu: Emulator, sleeps: Sleeps
) -> None:
    emu.set_faults({"async_threshold": 2, "task_polls": 3})
    items = [DeleteItem("tmp/x.part", True), DeleteItem("nope", False), DeleteItem("a", False)]
    reply = writer.batch_delete("-", items)
    assert reply.status == 202 and reply.is_async and reply.results is None
    assert reply.task_id is not None
    done = writer.wait_batch("-", reply.task_id, items, max_wait=60)
    assert done.status == 207 and done.task_id == reply.task_id
    assert done.results is not None
    assert [(r.path, r.status) for r in done.results] == [("tmp/x.part", 204), ("nope", 404),
                                                          ("a", 200)]
    # The emulator's clock stands still, so the first pause is the shortest one.
    assert sleeps.delays == [0.05, 0.1, 0.2]
    assert len(requests_of(emu, "task")) == 4


def test_the_first_pause_before_polling_again_is_one_round_trip(
    emu: Emulator, connect: Connect, sleeps: Sleeps
) -> None:
    # A server 0.2 s away: the first query's round trip sets the first pause, then it doubles.
    writer: SmhWriteClient = connect(SmhWriteClient, clock=time.monotonic)
    emu.set_faults({"async_threshold": 1, "task_polls": 3})
    items = [DeleteItem("hello.txt", False)]
    reply = writer.batch_delete("-", items)
    assert reply.task_id is not None
    writer.query_tasks("-", [reply.task_id])  # the token for task queries, minted first
    emu.set_faults({"async_threshold": 1, "task_polls": 3, "latency_ms": 200})
    done = writer.wait_batch("-", reply.task_id, items, max_wait=60)
    assert done.results is not None and done.results[0].status == 200
    first, second = sleeps.delays
    assert 0.2 <= first < 0.4  # twice the round trip would be 0.4 s or more
    assert second == 2 * first


@pytest.mark.parametrize(("faults", "status"), [
    ({"task_status": 204}, 204), ({"task_status": 500}, 500), ({"task_result": False}, 200)])
def test_a_task_that_ends_without_per_item_results_says_so(
    writer: SmhWriteClient, emu: Emulator, faults: dict[str, object], status: int
) -> None:
    emu.set_faults({"async_threshold": 1, "task_polls": 0, **faults})
    items = [DeleteItem("hello.txt", False)]
    reply = writer.batch_delete("-", items)
    assert reply.task_id is not None
    done = writer.wait_batch("-", reply.task_id, items)
    assert (done.status, done.results, done.task_id) == (status, None, reply.task_id)


def test_waiting_gives_up_after_max_wait(writer: SmhWriteClient, emu: Emulator,
                                         sleeps: Sleeps) -> None:
    emu.set_faults({"async_threshold": 1, "task_polls": 100})
    reply = writer.batch_delete("-", [DeleteItem("hello.txt", False)])
    assert reply.task_id is not None
    with pytest.raises(SmhError, match=f"task {reply.task_id} was still running after 4.0s"):
        writer.wait_task("-", reply.task_id, max_wait=4.0)
    assert sum(sleeps.delays) == 4.0


def test_batch_size_is_checked_before_sending(writer: SmhWriteClient, emu: Emulator) -> None:
    with pytest.raises(ValueError):
        writer.batch_delete("-", [])
    with pytest.raises(ValueError):
        writer.batch_delete("-", [DeleteItem(f"f{i}", False) for i in range(MAX_BATCH_ITEMS + 1)])
    assert emu.stats()["total"] == 0


@pytest.mark.parametrize("bad", ["", "/", "a/../..", "..", "a/./b", "a//b"])
def test_the_root_and_unclean_paths_are_never_sent(
    writer: SmhWriteClient, emu: Emulator, bad: str
) -> None:
    with pytest.raises(ReconcileError, match="refused"):
        writer.batch_delete("-", [DeleteItem("hello.txt", False), DeleteItem(bad, True)])
    with pytest.raises(ReconcileError, match="refused"):
        writer.delete_directory("-", bad, permanent=True)
    assert emu.stats()["total"] == 0


@settings(max_examples=500)
@given(st.text(alphabet="a./", max_size=12))
def test_a_path_is_refused_exactly_when_a_segment_is_empty_or_dots(path: str) -> None:
    unclean = any(segment in ("", ".", "..") for segment in path.split("/"))
    try:
        check_path(path, allow_root=False)
    except ReconcileError as error:
        assert unclean, path
        assert "refused" in error.message
    else:
        assert not unclean, path


def test_single_deletes_200_204_and_404(writer: SmhWriteClient, emu: Emulator) -> None:
    to_bin = writer.delete_file("-", "hello.txt", permanent=False)
    assert to_bin.status == 200 and to_bin.recycled_item_id in recycled(emu)
    gone = writer.delete_directory("-", "tmp", permanent=True)
    assert gone == ItemResult("tmp", 204)
    again = writer.delete_file("-", "hello.txt", permanent=False)
    assert (again.status, again.code, again.not_found) == (404, "FileNotFound", True)
    assert again.message == "File not found."
    directory = writer.delete_directory("-", "a", permanent=False)
    assert directory.status == 200 and recycled(emu)[directory.recycled_item_id or 0] == "a"
    assert [e["query"]["permanent"] for e in emu.request_log()
            if e["method"] == "DELETE"] == ["0", "1", "0", "0"]


def test_single_delete_without_recycle_bin_is_204(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(seeded(recycle_bin=False), clock=clock)
    writer: SmhWriteClient = connect(SmhWriteClient, transport=emu.transport())
    assert writer.delete_file("-", "hello.txt", permanent=False).status == 204


def test_a_missing_space_is_an_error_not_a_missing_item(writer: SmhWriteClient) -> None:
    with pytest.raises(SmhRequestError) as caught:
        writer.delete_file("nospace", "hello.txt", permanent=False)
    assert caught.value.status == 404 and caught.value.code == "SpaceNotFound"


def test_empty_recycle_bin(writer: SmhWriteClient, emu: Emulator) -> None:
    writer.batch_delete("-", [DeleteItem("hello.txt", False), DeleteItem("tmp", False)])
    assert writer.recycle_bin_items("-") == 2
    writer.empty_recycle_bin("-")
    assert writer.recycle_bin_items("-") == 0 and recycled(emu) == {}


def test_empty_recycle_bin_without_a_bin_is_an_error(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(seeded(recycle_bin=False), clock=clock)
    writer: SmhWriteClient = connect(SmhWriteClient, transport=emu.transport())
    with pytest.raises(SmhRequestError) as caught:
        writer.empty_recycle_bin("-")
    assert (caught.value.status, caught.value.code) == (400, "RecycleBinNotEnabled")


def _recycle_all(writer: SmhWriteClient, *names: str) -> list[int]:
    reply = writer.batch_delete("-", [DeleteItem(name, False) for name in names])
    assert reply.results is not None
    return [r.recycled_item_id for r in reply.results if r.recycled_item_id is not None]


def test_restore_puts_items_back(writer: SmhWriteClient, emu: Emulator) -> None:
    before = paths(emu)
    ids = _recycle_all(writer, "hello.txt", "a")
    reply = writer.restore_recycled("-", ids)
    assert reply.status == 200 and reply.results is not None
    assert [(r.recycled_item_id, r.path, r.status) for r in reply.results] == [
        (ids[0], "hello.txt", 200),
        (ids[1], "a", 200),
    ]
    assert paths(emu) == before and recycled(emu) == {}


def test_restore_207_names_the_unknown_id(writer: SmhWriteClient) -> None:
    (known,) = _recycle_all(writer, "hello.txt")
    reply = writer.restore_recycled("-", [987654, known])
    assert reply.status == 207 and reply.results is not None
    missing, restored = reply.results
    assert (missing.recycled_item_id, missing.status, missing.code, missing.path) == (
        987654, 404, "RecycledItemNotFound", "")
    assert restored.ok and restored.path == "hello.txt"


def test_restore_202_is_waited_for(writer: SmhWriteClient, emu: Emulator) -> None:
    ids = _recycle_all(writer, "hello.txt", "tmp")
    emu.set_faults({"async_threshold": 2})
    reply = writer.restore_recycled("-", ids)
    assert reply.status == 202 and reply.task_id is not None
    done = writer.wait_restore("-", reply.task_id, ids)
    assert done.results is not None
    assert [r.path for r in done.results] == ["hello.txt", "tmp"]


def test_clear_history_returns_a_library_task(writer: SmhWriteClient, emu: Emulator) -> None:
    task_id = writer.clear_history()
    state = writer.wait_task(None, task_id, max_wait=30)
    assert state.status == 200 and state.succeeded
    assert state.result == [{"err": "", "status": 0, "deleteCount": 7}]
    assert requests_of(emu, "directory-history", "DELETE")[0]["status"] == 202


def test_clear_history_while_enabled_is_refused(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(seeded(history={"enabled": True}), clock=clock)
    writer: SmhWriteClient = connect(SmhWriteClient, transport=emu.transport())
    with pytest.raises(SmhRequestError) as caught:
        writer.clear_history()
    assert caught.value.status == 400 and caught.value.code == "FileHistoryEnabled"


def test_a_batch_reply_knows_whether_it_was_retried() -> None:
    assert BatchReply(200, results=(), attempts=2).retried
    assert not BatchReply(202, task_id=1).retried
