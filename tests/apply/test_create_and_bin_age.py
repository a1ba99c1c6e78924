"""`create_missing` and `recycle_bin.older_than` end to end over loopback HTTP: plan, apply,
plan again; the report lists each directory created and each bin item deleted for good."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator import Clock, Emulator
from reconciler.emulator.tree import iso_time
from tests.apply.scenarios import cli
from tests.apply.support import LIBRARY, SECRET, TOKEN

pytestmark = pytest.mark.e2e

NOW = 1_800_000_000.0
DAY = 86_400


def seed_with_bin(**extra: Any) -> dict[str, Any]:
    return {
        "library": LIBRARY, "secret": SECRET, "token": TOKEN, "recycle_retention_days": 1000,
        "spaces": {"-": ["docs/a.txt", "tmp/x.part"]},
        "recycled": {"-": [
            {"path": "old/report.pdf", "removed": iso_time(NOW - 400 * DAY), "size": 4000},
            {"path": "mid/notes.txt", "removed": iso_time(NOW - 40 * DAY), "size": 40},
            {"path": "new/draft.txt", "removed": iso_time(NOW - 10 * DAY), "size": 10},
        ]},
        **extra,
    }


MANIFEST = """\
version: 1
library: smhtest
spaces:
  - id: "-"
    create_missing: true
    exist:
      - docs/
      - media/2026/raw/
      - docs/handbook.pdf
    purge:
      - tmp/
    recycle_bin:
      older_than: 30d
"""


class Run:
    def __init__(self, tmp_path: Path, url: str, emu: Emulator) -> None:
        self.url = url
        self.emu = emu
        self.manifest = tmp_path / "library.yaml"
        self.manifest.write_text(MANIFEST)
        self.tmp = tmp_path

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        return cli(*args, endpoint=self.url)

    def apply(self, *extra: str | Path) -> tuple[int, str, str, dict[str, Any]]:
        report = self.tmp / f"report-{len(list(self.tmp.glob('report-*')))}.json"
        code, out, err = self("apply", *extra, "--auto-approve", "--report", report,
                              "--state-dir", self.tmp / "state")
        data: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
        return code, out, err, data

    def bin_paths(self) -> list[str]:
        return sorted(item["originalPath"] for item in
                      self.emu.state()["spaces"]["-"]["recycled"])


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    emu = Emulator.from_seed(seed_with_bin(), clock=Clock(start=NOW))
    with emu.serve() as url:
        yield Run(tmp_path, url, emu)


def test_plan_shows_directories_to_create_and_old_bin_items_as_permanent_deletes(
        run: Run) -> None:
    code, out, _ = run("plan", run.manifest, "--format", "json", "--detailed-exitcode")
    assert code == 2
    plan = json.loads(out)
    created = [c for c in plan["changes"] if c["action"] == "create_directory"]
    assert [c["path"] for c in created] == ["media/2026/raw"]
    binned = [c for c in plan["changes"] if c["action"] == "delete_recycled"]
    assert [(c["original_path"], c["bytes"], c["age"]) for c in binned] == [
        ("mid/notes.txt", 40, "40d"), ("old/report.pdf", 4000, "400d")]
    assert {c["reason"] for c in binned} == {"recycle_bin.older_than 30d (library.yaml:13)"}
    assert plan["summary"]["create_directory"] == 1
    assert plan["summary"]["delete_recycled"] == 2
    # A file is never created: it stays missing.
    assert plan["missing"] == [{"space": "-", "path": "docs/handbook.pdf",
                                "reason": "exist docs/handbook.pdf (library.yaml:9)"}]
    code, text, _ = run("plan", run.manifest)
    assert "+ media/2026/raw/" in text
    assert "! old/report.pdf (recycle bin #1, removed 400d ago)" in text
    assert "permanent" in text.split("old/report.pdf", 1)[1].splitlines()[0]
    assert "1 directory to create" in text
    assert "2 recycle-bin items to delete permanently" in text
    # Planned with a read-only token, the plan says which grants apply's token needs: the
    # narrowest for each change.
    assert ("Apply needs a token granting create_directory, delete_directory, delete_file, "
            "delete_recycled (space -).") in text
    assert plan["apply_grants"] == [{"space": "-", "grants": [
        "create_directory", "delete_directory", "delete_file", "delete_recycled"]}]


def test_apply_with_minted_tokens_asks_only_for_the_grant_each_call_needs(run: Run) -> None:
    code, out, err = cli("apply", run.manifest, "--auto-approve", "--state-dir",
                         run.tmp / "state", endpoint=run.url,
                         env={"SMH_ACCESS_TOKEN": None, "SMH_LIBRARY_SECRET": SECRET})
    assert code == 0, out + err
    minted = [entry["query"].get("grant", "") for entry in run.emu.request_log()
              if entry["route"] == "token" and entry["method"] in ("GET", "POST")]
    assert "create_directory" in minted
    assert "delete_recycled" in minted


def test_apply_creates_the_nested_directory_and_keeps_only_the_recent_bin_item(run: Run) -> None:
    code, out, err, report = run.apply(run.manifest)
    assert code == 0, out + err
    paths = run.emu.state()["spaces"]["-"]["paths"]
    assert {"media/", "media/2026/", "media/2026/raw/"} <= set(paths)
    # tmp/ went to the bin in this apply and stays there; of the seeded items only the
    # one removed 10 days ago is left.
    assert run.bin_paths() == ["new/draft.txt", "tmp"]
    by_action = {(item.get("action", "delete"), item["path"]): item for item in report["items"]}
    assert by_action[("create_directory", "media/2026/raw")]["outcome"] == "created"
    assert by_action[("delete_recycled", "old/report.pdf")]["outcome"] == "deleted"
    assert by_action[("delete_recycled", "mid/notes.txt")]["outcome"] == "deleted"
    assert by_action[("delete_recycled", "old/report.pdf")]["bin_item_id"] == 1
    assert by_action[("delete", "tmp")]["outcome"] == "recycled"
    assert "deleted from the recycle bin (#1)" in out
    # Journaled like any item: each creation and each bin batch before it is sent, and after.
    journal = next((run.tmp / "state" / "archive").glob("journal-*.jsonl")).read_text()
    records = [json.loads(line) for line in journal.splitlines()]
    changes = [(r["action"], r["phase"]) for r in records if r["type"] == "change"]
    assert changes.index(("create_directory", "sent")) < changes.index(
        ("create_directory", "done"))
    assert ("delete_recycled", "sent") in changes and ("delete_recycled", "done") in changes
    order = [r["type"] for r in records]
    assert order.index("change") < order.index("batch")  # created before the space's deletes
    code, out, _ = run("plan", run.manifest, "--detailed-exitcode")
    # Only the file the tool never creates is left.
    assert code == 2 and "docs/handbook.pdf" in out
    assert "media/2026/raw" not in out and "recycle bin #" not in out


def test_a_saved_plan_deletes_no_bin_item_the_bin_no_longer_holds(run: Run,
                                                                 tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    code, _, err = run("plan", run.manifest, "--out", planfile)
    assert code == 0, err
    # Someone restores the 40-day-old item after the plan was saved.
    restored = httpx.post(f"{run.url}/api/v1/recycled/{LIBRARY}/-/2?restore"
                          f"&restore_path_strategy=fallbackToRoot&access_token={TOKEN}")
    assert restored.status_code == 200, restored.text
    _, out, err, report = run.apply(planfile)
    assert "Apply finished" in out, out + err
    assert run.bin_paths() == ["new/draft.txt", "tmp"]
    items = {item["path"]: item for item in report["items"]
             if item.get("action") == "delete_recycled"}
    assert items["old/report.pdf"]["outcome"] == "deleted"
    assert items["mid/notes.txt"]["outcome"] == "stale"
    assert "notes.txt" in run.emu.state()["spaces"]["-"]["paths"]


def test_an_offline_plan_from_a_snapshot_deletes_the_same_bin_items(run: Run) -> None:
    listing = run.tmp / "listing.json"
    code, _, err = run("snapshot", run.manifest, "--out", listing)
    assert code == 0, err
    live = json.loads(run("plan", run.manifest, "--format", "json")[1])
    offline = json.loads(run("plan", run.manifest, "--from-listing", listing,
                             "--format", "json")[1])
    def bin_changes(plan: dict[str, Any]) -> list[Any]:
        return [c for c in plan["changes"] if c["action"] in ("delete_recycled",
                                                               "create_directory")]
    assert bin_changes(offline) == bin_changes(live)
    assert len(bin_changes(live)) == 3


def test_a_token_without_delete_recycled_fails_each_bin_item_and_deletes_none(run: Run) -> None:
    minted = httpx.get(f"{run.url}/api/v1/token", params={
        "library_id": LIBRARY, "library_secret": SECRET,
        "grant": "delete_file,delete_directory,create_directory"}).json()["accessToken"]
    report_file = run.tmp / "report.json"
    code, out, err = cli("apply", run.manifest, "--auto-approve", "--report", report_file,
                         "--state-dir", run.tmp / "state", endpoint=run.url,
                         env={"SMH_ACCESS_TOKEN": minted})
    assert code == 1, out + err
    assert sorted(run.bin_paths()) == ["mid/notes.txt", "new/draft.txt", "old/report.pdf", "tmp"]
    report = json.loads(report_file.read_text())
    binned = [item for item in report["items"] if item.get("action") == "delete_recycled"]
    assert {(item["outcome"], item["code"]) for item in binned} == {("failed", "NoPermission")}
    assert "needs grant delete_recycled" in out
    assert minted not in out + err + report_file.read_text()
