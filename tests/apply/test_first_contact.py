"""Plan and apply end to end, over real loopback HTTP, against servers that answer the way a
real SMH may where the docs and SDKs disagree: one that reads the token only from the header
or only from the query, listings with entry types the tool does not know, a recycle bin that
turns out to be off, batch tasks that end without per-item results, and a server that refuses
`limit=1000`. In each, no path is deleted that a fault-free run would not delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deepdiff import DeepDiff

from reconciler.emulator import Clock, Emulator
from tests.apply.scenarios import MANIFEST, SEED_PATHS, Library, Scenario
from tests.apply.support import SECRET, deleted_paths

pytestmark = pytest.mark.e2e

SIMPLE = Scenario("simple", {"-": SEED_PATHS}, MANIFEST, {"-": ["keep/", "keep/k.txt"]},
                  {"-": ["old.log", "tmp"]}, ("-", "old.log"))


@contextmanager
def serve(tmp_path: Path, scenario: Scenario = SIMPLE, **options: Any) -> Iterator[Library]:
    clock = Clock(start=1_800_000_000.0)
    emu = Emulator.from_seed(scenario.seed(), clock=clock, **options)
    with emu.serve() as url:
        yield Library(scenario, tmp_path, url, emu, clock)


def final_state(library: Library) -> dict[str, Any]:
    return {"paths": library.emu.state()["spaces"]["-"]["paths"],
            "recycled": library.state()["-"]["recycled"]}


def reference_state(tmp_path: Path, scenario: Scenario = SIMPLE) -> dict[str, Any]:
    """What a fault-free apply of the scenario leaves (against a server that reads both)."""
    (tmp_path / "reference").mkdir()
    with serve(tmp_path / "reference", scenario) as library:
        code, out, err = library.apply()
        assert code == 0, out + err
        return final_state(library)


# -- token transport ---------------------------------------------------------------------------

@pytest.mark.parametrize(("server_reads", "client_sends"), [
    ("header", "auto"), ("query", "auto"), ("both", "auto"),
    ("header", "header"), ("query", "query"), ("both", "query"),
])
@pytest.mark.parametrize("credential", ["SMH_ACCESS_TOKEN", "SMH_LIBRARY_SECRET"])
def test_plan_and_apply_work_unchanged_in_each_token_transport(
    tmp_path: Path, server_reads: str, client_sends: str, credential: str
) -> None:
    expected = reference_state(tmp_path)
    with serve(tmp_path, token_transport=server_reads) as library:
        env: dict[str, str | None] = {"SMH_TOKEN_TRANSPORT": client_sends}
        if credential == "SMH_LIBRARY_SECRET":
            env.update(SMH_ACCESS_TOKEN=None, SMH_LIBRARY_SECRET=SECRET)
        code, plan_out, plan_err = library.run("plan", library.manifest,
                                               "--detailed-exitcode", env=env)
        assert code == 2, plan_out + plan_err
        after_plan = len(library.emu.request_log())
        code, out, err = library.apply(env=env)
        assert code == 0, out + err
        assert not DeepDiff(expected, final_state(library))
        assert library.run("plan", library.manifest, "--detailed-exitcode", env=env)[0] == 0
        log = library.emu.request_log()
        if credential == "SMH_LIBRARY_SECRET":
            # apply revokes the tokens its write client minted; a plan sends only GETs.
            revoked = [e for e in log if e["route"] == "token" and e["method"] == "DELETE"]
            assert revoked and {e["status"] for e in revoked} == {204}
            assert all(e["method"] == "GET" for e in log[:after_plan])
        in_query = {"access_token" in e["query"] for e in log if e["route"] != "token"}
        assert in_query == ({False} if server_reads != "query" and client_sends != "query"
                            else {True} if client_sends == "query" else {False, True})
        texts = [plan_out, plan_err, out, err, library.report.read_text()]
        texts += [p.read_text() for p in library.state_dir.rglob("*") if p.is_file()]
        assert all("access_token=" not in text or "access_token=***" in text
                   for text in texts)
        assert all("apply-token" not in text and "acctk" not in text for text in texts)


# -- entry types the tool does not know --------------------------------------------------------

def test_unknown_entry_types_are_kept_and_warned_about_and_multi_file_is_a_file(
    tmp_path: Path
) -> None:
    with serve(tmp_path) as library:
        library.emu.set_faults({"entry_types": {"tmp/a.bin": "hologram",
                                                "x.part": "multi-file"}})
        code, out, err = library.run("plan", library.manifest, "--format", "json")
        assert code == 0, out + err
        plan = json.loads(out)
        schema = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json")
                            .read_text())
        jsonschema.Draft202012Validator(schema).validate(plan)
        assert plan["warnings"] == [{"space": "-", "path": "tmp/a.bin", "message": (
            "entry type 'hologram' is not one this tool knows; it is kept, and so is every "
            "directory that holds it")}]
        assert [(c["path"], c["mode"]) for c in plan["changes"]] == [
            ("old.log", "recycle"), ("tmp/b.part", "permanent"), ("x.part", "permanent")]
        snapshot = tmp_path / "listing.json"
        assert library.run("snapshot", library.manifest, "--out", snapshot)[0] == 0
        code, offline, _ = library.run("plan", library.manifest, "--from-listing", snapshot,
                                       "--format", "json", env={"SMH_ACCESS_TOKEN": None})
        assert code == 0 and json.loads(offline)["warnings"] == plan["warnings"]
        code, out, err = library.apply()
        assert code == 0, out + err
        assert "WARNING: tmp/a.bin: entry type 'hologram'" in out
        assert set(deleted_paths(library.emu)) == {("-", "old.log"), ("-", "tmp/b.part"),
                                                    ("-", "x.part")}
        assert library.emu.state()["spaces"]["-"]["paths"] == [
            "keep/", "keep/k.txt", "tmp/", "tmp/a.bin"]
        assert library.converged()


# -- batch tasks that end without per-item results ---------------------------------------------

@pytest.mark.parametrize("faults", [{"task_status": 204}, {"task_result": False}])
def test_a_task_ending_without_results_is_verified_and_apply_converges(
    tmp_path: Path, faults: dict[str, Any]
) -> None:
    expected = reference_state(tmp_path)
    with serve(tmp_path) as library:
        library.emu.set_faults({"async_threshold": 1, **faults})
        code, out, err = library.apply()
        assert code == 0, out + err
        report = library.load_report()
        assert {item["outcome"] for item in report["items"]} == {"recycled", "deleted"}
        assert all(item["recycled_item_id_unknown"] for item in report["items"]
                   if item["outcome"] == "recycled")
        final = final_state(library)
        assert final["paths"] == expected["paths"]
        assert final["recycled"] == expected["recycled"]
        planned = [("-", item["path"]) for item in report["items"]]
        assert sorted(deleted_paths(library.emu)) == sorted(planned)  # nothing sent twice
        assert library.converged()


def test_a_task_ending_500_fails_what_the_listing_still_shows_and_a_rerun_finishes(
    tmp_path: Path
) -> None:
    expected = reference_state(tmp_path)
    with serve(tmp_path) as library:
        library.emu.set_faults({"async_threshold": 1, "task_status": 500, "fail_paths": {
            "old.log": {"status": 500, "code": "InternalServerError"}}})
        code, out, err = library.apply()
        assert code == 1, out + err
        by_path = {item["path"]: item for item in library.load_report()["items"]}
        assert (by_path["old.log"]["outcome"], by_path["old.log"]["code"]) == (
            "failed", "TaskWithoutResult")
        assert all(item["outcome"] != "failed" for path, item in by_path.items()
                   if path != "old.log")
        library.emu.set_faults({})
        code, out, err = library.apply()
        assert code == 0, out + err
        assert final_state(library)["paths"] == expected["paths"]


# -- a recycle bin that turns out to be off ----------------------------------------------------

def test_a_bin_that_turns_out_to_be_off_stops_recycle_deletes_and_apply_exits_1(
    tmp_path: Path
) -> None:
    with serve(tmp_path) as library:
        library.emu.set_faults({"recycle_bin_off": True})
        code, out, err = library.apply("--batch-size", "1", "--concurrency", "1")
        assert code == 1, out + err
        report = library.load_report()
        by_path = {item["path"]: item for item in report["items"]}
        # In path order: old.log is the first recycle delete; its 204 shows there is no bin.
        assert (by_path["old.log"]["outcome"], by_path["old.log"]["mode"],
                by_path["old.log"]["code"]) == ("deleted", "permanent", "RecycleBinNotEnabled")
        assert (by_path["tmp"]["outcome"], by_path["tmp"]["code"]) == (
            "failed", "RecycleBinNotEnabled")
        assert {by_path[p]["outcome"] for p in ("tmp/b.part", "x.part")} == {"deleted"}
        assert "deleted       old.log  (HTTP 204 RecycleBinNotEnabled: deleted permanently" in out
        assert "failed        tmp  (RecycleBinNotEnabled: not sent" in out
        assert "tmp/a.bin" in library.emu.state()["spaces"]["-"]["paths"]
        assert ("-", "tmp") not in deleted_paths(library.emu)


# -- a server that refuses limit=1000 ----------------------------------------------------------

def test_plan_and_apply_work_against_a_server_that_caps_limit_at_100(tmp_path: Path) -> None:
    paths = [*SEED_PATHS, *(f"tmp/many/f{i:03d}.bin" for i in range(150)),
             *(f"keep/k{i:03d}.txt" for i in range(120))]
    scenario = Scenario("capped", {"-": paths}, MANIFEST.replace("exist: [keep/]",
                                                                  "exist: [keep/k000.txt]"),
                        {}, {}, ("-", "old.log"))
    expected = reference_state(tmp_path, scenario)
    with serve(tmp_path, scenario) as library:
        library.emu.set_faults({"max_list_limit": 100, "max_list_limit_rejects": True})
        assert library.run("plan", library.manifest, "--detailed-exitcode")[0] == 2
        code, out, err = library.apply()
        assert code == 0, out + err
        assert not DeepDiff(expected, final_state(library))
        assert library.converged()
        limits = {(e["query"].get("limit"), e["status"]) for e in library.emu.request_log()
                  if e["route"] == "directory" and e["method"] == "GET"
                  and "stats" not in e["query"]}
        assert limits == {("1000", 400), ("100", 200)}


def test_an_unknown_token_transport_is_one_clear_error(tmp_path: Path) -> None:
    with serve(tmp_path) as library:
        code, _, err = library.run("plan", library.manifest,
                                     env={"SMH_TOKEN_TRANSPORT": "cookie"})
        assert code == 1
        assert err == ("Error: SMH_TOKEN_TRANSPORT='cookie' is not one of auto, header, "
                       "query\n")
        assert library.emu.request_log() == []
