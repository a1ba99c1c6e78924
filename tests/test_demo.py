"""`smh-reconcile demo`: the whole flow, in process and as a subprocess, fast, ending on "No
changes", leaving the working directory and environment as they were; and the sample library
and manifest telling the story the demo narrates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.auth import Credentials
from reconciler.cli import main
from reconciler.commands import demo
from reconciler.manifest import load_desired_state
from reconciler.targets import Target, live_plan

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MANIFEST = ROOT / "reconciler" / "data" / "demo.yaml"
NO_CHANGES = "No changes. The library matches the manifests"
TIME_LIMIT_S = 15.0


def last_line(output: str) -> str:
    return output.rstrip().splitlines()[-1]


def test_demo_runs_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made_up = iter(["demo-test-secret-aaaa", "demo-test-admin-bbbb"])
    monkeypatch.setattr(demo, "made_up_secret", lambda: next(made_up))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMH_ACCESS_TOKEN", "a-token-of-the-user-the-demo-must-not-use")
    monkeypatch.delenv("SMH_ENDPOINT", raising=False)
    environment = dict(os.environ)

    started = time.monotonic()
    result = CliRunner().invoke(main, ["demo"])
    elapsed = time.monotonic() - started

    assert result.exit_code == 0, result.output
    assert elapsed < TIME_LIMIT_S
    assert last_line(result.stdout).startswith(NO_CHANGES)
    for step in ("[1/4] $ smh-reconcile validate demo.yaml",
                 "[2/4] $ smh-reconcile plan demo.yaml --out plan.json",
                 "[3/4] $ smh-reconcile apply plan.json --auto-approve --report report.json",
                 "[4/4] $ smh-reconcile plan demo.yaml"):
        assert step in result.stdout
    assert "requests, all GET" in result.stdout
    assert "Report written to report.json." in result.stdout
    # The plan is printed once (step 2); apply points back at it, plan again says no changes.
    plan_lines = [line for line in result.stdout.splitlines() if line.startswith("  ! ")]
    assert plan_lines and len(plan_lines) == len(set(plan_lines))
    assert "(the plan shown in the step before)" in result.stdout
    for secret in ("demo-test-secret-aaaa", "demo-test-admin-bbbb",
                   "a-token-of-the-user-the-demo-must-not-use"):
        assert secret not in result.output
    # Nothing left behind: not here, not in its own folder, not in the environment.
    assert Path.cwd() == tmp_path and list(tmp_path.iterdir()) == []
    workdir = re.search(r"Everything happens in (\S+),", result.stdout)
    assert workdir is not None and not Path(workdir.group(1)).exists()
    assert dict(os.environ) == environment


def test_demo_runs_as_a_subprocess(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SMH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "reconciler", "demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < TIME_LIMIT_S
    assert last_line(done.stdout).startswith(NO_CHANGES)
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_bundled_manifest_is_the_one_in_manifests() -> None:
    assert BUNDLED_MANIFEST.read_bytes() == (ROOT / "manifests" / "demo.yaml").read_bytes()
    assert demo.bundled(demo.MANIFEST_FILE) == BUNDLED_MANIFEST.read_text(encoding="utf-8")


def test_sample_library_shows_every_kind_of_change() -> None:
    """The story the demo tells: both modes, a prune root, kept paths inside a purge
    pattern, a missing path, and bins with items to empty."""
    emulator = demo.demo_emulator(secret="s", admin_token="t")
    state = load_desired_state([BUNDLED_MANIFEST])
    target = Target(spec=state.libraries[0], endpoint="https://smhdemo.api.tencentsmh.cn",
                    credentials=Credentials.from_env({"SMH_ACCESS_TOKEN": "t"}),
                    transport=emulator.transport())
    plan = live_plan(target).to_json()

    deletes = [c for c in plan["changes"] if c["action"] == "delete"]
    spaces = {"marketing", "archive"}
    for space in spaces:
        modes = {c["mode"] for c in deletes if c["space"] == space}
        assert modes == {"recycle", "permanent"}, space
    assert {c["space"] for c in plan["changes"] if c["action"] == "empty_recycle_bin"} == spaces
    assert all(len(emulator.state()["spaces"][s]["recycled"]) > 0 for s in spaces)
    assert any(c["reason"].startswith("prune ") for c in deletes)
    assert any(c["type"] == "dir" for c in deletes)
    assert [(m["space"], m["path"]) for m in plan["missing"]] == [
        ("marketing", "docs/handbook.pdf")]
    assert plan["safety"] == [] and plan["summary"]["errors"] == 0
    # Kept although a purge pattern matches them.
    paths = emulator.state()["spaces"]
    for space, kept in (("marketing", "contracts/2024/initech-signed.pdf.part"),
                        ("marketing", "photos/2024/07-jul/IMG_0070.jpg.part"),
                        ("archive", "2023/q4/year-end-close.tmp")):
        assert kept in paths[space]["paths"]
        assert not any(kept == c["path"] or kept.startswith(c["path"] + "/")
                       for c in deletes if c["space"] == space)
    files = sum(1 for space in paths.values() for path in space["paths"]
                if not path.endswith("/"))
    assert 200 <= files <= 1000
