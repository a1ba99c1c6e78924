"""End-to-end properties of plan and apply, over real loopback HTTP against the emulator:
random trees x random manifests -> apply -> the plan made again is empty. From the emulator's
request log, no delete ever took a kept path (or a prune root, or a directory holding one),
every delete was of a path a rule targets, and a delete was permanent exactly where the rule
that decides the path asked for it.

The expected outcome is computed here from the words of the README's rules, with wcmatch's
whole-path glob as the matcher, independently of the planner and of `reconciler.matching`.
The quick variant runs in CI; the slow one runs more cases, with faults (errors, dropped
answers) and apply run again until it finishes.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from wcmatch import glob

from reconciler.emulator import Emulator
from reconciler.matching import normalize, parent_of
from tests.apply.scenarios import cli
from tests.strategies import apply_manifests, consistent, manifest_text, paths_strategy

pytestmark = pytest.mark.e2e

LIBRARY = "smhtest"
TOKEN = "property-token-0b9e"
_GLOB = glob.GLOBSTAR | glob.DOTGLOB | glob.CASE | glob.FORCEUNIX

FAULTS: dict[str, Any] = {"error_rate": 0.1, "error_statuses": [429, 500, 503],
                          "retry_after_s": 0, "drop_rate": 0.05, "async_threshold": 3}


def matches(pattern: str, path: str, *, is_dir: bool) -> bool:
    pattern = normalize(pattern)
    if pattern.endswith("/") and not is_dir:
        return False
    return bool(glob.compile(pattern.rstrip("/"), flags=_GLOB).match(normalize(path)))


class Rules:
    """The README's rules, read literally, over the seeded tree."""

    def __init__(self, manifest: dict[str, Any], paths: list[str]) -> None:
        self.manifest = manifest
        self.kinds: dict[str, bool] = {}  # path -> is a directory
        for raw in paths:
            segments = raw.strip("/").split("/")
            for depth in range(1, len(segments) + 1):
                path = "/".join(segments[:depth])
                self.kinds[path] = depth < len(segments) or raw.endswith("/")
        self.roots = {normalize(root.strip("/")) for root, _ in manifest["prune"]}

    def ancestors(self, path: str) -> list[str]:
        """`path` and every directory above it, innermost first."""
        found = [path]
        while "/" in path:
            path = parent_of(path)
            found.append(path)
        return found

    def kept(self, path: str) -> bool:
        keep = [*self.manifest["exist"], *self.manifest["protect"]]
        return any(matches(p, a, is_dir=self.kinds.get(a, True)) for a in self.ancestors(path)
                   for p in keep)

    def mode(self, path: str) -> str | None:
        """The mode of the rule that decides `path`, or None when no rule targets it."""
        for at in self.ancestors(path):
            for pattern, mode in self.manifest["purge"]:
                if matches(pattern, at, is_dir=self.kinds.get(at, True)):
                    return str(mode)
        for at in self.ancestors(path)[1:]:
            for root, mode in self.manifest["prune"]:
                if normalize(root.strip("/")) == normalize(at):
                    return str(mode)
        return None

    def never_deleted(self) -> list[str]:
        """Kept paths and prune roots: neither they nor a directory holding them may go."""
        return [path for path, is_dir in self.kinds.items()
                if self.kept(path) or (is_dir and normalize(path) in self.roots)]


def run_cli(*args: str, url: str) -> tuple[int, str]:
    code, out, err = cli(*args, endpoint=url, env={"SMH_ACCESS_TOKEN": TOKEN})
    return code, out + err


def deletes_in_log(emu: Emulator) -> list[tuple[str, bool]]:
    """(path, permanent) of every delete the library was asked for."""
    found: list[tuple[str, bool]] = []
    for entry in emu.request_log():
        if entry["route"] == "batch" and isinstance(entry["body"], list):
            found.extend((item["path"], bool(item["permanent"])) for item in entry["body"])
        elif entry["method"] == "DELETE" and entry["route"] in ("file", "directory"):
            found.append((entry["path"], entry["query"].get("permanent") in ("1", "true")))
    return found


def check(paths: list[str], manifest: dict[str, Any], *, faults: dict[str, Any] | None) -> None:
    paths = consistent(paths)
    rules = Rules(manifest, paths)
    emu = Emulator.from_seed({"library": LIBRARY, "secret": "s", "token": TOKEN,
                              "spaces": {"-": paths}})
    with tempfile.TemporaryDirectory() as folder, emu.serve() as url:
        manifest_file = Path(folder) / "library.yaml"
        manifest_file.write_text(manifest_text(manifest))
        code, out = run_cli("validate", str(manifest_file), url=url)
        assume(code == 0)  # a manifest the tool refuses is not a case
        if faults is not None:
            emu.set_faults({**faults, "seed": len(paths)})
        for _ in range(4):  # with faults, apply may need running again to finish
            code, out = run_cli("apply", str(manifest_file), "--auto-approve",
                            "--state-dir", str(Path(folder) / "state"), url=url)
            if code == 0:
                break
            assert faults is not None, out
        assert code == 0, out
        emu.set_faults({})
        code, out = run_cli("plan", str(manifest_file), "--format", "json", url=url)
        assert code == 0, out
        assert json.loads(out)["changes"] == []

    protected = rules.never_deleted()
    for path, permanent in deletes_in_log(emu):
        taken = [kept for kept in protected
                 if kept == path or kept.startswith(path + "/")]
        assert not taken, f"deleting {path} took {taken}"
        mode = rules.mode(path)
        assert mode is not None, f"{path} was deleted but no rule targets it"
        assert permanent is (mode == "permanent"), f"{path} deleted permanent={permanent}"
    left = set(emu.state()["spaces"]["-"]["paths"])
    for kept in protected:
        assert kept in left or kept + "/" in left, f"{kept} is gone"


def run(max_examples: int, faults: dict[str, Any] | None) -> Callable[..., None]:
    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(paths=paths_strategy, manifest=apply_manifests)
    def property_(paths: list[str], manifest: dict[str, Any]) -> None:
        check(paths, manifest, faults=faults)

    return property_


def test_apply_converges_and_deletes_only_what_the_rules_allow() -> None:
    run(12, None)()


@pytest.mark.slow
def test_apply_converges_and_deletes_only_what_the_rules_allow_many_cases() -> None:
    run(300, None)()


@pytest.mark.slow
def test_apply_under_faults_converges_and_deletes_only_what_the_rules_allow() -> None:
    run(150, FAULTS)()
