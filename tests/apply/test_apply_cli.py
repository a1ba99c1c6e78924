"""`apply` end to end over real loopback HTTP: plan -> apply -> plan again converges, with and
without faults; refusals, the prompt, plan files, the report, and secrets kept out of output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from deepdiff import DeepDiff

from reconciler.cli import main
from reconciler.emulator import Clock, Emulator
from tests.apply.scenarios import (
    MANIFEST,
    SCENARIOS,
    SEED_PATHS,
    Library,
    Scenario,
    subtree,
    with_ancestors,
)
from tests.apply.support import LIBRARY, SECRET, TOKEN, deleted_paths

pytestmark = pytest.mark.e2e


def expected_state(scenario: Scenario, *, failing: bool = False) -> dict[str, Any]:
    expected = {}
    for space, paths in scenario.expected.items():
        recycled = list(scenario.recycled[space])
        if failing and scenario.fail[0] == space:
            paths = sorted(set(paths) | set(subtree(scenario.spaces[space], scenario.fail[1])))
            recycled = [p for p in recycled if p != scenario.fail[1]]
        expected[space] = {"paths": paths, "recycled": sorted(recycled)}
    return expected


@pytest.fixture(params=SCENARIOS, ids=lambda scenario: scenario.name)
def library(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Library]:
    scenario: Scenario = request.param
    clock = Clock(start=1_800_000_000.0)
    emu = Emulator.from_seed(scenario.seed(), clock=clock)
    with emu.serve() as url:
        yield Library(scenario, tmp_path, url, emu, clock)


def check_report_against_bin(library: Library) -> None:
    report = library.load_report()
    in_bin = {(space, item["recycledItemId"])
              for space, data in library.emu.state()["spaces"].items()
              for item in data["recycled"]}
    for item in report["items"]:
        if item["outcome"] == "recycled" and item["recycled_item_id"] is not None and in_bin:
            assert (item["space"], item["recycled_item_id"]) in in_bin


def test_plan_apply_plan_converges(library: Library) -> None:
    assert library.run("plan", library.manifest, "--detailed-exitcode")[0] == 2
    code, out, err = library.apply()
    assert code == 0, out + err
    assert "Apply finished" in out
    assert library.converged()
    assert not DeepDiff(expected_state(library.scenario), library.state())
    report = library.load_report()
    assert report["totals"]["failed"] == report["totals"]["not_attempted"] == 0
    assert {item["outcome"] for item in report["items"]} <= {"recycled", "deleted"}
    check_report_against_bin(library)
    planned = {(item["space"], item["path"]) for item in report["items"]}
    assert set(deleted_paths(library.emu)) <= planned
    assert not list(library.state_dir.glob("journal-*.jsonl"))
    assert list((library.state_dir / "archive").glob("journal-*.jsonl"))


FAULTS: dict[str, Any] = {
    "error_rate": 0.05, "error_statuses": [429, 503], "retry_after_s": 0, "drop_rate": 0.01,
    "async_threshold": 1, "seed": 5,
}


def test_faults_fail_only_the_failing_item_and_a_rerun_finishes(library: Library) -> None:
    space, failing = library.scenario.fail
    library.emu.set_faults({**FAULTS, "fail_paths": {
        failing: {"status": 403, "code": "NoPermission"}}})
    code, out, err = library.apply()
    assert code == 1, out + err
    report = library.load_report()
    by_path = {(item["space"], item["path"]): item for item in report["items"]}
    failed = by_path[(space, failing)]
    assert (failed["outcome"], failed["status"], failed["code"]) == ("failed", 403,
                                                                     "NoPermission")
    others = [item for key, item in by_path.items() if key != (space, failing)]
    assert all(item["outcome"] in ("recycled", "deleted") for item in others), others
    assert f"failed        {failing if space == '-' else f'{space}:{failing}'}" in out
    assert not DeepDiff(expected_state(library.scenario, failing=True), library.state())
    check_report_against_bin(library)
    planned = {(item["space"], item["path"]) for item in report["items"]}
    assert set(deleted_paths(library.emu)) <= planned
    assert any(e["route"] == "task" for e in library.emu.request_log())

    library.emu.set_faults({})
    library.clock.advance(61)  # history may be cleared once a minute
    code, out, err = library.apply()
    assert code == 0, out + err
    assert library.converged()
    assert not DeepDiff(expected_state(library.scenario), library.state())


# -- one library for the remaining tests -------------------------------------------------------

@pytest.fixture
def simple(tmp_path: Path) -> Iterator[Library]:
    scenario = Scenario("simple", {"-": SEED_PATHS}, MANIFEST, {"-": ["keep/", "keep/k.txt"]},
                        {"-": ["old.log", "tmp"]}, ("-", "old.log"))
    clock = Clock(start=1_800_000_000.0)
    emu = Emulator.from_seed(scenario.seed(), clock=clock)
    with emu.serve() as url:
        yield Library(scenario, tmp_path, url, emu, clock)


def untouched(library: Library) -> bool:
    return library.emu.state()["spaces"]["-"]["paths"] == with_ancestors(SEED_PATHS) and not [
        e for e in library.emu.request_log() if e["method"] != "GET"]


def test_without_a_terminal_apply_refuses_unless_auto_approved(simple: Library) -> None:
    code, out, err = simple.run("apply", simple.manifest, "--state-dir", simple.state_dir)
    assert code == 1
    assert "not running in a terminal" in err and "--auto-approve" in err
    assert "Traceback" not in out + err
    assert untouched(simple)
    assert not list(simple.state_dir.rglob("*.jsonl"))


def test_on_a_terminal_only_yes_applies(simple: Library,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.terminal.interactive", lambda: True)
    code, out, err = simple.run("apply", simple.manifest, "--state-dir", simple.state_dir,
                                stdin="y\n")
    assert code == 1 and "cancelled" in err
    assert untouched(simple)
    code, out, _ = simple.run("apply", simple.manifest, "--state-dir", simple.state_dir,
                              stdin="yes\n")
    assert code == 0
    assert f"Do you want to apply this plan to library {LIBRARY} at {simple.url}?" in out
    assert simple.converged()


def test_apply_shows_the_plan_before_applying(simple: Library) -> None:
    code, out, _ = simple.apply()
    assert code == 0
    assert out.index("- tmp/") < out.index("Apply finished")
    assert "Plan: 4 to delete" in out


def test_a_plan_over_a_safety_limit_is_refused_unless_forced(simple: Library) -> None:
    simple.manifest.write_text(MANIFEST.replace("max_delete_percent: 100",
                                                "max_delete_percent: 10, min_existing: 1"))
    code, _, err = simple.apply()
    assert code == 1
    assert "Error: refusing to apply: safety limit: space -: removes" in err
    assert "(use --force to apply anyway)" in err
    assert untouched(simple)
    assert simple.apply("--force")[0] == 0
    assert simple.converged()


def test_recycling_into_a_space_without_a_bin_needs_force(tmp_path: Path) -> None:
    scenario = Scenario("no-bin", {"-": SEED_PATHS}, MANIFEST, {}, {}, ("-", "x"),
                        extra_seed={"recycle_bin": False})
    emu = Emulator.from_seed(scenario.seed())
    with emu.serve() as url:
        library = Library(scenario, tmp_path, url, emu, Clock())
        code, _, err = library.apply()
        assert code == 1 and "would be permanent because the space has no recycle bin" in err
        assert untouched(library)
        code, _, _ = library.apply("--force")
        assert code == 0
        outcomes = {item["outcome"] for item in library.load_report()["items"]}
        assert outcomes == {"deleted"}
        assert library.converged()


def test_a_blocked_history_clear_is_refused_even_when_forced(tmp_path: Path) -> None:
    manifest = MANIFEST + "history: {clear: true}\n"
    scenario = Scenario("history-on", {"-": SEED_PATHS}, manifest, {}, {}, ("-", "x"),
                        extra_seed={"history": {"enabled": True, "earlier_versions": 3}})
    emu = Emulator.from_seed(scenario.seed())
    with emu.serve() as url:
        library = Library(scenario, tmp_path, url, emu, Clock())
        code, _, err = library.apply("--force")
        assert code == 1 and "history clear is blocked" in err
        assert untouched(library)


def test_no_changes_applies_nothing_and_leaves_no_journal(simple: Library) -> None:
    assert simple.apply()[0] == 0
    before = len(simple.emu.request_log())
    code, out, _ = simple.apply()
    assert code == 0 and "No changes: nothing to apply." in out
    assert all(e["method"] == "GET" for e in simple.emu.request_log()[before:])


def test_a_saved_plan_is_applied_exactly_and_changed_items_are_stale(
    simple: Library, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    assert simple.run("plan", simple.manifest, "--out", planfile)[0] == 0
    # After the plan was saved: tmp/ gains an entry.
    make_directory(simple, "tmp/new")
    before = len(simple.emu.request_log())
    code, out, err = simple.run("apply", planfile, "--auto-approve", "--report", simple.report,
                                "--state-dir", simple.state_dir)
    # An item not carried out fails the run, with what to do about it.
    assert code == 1, out + err
    assert "1 item changed since the plan: plan again." in out
    items = {item["path"]: item for item in simple.load_report()["items"]}
    assert items["tmp"]["outcome"] == "stale"
    assert "etag" in items["tmp"]["message"]
    assert items["old.log"]["outcome"] == "recycled"
    assert items["tmp/b.part"]["outcome"] == "deleted"
    assert "stale         tmp  (" in out
    sent = [(e["route"], e["body"]) for e in simple.emu.request_log()[before:]
            if e["method"] != "GET"]
    assert sent == [("batch", [{"path": "old.log", "permanent": False},
                               {"path": "tmp/b.part", "permanent": True},
                               {"path": "x.part", "permanent": True}])]
    assert "tmp/a.bin" in simple.emu.state()["spaces"]["-"]["paths"]


def test_a_saved_plan_whose_manifests_changed_is_refused(
    simple: Library, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    assert simple.run("plan", simple.manifest, "--out", planfile)[0] == 0
    simple.manifest.write_text(MANIFEST.replace('"*.log", ', ""))
    code, _, err = simple.run("apply", planfile, "--auto-approve", "--state-dir",
                              simple.state_dir)
    assert code == 1
    assert "the manifests differ from those the plan was made from" in err
    assert f"{simple.manifest}: changed" in err
    assert untouched(simple)


def make_directory(library: Library, path: str) -> None:
    answer = httpx.put(f"{library.url}/api/v1/directory/{LIBRARY}/-/{path}",
                       params={"access_token": TOKEN})
    assert answer.status_code == 201


def test_an_unfinished_apply_of_another_source_is_not_mixed_in(
    simple: Library, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    simple.run("plan", simple.manifest, "--out", planfile)
    journal = simple.state_dir / f"journal-{LIBRARY}.jsonl"
    simple.state_dir.mkdir()
    journal.write_text(json.dumps({
        "type": "start", "version": 1, "library": LIBRARY, "endpoint": simple.url,
        "source": {"kind": "manifests", "digest": "other", "spaces": []},
        "started_at": "2027-01-01T00:00:00.000Z", "plan": {}, "plan_digest": "x"}) + "\n")
    code, _, err = simple.run("apply", planfile, "--auto-approve", "--state-dir",
                              simple.state_dir)
    assert code == 1
    assert f"an unfinished apply of library {LIBRARY}" in err and str(journal) in err
    assert untouched(simple)


def test_secrets_never_appear_in_output_report_or_journal(simple: Library) -> None:
    code, out, err = simple.apply()
    assert code == 0
    texts = [out, err, simple.report.read_text()]
    texts += [path.read_text() for path in simple.state_dir.rglob("*") if path.is_file()]
    assert all(TOKEN not in text for text in texts)


def test_minted_tokens_and_the_library_secret_stay_out_of_everything(tmp_path: Path) -> None:
    secret = "library-secret-5b7f0a"
    scenario = Scenario("minted", {"-": SEED_PATHS}, MANIFEST, {}, {}, ("-", "x"))
    emu = Emulator.from_seed({**scenario.seed(), "secret": secret})
    with emu.serve() as url:
        library = Library(scenario, tmp_path, url, emu, Clock())
        code, out, err = library.apply(env={"SMH_ACCESS_TOKEN": None,
                                            "SMH_LIBRARY_SECRET": secret})
        assert code == 0, out + err
        grants = {e["query"].get("grant") for e in emu.request_log()
                  if e["route"] == "token" and e["method"] == "GET"}
        # Reading, and deleting in just the modes each batch uses: nothing more.
        assert grants == {None, "delete_directory,delete_file",
                          "delete_directory,delete_directory_permanent,delete_file,"
                          "delete_file_permanent"}
        texts = [out, err, library.report.read_text()]
        texts += [p.read_text() for p in library.state_dir.rglob("*") if p.is_file()]
        assert all(secret not in text for text in texts)
        assert all("acctk" not in text and "access_token=" not in text for text in texts)


def test_progress_lines_go_to_stderr_one_per_batch(simple: Library) -> None:
    code, out, err = simple.apply("--batch-size", "1", "--concurrency", "1")
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("batch ")]
    assert len(lines) == 4
    assert lines[-1].endswith("4/4 item(s) settled")
    assert "batch" not in out


def test_every_refusal_is_its_own_line_and_nothing_is_sent(simple: Library) -> None:
    simple.manifest.write_text(
        MANIFEST.replace("max_delete_percent: 100", "max_delete_percent: 10, min_existing: 1")
        + '  - id: ghost\n    purge: [tmp/]\n')
    code, _, err = simple.apply("--force")
    assert code == 1
    lines = err.splitlines()
    assert ("Error: refusing to apply: listing failed in space(s) ghost: plan again before "
            "applying") in lines
    assert not any("safety limit" in line for line in lines)  # --force passes the limits
    code, _, err = simple.apply()
    assert code == 1
    refusals = [line for line in err.splitlines() if line.startswith("Error: refusing")]
    assert len(refusals) == 2 and "safety limit" in refusals[1]
    assert untouched(simple)


def test_a_space_the_plan_file_does_not_have_is_a_usage_error(
    simple: Library, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    simple.run("plan", simple.manifest, "--out", planfile)
    code, _, err = simple.run("apply", planfile, "--space", "nope", "--auto-approve",
                              "--state-dir", simple.state_dir)
    assert code == 1 and "--space nope: not in the plan file" in err
    assert untouched(simple)


# -- exit codes and reports a pipeline can trust -----------------------------------------------


@pytest.mark.parametrize("args", [
    ["apply", "--no-such-flag", "x.yaml"],
    ["aply", "x.yaml"],
    ["apply"],
    ["apply", "x.yaml", "--batch-size", "0"],
    ["plan", "x.yaml", "--format", "yaml"],
    ["undo"],
])
def test_a_usage_error_exits_1_never_the_2_of_detailed_exitcode(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output


def test_apply_refuses_a_report_path_that_holds_a_report(simple: Library) -> None:
    simple.report.write_text('{"kind": "smh-reconcile-apply-report"}')
    code, _, err = simple.run("apply", simple.manifest, "--auto-approve", "--report",
                                simple.report, "--state-dir", simple.state_dir)
    assert code == 1 and "already holds a report" in err
    assert untouched(simple)
    assert simple.report.read_text() == '{"kind": "smh-reconcile-apply-report"}'


def test_every_run_keeps_its_report_in_the_state_folder_and_undo_finds_it_by_run_id(
    simple: Library,
) -> None:
    code, out, _ = simple.run("apply", simple.manifest, "--auto-approve",
                              "--state-dir", simple.state_dir)
    assert code == 0
    (kept,) = (simple.state_dir / "reports").glob("*.json")
    report = json.loads(kept.read_text())
    run_id = report["run_id"]
    assert kept.name == f"{run_id}.json" and f"smh-reconcile undo {run_id}" in out
    assert {item["outcome"] for item in report["items"]} == {"recycled", "deleted"}
    code, out, err = simple.run("undo", run_id, "--auto-approve", "--state-dir",
                                simple.state_dir)
    assert code == 0, out + err
    assert "2 restored" in out
    assert "old.log" in simple.emu.state()["spaces"]["-"]["paths"]


def test_a_rerun_of_a_finished_plan_says_so_and_touches_no_report(
    simple: Library, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    assert simple.run("plan", simple.manifest, "--out", planfile)[0] == 0
    first = tmp_path / "first.json"
    args = ("apply", planfile, "--auto-approve", "--state-dir", simple.state_dir)
    assert simple.run(*args, "--report", first)[0] == 0
    recorded = first.read_text()
    before = len(simple.emu.request_log())
    code, out, err = simple.run(*args, "--report", first)
    assert code == 0, out + err
    assert "This plan was already applied" in out and "Nothing was sent" in out
    assert first.read_text() == recorded
    assert len(simple.emu.request_log()) == before
    assert len(list((simple.state_dir / "reports").glob("*.json"))) == 1
    # undo of the kept report still restores what the first run recycled.
    code, out, _ = simple.run("undo", first, "--auto-approve")
    assert code == 0 and "2 restored" in out


def test_a_forced_apply_does_not_say_it_needs_force(simple: Library) -> None:
    simple.manifest.write_text(MANIFEST.replace("max_delete_percent: 100",
                                                "max_delete_percent: 10, min_existing: 1"))
    code, out, _ = simple.apply("--force")
    assert code == 0
    assert "unless run with --force" not in out and "use --force" not in out
    assert "WARNING: safety limit: space -: removes" in out
    assert "--force: apply goes ahead despite these" in out


# -- errors a user can act on ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["http://127.0.0.1:abc", "http://[::1"])
def test_a_malformed_endpoint_is_one_clear_line(simple: Library, bad: str) -> None:
    for args, env in (((), {"SMH_ENDPOINT": bad}), (("--endpoint", bad), {})):
        code, out, err = simple.run("plan", simple.manifest, *args, env=env)
        assert code == 1
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
        assert "is not a valid URL" in err and bad in err


def test_a_refused_connection_names_the_endpoint_and_how_long_it_tried(
    simple: Library,
) -> None:
    with Emulator.from_seed(simple.scenario.seed()).serve() as url:
        pass  # a port that nothing listens on any more
    code, _, err = simple.run("plan", simple.manifest, env={"SMH_ENDPOINT": url})
    assert code == 1
    (line,) = err.strip().splitlines()
    assert f"no connection to {url}" in line and "attempt(s) over" in line and " s" in line


def test_a_wrong_library_secret_is_one_error_about_credentials(simple: Library) -> None:
    env = {"SMH_ACCESS_TOKEN": None, "SMH_LIBRARY_SECRET": "not-the-secret"}
    for command in (("plan", simple.manifest),
                    ("apply", simple.manifest, "--auto-approve", "--state-dir",
                     simple.state_dir)):
        code, out, err = simple.run(*command, env=env)
        assert code == 1
        (line,) = err.strip().splitlines()
        assert "SMH_LIBRARY_SECRET was refused" in line and "plan again" not in line
        assert "not-the-secret" not in out + err
    assert untouched(simple)


def test_a_read_only_token_names_the_grant_apply_needs(simple: Library) -> None:
    answer = httpx.get(f"{simple.url}/api/v1/token", params={
        "library_id": LIBRARY, "library_secret": SECRET, "grant": ""})
    read_only = answer.json()["accessToken"]
    code, out, _ = simple.apply(env={"SMH_ACCESS_TOKEN": read_only})
    assert code == 1
    assert ("3 items refused for a missing grant (403 NoPermission): the token needs "
            "delete_file, delete_file_permanent;") in out
    assert "HTTP 403 NoPermission: No permission.; needs grant delete_file)" in out
    assert len(out.split("Apply finished", 1)[1].splitlines()) < 12


def test_the_recheck_phase_is_labelled_in_the_progress(simple: Library, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    assert simple.run("plan", simple.manifest, "--out", planfile)[0] == 0
    code, _, err = simple.run("apply", planfile, "--auto-approve", "--state-dir",
                              simple.state_dir)
    assert code == 0
    assert "re-checking 4 item(s) of space - against the library before sending them" in err
    assert err.index("re-checking") < err.index("batch 1 [space -]")


def test_a_saved_plan_against_a_server_that_is_gone_is_one_error(
    simple: Library, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    assert simple.run("plan", simple.manifest, "--out", planfile)[0] == 0
    with Emulator.from_seed(simple.scenario.seed()).serve() as url:
        pass  # a port that nothing listens on any more
    code, _, err = simple.run("apply", planfile, "--auto-approve", "--endpoint", url,
                              "--state-dir", simple.state_dir)
    assert code == 1
    (line,) = [line for line in err.splitlines() if line.startswith("Error")]
    assert f"no connection to {url}" in line and "attempt(s) over" in line
