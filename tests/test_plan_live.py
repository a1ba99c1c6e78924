"""Planning against the emulator over HTTP: read-only, and listing only what the plan needs."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest

from reconciler.auth import Credentials
from reconciler.emulator import Emulator, server
from reconciler.retry import RetryPolicy
from reconciler.targets import Target, live_plan
from tests.support import library_spec, space_spec

TOKEN = "plan-test-token"


def emulator(paths: list[str], *, recycle_bin: bool = True) -> Emulator:
    return Emulator.from_seed({"library": "smhtest", "secret": "s3cret", "token": TOKEN,
                               "recycle_bin": recycle_bin, "spaces": {"-": paths}})


def target(emu: Emulator, *spaces: object, page_size: int = 1000,
           clear_history: bool = False) -> Target:
    spec = library_spec(*spaces, clear_history=clear_history)  # type: ignore[arg-type]
    return Target(spec=spec, endpoint="https://smhtest.api.tencentsmh.cn",
                  credentials=Credentials.from_env({"SMH_ACCESS_TOKEN": TOKEN}),
                  transport=emu.transport(), page_size=page_size)


def listed_directories(emu: Emulator) -> Counter[str]:
    return Counter(entry["path"] for entry in emu.request_log()
                   if entry["method"] == "GET" and entry["route"] == "directory"
                   and "stats" not in entry["query"])


def counted_directories(emu: Emulator) -> Counter[str]:
    return Counter(entry["path"] for entry in emu.request_log()
                   if entry["method"] == "GET" and entry["route"] == "directory"
                   and "stats" in entry["query"])


def test_plan_sends_only_get_requests() -> None:
    emu = emulator(["tmp/a.part", "photos/2024/a.jpg", "photos/x.jpg", "docs/a.pdf"])
    plan = live_plan(target(emu, space_spec(purge=["tmp/", ("**/*.jpg", "permanent")],
                                            protect=["docs/**"], empty_recycle_bin=True),
                            clear_history=True))
    assert plan.has_changes()
    methods = {key.split(" ")[0] for key in emu.stats()["requests"]}
    assert methods == {"GET"}
    assert emu.state()["spaces"]["-"]["paths"] == sorted(
        ["docs/", "docs/a.pdf", "photos/", "photos/2024/", "photos/2024/a.jpg",
         "photos/x.jpg", "tmp/", "tmp/a.part"])


def test_list_requests_are_one_per_page_of_each_listed_directory() -> None:
    paths = [f"photos/{year}/img{i:03d}.jpg" for year in (2022, 2023, 2024) for i in range(23)]
    paths += [f"tmp/t{i}.part" for i in range(40)]
    emu = emulator(paths)
    page_size = 7
    plan = live_plan(target(emu, space_spec(prune=["photos/"], exist=["photos/2024/"]),
                            page_size=page_size))
    assert [d.path for d in plan.deletes] == ["photos/2022", "photos/2023"]
    requests = listed_directories(emu)
    entries = {"": 2, "photos": 3}  # tmp/ and photos/2024/ need no listing at all
    assert set(requests) == set(entries)
    for directory, count in entries.items():
        assert requests[directory] == math.ceil(count / page_size)
    # One stats request for each directory deleted, one file count for the space.
    assert counted_directories(emu) == Counter({"photos/2022": 1, "photos/2023": 1})
    assert sum(1 for e in emu.request_log() if e["route"] == "space") == 1


def test_purging_a_big_directory_is_one_item_and_no_listing_inside_it() -> None:
    paths = [f"big/{i // 100}/f{i}.bin" for i in range(10_000)] + ["keep/me.txt"]
    emu = emulator(paths)
    plan = live_plan(target(emu, space_spec(purge=["big/"], exist=["keep/me.txt"])))
    assert [(d.path, d.type.value) for d in plan.deletes] == [("big", "dir")]
    requests = listed_directories(emu)
    assert not any(path.startswith("big") for path in requests)
    assert counted_directories(emu) == Counter({"big": 1})
    assert (plan.deletes[0].files, plan.spaces[0].files) == (10_000, 10_001)


def test_a_space_without_bin_marks_recycle_deletes_permanent() -> None:
    emu = emulator(["tmp/a"], recycle_bin=False)
    plan = live_plan(target(emu, space_spec(purge=["tmp/"])))
    assert plan.deletes[0].final_mode.value == "permanent"
    assert plan.refusals(force=False)


@pytest.mark.parametrize("status", [500, 503])
def test_a_listing_that_keeps_failing_withholds_the_spaces_deletes(status: int) -> None:
    emu = emulator(["tmp/a", "other/b"])
    emu.set_faults({"error_rate": 1.0, "error_statuses": [status]})
    waits: list[float] = []
    patient = RetryPolicy(attempts=3, sleep=waits.append)
    plan = live_plan(replace(target(emu, space_spec(purge=["tmp/"])), retry=patient))
    assert plan.deletes == ()
    assert plan.errors and str(status) in plan.errors[0][1]
    assert len(waits) >= 2  # it retried before giving up


def test_a_passing_fault_is_retried_and_the_plan_is_whole() -> None:
    emu = emulator(["tmp/a", "other/b"])
    emu.set_faults({"error_rate": 0.3, "error_statuses": [429, 503], "seed": 7})
    patient = RetryPolicy(attempts=8, sleep=lambda _: None)
    plan = live_plan(replace(target(emu, space_spec(purge=["tmp/"])), retry=patient))
    assert [d.path for d in plan.deletes] == ["tmp"] and not plan.errors


@pytest.mark.e2e
def test_a_plan_at_high_concurrency_opens_each_connection_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over loopback, at `--concurrency` 64, three rounds of listings reuse the first round's
    connections: none is closed after its answer to be opened again for the next request."""
    opened: list[object] = []
    setup = server._QuietHandler.setup

    def counting_setup(handler: server._QuietHandler) -> None:
        opened.append(handler)
        setup(handler)

    monkeypatch.setattr(server._QuietHandler, "setup", counting_setup)
    paths = [f"a{i:02d}/b{j}/c.jpg" for i in range(64) for j in range(2)]
    emu = emulator(paths)
    emu.set_faults({"latency_ms": 20})  # so that each round's listings are in flight at once
    with emu.serve() as url:
        plan = live_plan(replace(target(emu, space_spec(purge=["**/*.part"])), endpoint=url,
                                 transport=None), concurrency=64)
    assert not plan.has_changes()
    assert len(listed_directories(emu)) == 1 + 64 + 128
    # 64 listings at a time, and the file count and the bin read beside the root's listing.
    assert len(opened) <= 64 + 2


def test_a_directory_under_the_root_deleted_whole_is_counted_while_the_walk_goes_on() -> None:
    """`tmp/` is listed (a `.part` inside is deleted in another mode) and planned long before
    the walk down `photos/` ends: its stats are asked for then, once, not after the walk."""
    emu = emulator(["tmp/upload/a.part", "tmp/b.bin",
                    "photos/2024/01/05/deep/er/IMG_1.jpg", "photos/2024/01/05/deep/er/x.part"])
    emu.set_faults({"latency_ms": 20})  # so that the walk down `photos/` takes six rounds
    plan = live_plan(target(emu, space_spec(purge=["tmp/", ("**/*.part", "permanent")])))
    assert sorted(d.path for d in plan.deletes) == [
        "photos/2024/01/05/deep/er/x.part", "tmp", "tmp/upload/a.part"]
    log = [(entry["path"], "stats" in entry["query"]) for entry in emu.request_log()
           if entry["route"] == "directory"]
    assert counted_directories(emu) == Counter({"tmp": 1})
    assert log.index(("tmp", True)) < log.index(("photos/2024/01/05/deep/er", False))
