"""Rules that see age and size, end to end over loopback HTTP against the emulator: logs older
than 90 days, the newest 7 backups kept, nothing modified in the last 24 hours touched; ages
measured against the server's `Date`, the same offline; a file touched after the plan is stale."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Clock, Emulator
from tests.apply.scenarios import cli

pytestmark = pytest.mark.e2e

NOW = 1_800_000_000.0  # the emulator's clock; the local clock plays no part
DAY = 86400.0

MANIFEST = """\
version: 1
library: smhtest
safety: {max_delete_percent: 100}
spaces:
  - id: "-"
    protect:
      - {pattern: "**", newer_than: 24h}
    purge:
      - {pattern: "logs/**/*.log", older_than: 90d}
      - {pattern: "backups/*.tar", keep_newest: 7, mode: permanent}
      - tmp/
      - {pattern: "media/**", larger_than: 1 MB, smaller_than: 1GiB}
"""


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_files() -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = [
        {"path": "logs/2026/old.log", "mtime": iso(NOW - 100 * DAY)},
        {"path": "logs/2026/recent.log", "mtime": iso(NOW - 10 * DAY)},
        {"path": "logs/app/ancient.log", "mtime": iso(NOW - 400 * DAY)},
        {"path": "logs/app/notes.txt", "mtime": iso(NOW - 400 * DAY)},
        {"path": "tmp/a.bin", "mtime": iso(NOW - 30 * DAY)},
        {"path": "tmp/fresh.bin", "mtime": iso(NOW - 3600)},
        {"path": "media/small.jpg", "size": 1000, "mtime": iso(NOW - 9 * DAY)},
        {"path": "media/big.mov", "size": 5_000_000, "mtime": iso(NOW - 9 * DAY)},
        {"path": "media/huge.mov", "size": 2 * 1024**3, "mtime": iso(NOW - 9 * DAY)},
    ]
    # b01 is the oldest (20 days), b10 the newest (11 days).
    files += [{"path": f"backups/b{i:02d}.tar", "mtime": iso(NOW - (21 - i) * DAY)}
              for i in range(1, 11)]
    return files


class Library:
    def __init__(self, tmp_path: Path, url: str, emu: Emulator, clock: Clock) -> None:
        self.tmp_path = tmp_path
        self.url = url
        self.emu = emu
        self.clock = clock
        self.manifest = tmp_path / "library.yaml"
        self.manifest.write_text(MANIFEST)
        self.state_dir = tmp_path / "state"
        self.report = tmp_path / "report.json"

    def run(self, *args: str | Path) -> tuple[int, str, str]:
        return cli(*args, endpoint=self.url)

    def plan_json(self, *extra: str | Path) -> dict[str, Any]:
        code, out, err = self.run("plan", self.manifest, "--format", "json", *extra)
        assert code == 0, out + err
        data: dict[str, Any] = json.loads(out)
        return data

    def deletes(self, *extra: str | Path) -> dict[str, tuple[str, str]]:
        return {change["path"]: (change["mode"], change["reason"])
                for change in self.plan_json(*extra)["changes"] if change["action"] == "delete"}

    def paths(self) -> list[str]:
        return list(self.emu.state()["spaces"]["-"]["paths"])


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    clock = Clock(start=NOW)
    emu = Emulator.from_seed({"library": "smhtest", "secret": "s", "token": "apply-token-7c1d9e2f",
                              "spaces": {"-": seed_files()}}, clock=clock)
    with emu.serve() as url:
        yield Library(tmp_path, url, emu, clock)


EXPECTED = {
    "backups/b01.tar": ("permanent", "purge backups/*.tar keep_newest 7 (library.yaml:10)"),
    "backups/b02.tar": ("permanent", "purge backups/*.tar keep_newest 7 (library.yaml:10)"),
    "backups/b03.tar": ("permanent", "purge backups/*.tar keep_newest 7 (library.yaml:10)"),
    "logs/2026/old.log": ("recycle", "purge logs/**/*.log older_than 90d (library.yaml:9)"),
    "logs/app/ancient.log": ("recycle", "purge logs/**/*.log older_than 90d (library.yaml:9)"),
    "media/big.mov": ("recycle",
                      "purge media/** larger_than 1 MB smaller_than 1GiB (library.yaml:12)"),
    "tmp/a.bin": ("recycle", "purge tmp/ (library.yaml:11)"),
}


def test_the_classic_rules_plan_and_apply_the_expected_deletes(library: Library) -> None:
    assert library.deletes() == EXPECTED
    code, out, err = library.run("apply", library.manifest, "--auto-approve", "--report",
                                 library.report, "--state-dir", library.state_dir)
    assert code == 0, out + err
    left = library.paths()
    for path in EXPECTED:
        assert path not in left
    # Kept: the 7 newest backups, young logs, other files, and tmp/ with its fresh file.
    for path in ("backups/b04.tar", "backups/b10.tar", "logs/2026/recent.log",
                 "logs/app/notes.txt", "tmp/", "tmp/fresh.bin", "media/small.jpg",
                 "media/huge.mov"):
        assert path in left
    # Applied once, the library has converged... except that the newest 7 stay 7.
    assert library.deletes() == {}


def test_protecting_recent_files_lists_every_directory_that_would_be_deleted(
    library: Library
) -> None:
    library.plan_json()
    listed = {entry["path"] for entry in library.emu.request_log()
              if entry["route"] == "directory" and entry["method"] == "GET"
              and "stats" not in entry["query"] and "info" not in entry["query"]}
    assert "tmp" in listed  # purged whole but for the 24-hour rule: its files are looked at


def test_ages_are_measured_against_the_servers_date(library: Library) -> None:
    assert "logs/2026/recent.log" not in library.deletes()
    library.clock.advance(85 * DAY)  # the server's day moves on; this machine's does not
    reasons = library.deletes()
    assert reasons["logs/2026/recent.log"] == (
        "recycle", "purge logs/**/*.log older_than 90d (library.yaml:9)")
    # tmp/fresh.bin is no longer fresh: tmp/ goes whole.
    assert reasons["tmp"] == ("recycle", "purge tmp/ (library.yaml:11)")
    assert "tmp/a.bin" not in reasons


def test_a_plan_from_a_snapshot_measures_ages_as_the_live_one(library: Library) -> None:
    listing = library.tmp_path / "listing.json"
    code, out, err = library.run("snapshot", library.manifest, "--out", listing)
    assert code == 0, out + err
    saved = json.loads(listing.read_text())
    assert saved["listed_at"] == "2027-01-15T08:00:00.000Z"  # the emulator's Date
    library.clock.advance(365 * DAY)
    offline = library.plan_json("--from-listing", listing)
    assert offline["listed_at"] == "2027-01-15T08:00:00.000Z"
    assert {change["path"]: (change["mode"], change["reason"])
            for change in offline["changes"]} == EXPECTED


def test_a_file_touched_between_plan_and_apply_is_stale(library: Library) -> None:
    planfile = library.tmp_path / "plan.json"
    code, out, err = library.run("plan", library.manifest, "--out", planfile)
    assert code == 0, out + err
    library.emu.write_files("-", ["logs/2026/old.log"])  # rewritten just now
    # Rewritten too, but still old: the rule would still delete it; its fingerprint changed.
    library.emu.write_files("-", [{"path": "logs/app/ancient.log",
                                   "mtime": iso(NOW - 300 * DAY)}])
    code, out, err = library.run("apply", planfile, "--auto-approve", "--report",
                                 library.report, "--state-dir", library.state_dir)
    assert code == 1, out + err  # an item not carried out
    items = {item["path"]: item for item in json.loads(library.report.read_text())["items"]}
    assert items["logs/2026/old.log"]["outcome"] == "stale"
    assert "logs/2026/old.log" in library.paths()
    assert items["logs/app/ancient.log"]["outcome"] == "stale"
    assert "etag" in items["logs/app/ancient.log"]["message"]
    assert "logs/app/ancient.log" in library.paths()
    assert items["media/big.mov"]["outcome"] == "recycled"
    assert items["backups/b01.tar"]["outcome"] == "deleted"
