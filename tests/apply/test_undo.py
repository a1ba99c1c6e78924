"""`undo REPORT`: the library back as it was before the apply, over loopback; unknown ids found
by original path; failures reported."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconciler.apply.report import ItemOutcome, ItemReport, Outcome
from reconciler.apply.undo import find_ids
from reconciler.cli import main
from reconciler.client import RecycledItem
from reconciler.desired import Mode
from reconciler.emulator import Clock, Emulator, HttpRequest, HttpResponse
from reconciler.listing import EntryType
from tests.apply.scenarios import HEAD
from tests.apply.support import LIBRARY, TOKEN

PATHS = ["tmp/a.bin", "tmp/sub/b.bin", "cache/c/", "docs/readme.md", "docs/old.md",
         "x.part", "photos/2023/a.jpg", "photos/2024/b.jpg"]
MANIFEST = HEAD + """\
  - id: "-"
    exist: [photos/2024/]
    purge: [tmp/, cache/, docs/old.md, "*.part"]
    prune: [photos/]
"""


def cli(*args: str | Path, url: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], env={
        "SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": url, "SMH_LIBRARY_SECRET": None})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def emu_seed() -> dict[str, Any]:
    return {"library": LIBRARY, "secret": "s", "token": TOKEN, "spaces": {"-": PATHS}}


@pytest.fixture
def clock() -> Clock:
    """The wall clock: these runs go through the real CLI over loopback."""
    return Clock()


def apply(emu: Emulator, url: str, tmp_path: Path) -> Path:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    report = tmp_path / "report.json"
    code, out, err = cli("apply", manifest, "--auto-approve", "--report", report,
                         "--state-dir", tmp_path / "state", url=url)
    assert code == 0, out + err
    return report


@pytest.mark.e2e
def test_undo_puts_the_library_back_as_it_was(emu: Emulator, tmp_path: Path) -> None:
    before = emu.state()["spaces"]["-"]["paths"]
    with emu.serve() as url:
        report = apply(emu, url, tmp_path)
        assert emu.state()["spaces"]["-"]["paths"] != before
        undo_report = tmp_path / "undo.json"
        code, out, err = cli("undo", report, "--auto-approve", "--report", undo_report, url=url)
    assert code == 0, out + err
    assert "Undo finished for library smhtest: 5 item(s): 5 restored, 0 failed." in out
    assert emu.state()["spaces"]["-"]["paths"] == before
    assert emu.state()["spaces"]["-"]["recycled"] == []
    data = json.loads(undo_report.read_text())
    assert data["kind"] == "smh-reconcile-undo-report"
    assert data["totals"] == {"items": 5, "restored": 5, "already_restored": 0, "failed": 0}
    assert TOKEN not in undo_report.read_text() + out + err


@pytest.mark.e2e
def test_undo_restores_spaces_side_by_side(tmp_path: Path) -> None:
    emu = Emulator.from_seed({"library": LIBRARY, "secret": "s", "token": TOKEN,
                              "spaces": {"a": PATHS, "b": PATHS}})
    before = emu.state()["spaces"]
    manifest = tmp_path / "m.yaml"
    manifest.write_text(HEAD + "".join(
        f'  - id: "{space}"\n    purge: [tmp/, cache/, docs/old.md]\n' for space in "ab"))
    here = {space: threading.Event() for space in "ab"}
    met: list[bool] = []
    original = emu.handle

    def handle(request: HttpRequest) -> HttpResponse:
        # Each space's restore call is answered once the other space's has come too.
        segments = request.target.split("?")[0].split("/")
        if request.method == "POST" and segments[3:4] == ["recycled"]:
            here[segments[5]].set()
            met.append(here["b" if segments[5] == "a" else "a"].wait(timeout=10))
        return original(request)

    with emu.serve() as url:
        code, out, err = cli("apply", manifest, "--auto-approve", "--state-dir",
                             tmp_path / "state", url=url)
        assert code == 0, out + err
        emu.handle = handle  # type: ignore[method-assign]
        code, out, err = cli("undo", tmp_path / "state" / "reports" / next(
            (tmp_path / "state" / "reports").iterdir()).name, "--auto-approve",
            "--state-dir", tmp_path / "state", url=url)
    assert code == 0, out + err
    assert met == [True, True]
    assert {space: data["paths"] for space, data in emu.state()["spaces"].items()} == {
        space: data["paths"] for space, data in before.items()}


@pytest.mark.e2e
def test_undo_finds_unknown_ids_by_path_and_handles_async_restores(
    emu: Emulator, tmp_path: Path
) -> None:
    before = emu.state()["spaces"]["-"]["paths"]
    with emu.serve() as url:
        report = apply(emu, url, tmp_path)
        data = json.loads(report.read_text())
        for item in data["items"]:
            if item["path"] in ("tmp", "docs/old.md"):
                item["recycled_item_id"] = None
                item["recycled_item_id_unknown"] = True
        report.write_text(json.dumps(data))
        emu.set_faults({"async_threshold": 1})
        code, out, err = cli("undo", report, "--auto-approve", url=url)
    assert code == 0, out + err
    assert emu.state()["spaces"]["-"]["paths"] == before
    restores = [e for e in emu.request_log() if e["route"] == "recycled"
                and e["method"] == "POST"]
    assert restores and all(e["status"] == 202 for e in restores)


@pytest.mark.e2e
def test_items_no_longer_in_the_bin_are_reported_failed(emu: Emulator, tmp_path: Path) -> None:
    with emu.serve() as url:
        report = apply(emu, url, tmp_path)
        data = json.loads(report.read_text())
        gone = next(i for i in data["items"] if i["path"] == "cache")
        emu.set_faults({})
        answer = httpx.delete(f"{url}/api/v1/recycled/{LIBRARY}/-/{gone['recycled_item_id']}",
                              params={"access_token": TOKEN})
        assert answer.status_code == 204
        code, out, _ = cli("undo", report, "--auto-approve", url=url)
    assert code == 1
    assert "1 failed" in out
    assert "failed    cache  (HTTP 404 RecycledItemNotFound" in out
    assert "tmp/a.bin" in emu.state()["spaces"]["-"]["paths"]


def test_unknown_ids_match_the_newest_unclaimed_bin_entry_of_that_path() -> None:
    def item(path: str, rid: int | None, kind: EntryType = EntryType.FILE) -> ItemReport:
        return ItemReport("-", path, kind, Mode.RECYCLE,
                          ItemOutcome(Outcome.RECYCLED, recycled_item_id=rid,
                                      recycled_item_id_unknown=rid is None))

    items = [item("a", None), item("a", None), item("b", 7), item("c", None),
             item("d", None, EntryType.DIR)]
    in_bin = [
        RecycledItem(3, "a", EntryType.FILE, removal_time="2027-01-01T00:00:01.000Z"),
        RecycledItem(4, "a", EntryType.FILE, removal_time="2027-01-01T00:00:02.000Z"),
        RecycledItem(5, "a", EntryType.FILE, removal_time="2027-01-01T00:00:00.000Z"),
        RecycledItem(7, "b", EntryType.FILE),
        RecycledItem(8, "d", EntryType.FILE),
    ]
    assert find_ids(items, in_bin, {7, 5}) == {0: 4, 1: 3}
    # An entry removed well before the apply started is an older delete of the same path.
    assert find_ids(items, in_bin, {7, 5}, not_before="2027-01-01T00:10:01.500Z") == {0: 4}
    assert find_ids(items, in_bin, {7, 5}, not_before="2027-01-01T00:12:00.000Z") == {}


@pytest.mark.e2e
def test_undo_previews_and_asks_like_apply(emu: Emulator, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with emu.serve() as url:
        report = apply(emu, url, tmp_path)
        after_apply = emu.state()["spaces"]["-"]["paths"]
        code, out, err = cli("undo", report, url=url)
        assert code == 1 and "not running in a terminal" in err and "--auto-approve" in err
        assert "restore 5 item(s) from the recycle bin" in out
        assert "  + docs/old.md" in out and "  + tmp" in out
        monkeypatch.setattr("reconciler.terminal.interactive", lambda: True)
        result = CliRunner().invoke(main, ["undo", str(report)], input="no\n", env={
            "SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": url, "SMH_LIBRARY_SECRET": None})
        assert result.exit_code == 1 and "undo cancelled" in result.stderr
        assert f"restore these items to library {LIBRARY} at {url}?" in result.stdout
        assert emu.state()["spaces"]["-"]["paths"] == after_apply
        result = CliRunner().invoke(main, ["undo", str(report), "--concurrency", "2"],
                                    input="yes\n", env={
            "SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": url, "SMH_LIBRARY_SECRET": None})
        assert result.exit_code == 0, result.output
        # Progress, one line per restore call off a terminal.
        assert "undo 1 [space -]: " in result.stderr and "item(s) settled" in result.stderr


@pytest.mark.e2e
def test_a_second_undo_reports_already_restored_not_failures(emu: Emulator,
                                                             tmp_path: Path) -> None:
    before = emu.state()["spaces"]["-"]["paths"]
    with emu.serve() as url:
        report = apply(emu, url, tmp_path)
        assert cli("undo", report, "--auto-approve", url=url)[0] == 0
        code, out, err = cli("undo", report, "--auto-approve", url=url)
    assert code == 0, out + err
    assert "5 item(s): 0 restored, 5 already restored, 0 failed." in out
    assert emu.state()["spaces"]["-"]["paths"] == before


def test_undo_of_an_unknown_run_id_is_one_clear_line(tmp_path: Path) -> None:
    code, _, err = cli("undo", "20270101T000000Z-abcd", "--state-dir", tmp_path, url="x")
    assert code == 1 and err.strip() == (
        f"Error: no report of run 20270101T000000Z-abcd in {tmp_path / 'reports'}")
    code, _, err = cli("undo", "nothing-here.json", url="x")
    assert code == 1 and "no such report file, and not a run id" in err
