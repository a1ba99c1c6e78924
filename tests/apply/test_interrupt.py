"""Interrupting apply: `kill -9` at several points, Ctrl-C once and twice. Each run is a real
process against a loopback emulator with latency and async batches, on one space and on three
(applied side by side); the same command run again must finish the job, send nothing outside
the plan, and not re-send what a recorded task or a recorded outcome already covers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from deepdiff import DeepDiff

from reconciler.apply.journal import read_records, replay
from reconciler.cli import main
from reconciler.emulator import Emulator
from tests.apply.scenarios import HEAD, with_ancestors
from tests.apply.support import LIBRARY, TOKEN, deleted_paths

pytestmark = pytest.mark.e2e

KEPT = ["keep/a.txt", "keep/b.txt", "d0/keep.md"]
PATHS = [f"d{i}/f{j}.bin" for i in range(4) for j in range(10)] + [
    "tmp/x/a.part", "tmp/x/b.part", "tmp/y/c.part", "tmp/notes.txt", *KEPT]
RULES = """\
    purge:
      - "**/*.bin"
      - {pattern: "tmp/**/*.part", mode: permanent}
      - tmp/
    recycle_bin: {empty: false}
"""
EXPECTED = {"paths": with_ancestors(["d1/", "d2/", "d3/", *KEPT]),
            "recycled": sorted([f"d{i}/f{j}.bin" for i in range(4) for j in range(10)]
                               + ["tmp"])}
FAULTS = {"latency_ms": 25, "async_threshold": 3, "task_polls": 1}


class Setup:
    def __init__(self, tmp_path: Path, url: str, emu: Emulator, spaces: tuple[str, ...]) -> None:
        self.emu = emu
        self.url = url
        self.spaces = spaces
        self.manifest = tmp_path / "library.yaml"
        self.manifest.write_text(HEAD + "".join(f'  - id: "{space}"\n{RULES}'
                                                for space in spaces))
        self.state_dir = tmp_path / "state"
        self.journal = self.state_dir / f"journal-{LIBRARY}.jsonl"
        self.report = tmp_path / "report.json"
        self.env = {**os.environ, "SMH_ENDPOINT": url, "SMH_ACCESS_TOKEN": TOKEN,
                    "NO_COLOR": "1"}
        self.env.pop("SMH_LIBRARY_SECRET", None)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "reconciler", "apply", str(self.manifest),
                "--auto-approve", "--state-dir", str(self.state_dir), "--report",
                str(self.report), "--batch-size", "6", "--concurrency", "4"]

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(), env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def wait_for_records(self, process: subprocess.Popen[str], count: int) -> bool:
        """Wait until the journal holds `count` records; False if the apply ended first."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if self.journal.exists() and self.journal.read_text().count("\n") >= count:
                return True
            time.sleep(0.002)
        raise AssertionError("the apply made no progress")

    def finish(self) -> tuple[int, str, str]:
        done = subprocess.run(self.command(), env=self.env, capture_output=True, text=True,
                              timeout=60)
        return done.returncode, done.stdout, done.stderr

    def state(self) -> dict[str, Any]:
        spaces = self.emu.state()["spaces"]
        return {space: {"paths": spaces[space]["paths"], "recycled": sorted(
            item["originalPath"] for item in spaces[space]["recycled"])} for space in self.spaces}

    def converged(self) -> bool:
        result = CliRunner().invoke(main, ["plan", str(self.manifest), "--detailed-exitcode"],
                                    env={"SMH_ENDPOINT": self.url, "SMH_ACCESS_TOKEN": TOKEN})
        return result.exit_code == 0


@pytest.fixture(params=[("-",), ("a", "b", "c")], ids=["one space", "three spaces"])
def setup(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    spaces: tuple[str, ...] = request.param
    emu = Emulator.from_seed({"library": LIBRARY, "secret": "s", "token": TOKEN,
                              "spaces": dict.fromkeys(spaces, PATHS)})
    emu.set_faults(FAULTS)
    with emu.serve() as url:
        yield Setup(tmp_path, url, emu, spaces)


def settled_log(emu: Emulator) -> int:
    """The request log's length once requests still in flight from a dead client landed."""
    time.sleep(0.2)
    return len(emu.request_log())


def check_finished(setup: Setup, out: str) -> dict[str, Any]:
    assert "Apply finished" in out
    assert not DeepDiff(dict.fromkeys(setup.spaces, EXPECTED), setup.state())
    assert setup.converged()
    report: dict[str, Any] = json.loads(setup.report.read_text())
    assert {item["outcome"] for item in report["items"]} <= {"recycled", "deleted"}
    in_bin = {(space, item["recycledItemId"]): item["originalPath"]
              for space, data in setup.emu.state()["spaces"].items()
              for item in data["recycled"]}
    for item in report["items"]:
        if item["outcome"] == "recycled" and not item.get("recycled_item_id_unknown"):
            assert in_bin[(item["space"], item["recycled_item_id"])] == item["path"]
    planned = {(item["space"], item["path"]) for item in report["items"]}
    assert set(deleted_paths(setup.emu)) <= planned
    assert not setup.journal.exists()
    return report


@pytest.mark.parametrize("records", [2, 3, 5, 8, 13])
def test_kill_9_then_the_same_command_finishes_the_job(setup: Setup, records: int) -> None:
    process = setup.start()
    assert setup.wait_for_records(process, records)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = settled_log(setup.emu)
    recorded = replay(read_records(setup.journal))
    plan = recorded.header.plan["changes"]
    paths = [(c["space"], c["path"]) for c in plan if c["action"] == "delete"]

    code, out, err = setup.finish()
    assert code == 0, out + err
    assert "Finishing the unfinished apply" in out
    check_finished(setup, out)

    resent = deleted_paths(setup.emu, before)
    attached = {paths[i] for task in recorded.open_tasks for i in task.items}
    settled = {paths[i] for i, result in recorded.results.items() if result.outcome.done}
    assert not attached & set(resent), "a batch whose task was recorded was sent again"
    assert not settled & set(resent), "an item already done was sent again"
    assert len(resent) == len(set(resent))


def test_killed_twice_still_finishes(setup: Setup) -> None:
    for records in (3, 4):
        process = setup.start()
        if setup.wait_for_records(process, (records if not setup.journal.exists() else
                                            setup.journal.read_text().count("\n") + records)):
            process.send_signal(signal.SIGKILL)
        process.wait()
    code, out, err = setup.finish()
    assert code == 0, out + err
    check_finished(setup, out)


def test_ctrl_c_stops_sending_waits_and_reports_then_a_rerun_finishes(setup: Setup) -> None:
    process = setup.start()
    assert setup.wait_for_records(process, 3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "Interrupted: sending no new batches" in err
    assert "Apply interrupted" in out
    assert "Traceback" not in err
    report = json.loads(setup.report.read_text())
    assert report["interrupted"] and report["totals"]["not_attempted"] > 0
    # Totals on screen, what to do, and no line per item left: those are in the report.
    summary = out.split("Apply interrupted", 1)[1]
    assert "not finished: run the same command again to finish." in summary
    assert "not_attempted" not in summary and ".bin" not in summary
    # Everything sent was waited for: the journal has no batch without an outcome.
    recorded = replay(read_records(setup.journal))
    assert recorded.maybe_applied == set() and recorded.open_tasks == []

    code, out, err = setup.finish()
    assert code == 0, out + err
    final = check_finished(setup, out)
    assert final["totals"]["items"] == report["totals"]["items"]


def test_a_second_ctrl_c_abandons_calls_in_flight(setup: Setup) -> None:
    process = setup.start()
    assert setup.wait_for_records(process, 3)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "Apply interrupted" in out and "Traceback" not in err
    assert setup.journal.exists()
    code, out, err = setup.finish()
    assert code == 0, out + err
    check_finished(setup, out)
