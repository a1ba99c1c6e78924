"""Plan, outside changes, faults and applies interleaved at random: a saved plan never deletes
a path that was written after it was made, never deletes a kept path, and a plan made after
every apply converges.

A Hypothesis state machine drives the real CLI against the emulator over loopback. The
library starts from a small tree; between steps another client writes files (new ones, and
new versions of planned ones, deep inside planned directories too), and faults come and go.
"""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reconciler.cli import main
from reconciler.emulator import Clock, Emulator
from tests.apply.support import LIBRARY, SECRET, TOKEN, deleted_paths

pytestmark = pytest.mark.e2e

START = ["tmp/a.bin", "tmp/deep/b.bin", "tmp/keep/k.txt", "old/c.part", "old/d/e.part",
         "docs/guide.pdf", "x.part"]
MANIFEST = f"""\
version: 1
library: {LIBRARY}
safety: {{max_delete_percent: 100}}
spaces:
  - id: "-"
    protect: ["**/keep/**", "docs/**"]
    purge: [tmp/, {{pattern: "**/*.part", mode: permanent}}]
"""
WRITABLE = ["tmp/a.bin", "tmp/new.bin", "tmp/deep/b.bin", "tmp/deep/er/z.bin",
            "tmp/keep/late.txt", "old/c.part", "old/n.part", "x.part", "docs/new.pdf"]
FAULTS = [{}, {"async_threshold": 1}, {"error_rate": 0.2, "error_statuses": [503],
                                       "retry_after_s": 0, "seed": 3}]


def kept(path: str) -> bool:
    return "/keep/" in f"/{path}" or path.startswith("docs/")


class PlanApplyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = TemporaryDirectory()
        self.work = Path(self.folder.name)
        self.emu = Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": TOKEN,
                                       "spaces": {"-": START}}, clock=Clock(1_800_000_000.0))
        self.server = self.emu.serve()
        self.url = self.server.__enter__()
        self.manifest = self.work / "m.yaml"
        self.manifest.write_text(MANIFEST)
        self.planfile: Path | None = None
        self.written_after_plan: set[str] = set()
        self.runs = 0

    def teardown(self) -> None:
        self.server.__exit__(None, None, None)
        self.folder.cleanup()

    def cli(self, *args: str | Path) -> tuple[int, str]:
        env = {"SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": self.url, "SMH_LIBRARY_SECRET": None,
               "NO_COLOR": "1"}
        result = CliRunner().invoke(main, [str(a) for a in args], env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.output)
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    def paths(self) -> set[str]:
        return {p for p in self.emu.state()["spaces"]["-"]["paths"] if not p.endswith("/")}

    @rule()
    def save_plan(self) -> None:
        self.planfile = self.work / "plan.json"
        code, output = self.cli("plan", self.manifest, "--out", self.planfile)
        assert code == 0, output
        self.written_after_plan = set()

    @rule(path=st.sampled_from(WRITABLE))
    def another_client_writes(self, path: str) -> None:
        self.emu.clock.advance(1)
        self.emu.write_files("-", [path])
        self.written_after_plan.add(path)

    @rule(faults=st.sampled_from(FAULTS))
    def faults_change(self, faults: dict[str, Any]) -> None:
        self.emu.set_faults(faults)

    @precondition(lambda self: self.planfile is not None)
    @rule()
    def apply_the_saved_plan(self) -> None:
        assert self.planfile is not None
        before_paths = self.paths()
        since = len(self.emu.request_log())
        self.runs += 1
        state = self.work / "state"
        code, output = self.cli("apply", self.planfile, "--auto-approve", "--state-dir", state)
        while code not in (0, 1) or (code == 1 and "run the same command again" in output):
            code, output = self.cli("apply", self.planfile, "--auto-approve", "--state-dir",
                                    state)
        gone = before_paths - self.paths()
        assert not {p for p in gone if kept(p)}, output
        changed = {p for p in gone if p in self.written_after_plan}
        assert not changed, f"{changed} were written after the plan and deleted\n{output}"
        for _, item in deleted_paths(self.emu, since):
            assert not any(item == p or p.startswith(item + "/")
                           for p in self.written_after_plan if p in before_paths), item

    @rule()
    def apply_the_manifests_and_converge(self) -> None:
        self.emu.set_faults({})
        state = self.work / "state-manifests"
        for _ in range(3):
            code, output = self.cli("apply", self.manifest, "--auto-approve", "--state-dir",
                                    state)
            if code == 0:
                break
        assert code == 0, output
        code, output = self.cli("plan", self.manifest, "--detailed-exitcode")
        assert code == 0, output
        self.planfile = None

    @invariant()
    def kept_paths_stay(self) -> None:
        present = self.paths()
        assert {p for p in START if kept(p)} <= present
        report_dir = self.work / "state" / "reports"
        for report in report_dir.glob("*.json") if report_dir.exists() else ():
            assert json.loads(report.read_text())["library"] == LIBRARY


PlanApplyMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=8, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_plan_apply_and_outside_changes_interleaved = PlanApplyMachine.TestCase


class SlowPlanApplyMachine(PlanApplyMachine):
    pass


SlowPlanApplyMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_plan_apply_and_outside_changes_interleaved_at_length = pytest.mark.slow(
    SlowPlanApplyMachine.TestCase)
