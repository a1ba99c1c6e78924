"""Safety counts what a delete really removes: files and bytes inside collapsed directories, the
whole-space guard, the byte limit, directories counted without stats, a directory that grew
after the plan, and maintenance that is no change on a clean library. End to end over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator import Emulator

pytestmark = pytest.mark.e2e

TOKEN = "safety-token-99c1"
STUDIO_DIRS = ["contracts", "footage", "renders", "audio", "stills", "scripts", "archive"]
# 7 top-level directories holding 226 files between them, some deep.
STUDIO = [f"{d}/{sub}/f{i:03d}.bin" for n, d in enumerate(STUDIO_DIRS)
          for sub in ("a", "b/c") for i in range(16 + n)][:226]


def studio_manifest(*, extra_space: str = "", safety: str = "") -> str:
    return (f"version: 1\nlibrary: smhstudio\nmode: permanent\n{safety}"
            "spaces:\n  - id: studio\n    purge: [\"[!.]*\"]\n" + extra_space)


class Library:
    def __init__(self, emu: Emulator, url: str, tmp_path: Path) -> None:
        self.emu, self.url, self.tmp = emu, url, tmp_path

    def run(self, *args: str | Path) -> tuple[int, str, str]:
        env = {"SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": self.url, "SMH_LIBRARY_SECRET": None,
               "NO_COLOR": None}
        result = CliRunner().invoke(main, [str(a) for a in args], env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.output)
        return result.exit_code, result.stdout, result.stderr

    def manifest(self, text: str) -> Path:
        path = self.tmp / "m.yaml"
        path.write_text(text)
        return path

    def apply(self, manifest: Path, *extra: str | Path) -> tuple[int, str, str]:
        return self.run("apply", manifest, "--auto-approve", "--state-dir", self.tmp / "state",
                        *extra)

    def plan_json(self, manifest: Path) -> dict[str, Any]:
        code, out, err = self.run("plan", manifest, "--format", "json")
        assert code == 0, err
        plan: dict[str, Any] = json.loads(out)
        return plan

    def writes(self) -> list[str]:
        return [f"{e['method']} {e['route']}" for e in self.emu.request_log()
                if e["method"] != "GET"]

    def paths(self, space: str) -> list[str]:
        return list(self.emu.state()["spaces"][space]["paths"])


def serve(seed: dict[str, Any], tmp_path: Path) -> Iterator[Library]:
    emu = Emulator.from_seed({"library": seed.pop("library", "smhstudio"), "secret": "s",
                              "token": TOKEN, **seed})
    with emu.serve() as url:
        yield Library(emu, url, tmp_path)


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Library]:
    yield from serve({"spaces": {"studio": STUDIO, "other": ["x/y.txt"]}}, tmp_path)


def test_the_collapsed_studio_purge_is_refused_by_the_whole_space_guard_and_the_percent_limit(
    studio: Library,
) -> None:
    assert len(STUDIO) == 226
    manifest = studio.manifest(studio_manifest())
    assert studio.run("validate", manifest)[0] == 0  # no pattern check can see this one
    plan = studio.plan_json(manifest)
    assert plan["summary"]["delete"] == 7 and plan["summary"]["files"] == 226
    assert {s["limit"] for s in plan["safety"]} == {"whole_space", "max_delete_percent"}
    before = studio.paths("studio")
    code, _, err = studio.apply(manifest)
    assert code == 1
    assert "whole-space guard: space studio: the plan deletes all 7 entries" in err
    assert "safety limit: space studio: removes 226 of the 226 files it holds (100.0%" in err
    code, _, err = studio.apply(manifest, "--force")
    assert code == 1 and "whole-space guard" in err and "safety limit" not in err
    assert studio.writes() == [] and studio.paths("studio") == before


def test_the_studio_purge_applies_once_the_manifest_says_so(studio: Library) -> None:
    manifest = studio.manifest(studio_manifest(
        safety="safety: {max_delete_percent: 100}\n",
        extra_space="    allow_whole_space: true\n"))
    code, out, err = studio.apply(manifest)
    assert code == 0, out + err
    assert studio.paths("studio") == [] and studio.paths("other") == ["x/", "x/y.txt"]


def test_a_collapsed_directorys_files_count_in_the_percent_limit(tmp_path: Path) -> None:
    # One listed entry of eleven goes, but it holds 40 of the space's 50 files.
    paths = [f"tmp/cache/{i}.bin" for i in range(40)] + [f"doc{i}.txt" for i in range(10)]
    for library in serve({"spaces": {"-": paths}}, tmp_path):
        manifest = library.manifest(
            'version: 1\nlibrary: smhstudio\nspaces:\n  - id: "-"\n    purge: [tmp/]\n')
        plan = library.plan_json(manifest)
        assert [(c["path"], c["files"]) for c in plan["changes"]] == [("tmp", 40)]
        assert plan["spaces"][0]["listed"] == 11 and plan["spaces"][0]["files"] == 50
        [violation] = plan["safety"]
        assert violation["limit"] == "max_delete_percent"
        assert "removes 40 of the 50 files it holds (80.0%" in violation["message"]
        assert "by 25 files" in violation["message"]
        code, _, err = library.apply(manifest)
        assert code == 1 and "safety limit" in err and library.writes() == []
        assert library.apply(manifest, "--force")[0] == 0
        assert not any(p.startswith("tmp/") for p in library.paths("-"))


def test_max_delete_bytes_adds_up_what_the_items_remove(tmp_path: Path) -> None:
    seed = {"spaces": {"-": [{"path": "big/a.bin", "size": 1500}, {"path": "big/b.bin",
                                                                   "size": 700},
                             {"path": "c.part", "size": 300}, "keep.txt"]}}
    for library in serve(seed, tmp_path):
        text = ('version: 1\nlibrary: smhstudio\nsafety: {max_delete_bytes: "%s"}\n'
                'spaces:\n  - id: "-"\n    purge: [big/, "*.part"]\n')
        over = library.manifest(text % "2 KB")
        plan = library.plan_json(over)
        assert plan["summary"]["bytes"] == 2500
        assert [(c["path"], c["bytes"]) for c in plan["changes"]] == [
            ("big", 2200), ("c.part", 300)]
        [violation] = plan["safety"]
        assert violation == {
            "limit": "max_delete_bytes", "space": None, "forceable": True,
            "message": "the plan removes 3 files, 2.5 kB, over safety.max_delete_bytes "
                       "(2.0 kB) by 500 B"}
        assert library.apply(over)[0] == 1 and library.writes() == []
        assert library.apply(library.manifest(text % "2.5KB"))[0] == 0


def test_a_bad_size_is_a_located_manifest_error(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text('version: 1\nlibrary: l\nsafety:\n  max_delete_bytes: "50 GiGs"\n'
                        'spaces:\n  - id: "-"\n')
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 1
    assert f"{manifest}:4:21: safety.max_delete_bytes: '50 GiGs' is not a size" in (
        result.stderr)


def test_without_stats_a_directory_is_listed_to_count_it_and_the_plan_says_so(
    tmp_path: Path,
) -> None:
    paths = [f"tmp/{d}/{i}.bin" for d in ("a", "b/c") for i in range(5)] + ["keep.txt"]
    for library in serve({"spaces": {"-": paths}}, tmp_path):
        library.emu.set_faults({"stats_unavailable": ["tmp"]})
        manifest = library.manifest(
            'version: 1\nlibrary: smhstudio\nspaces:\n  - id: "-"\n    purge: [tmp/]\n')
        [item] = library.plan_json(manifest)["changes"]
        assert (item["files"], item["counted"]) == (10, "listing")
        listed = {e["path"] for e in library.emu.request_log()
                  if e["route"] == "directory" and "stats" not in e["query"]}
        assert {"tmp", "tmp/a", "tmp/b", "tmp/b/c"} <= listed
        code, out, _ = library.run("plan", manifest)
        assert code == 0 and "- tmp/  10 files (listed)" in out
        library.emu.set_faults({"stats_unavailable": True})
        [again] = library.plan_json(manifest)["changes"]
        assert again["files"] == 10  # the space's own count falls back too
        assert library.plan_json(manifest)["spaces"][0]["files"] == 11


def test_a_directory_that_grew_after_the_plan_is_stale_at_apply(tmp_path: Path) -> None:
    paths = [f"tmp/cache/{i}.bin" for i in range(3)] + ["keep.txt"]
    for library in serve({"spaces": {"-": paths}}, tmp_path):
        manifest = library.manifest(
            'version: 1\nlibrary: smhstudio\nspaces:\n  - id: "-"\n    purge: [tmp/]\n')
        planfile = tmp_path / "plan.json"
        assert library.run("plan", manifest, "--out", planfile)[0] == 0
        # Deep inside, where the plan never listed: neither tmp's eTag nor a digest sees it.
        library.emu.write_files("-", ["tmp/cache/deeper/new-upload.mov"])
        report = tmp_path / "report.json"
        code, _, _ = library.apply(planfile, "--report", report)
        items = json.loads(report.read_text())["items"]
        assert [(i["path"], i["outcome"]) for i in items] == [("tmp", "stale")]
        assert "now holds 4 files" in json.dumps(items)
        assert "tmp/cache/deeper/new-upload.mov" in library.paths("-")
        assert code in (0, 1)  # the exit code of stale items is the report's concern


def test_a_clean_library_plans_to_no_changes_with_maintenance_declared(tmp_path: Path) -> None:
    manifest_text = ('version: 1\nlibrary: smhstudio\nhistory: {clear: true}\nspaces:\n'
                     '  - id: "-"\n    recycle_bin: {empty: true}\n    purge: [tmp/]\n')
    for library in serve({"spaces": {"-": ["docs/a.pdf"]}}, tmp_path):
        manifest = library.manifest(manifest_text)
        code, out, _ = library.run("plan", manifest, "--detailed-exitcode")
        assert code == 0 and "No changes." in out
        assert "clear all earlier file versions" not in out
    for library in serve({"spaces": {"-": ["docs/a.pdf"]},
                          "history": {"enabled": False, "earlier_versions": 3}}, tmp_path):
        manifest = library.manifest(manifest_text)
        code, out, _ = library.run("plan", manifest, "--detailed-exitcode")
        assert code == 2 and "clear all earlier file versions (3 now)" in out
        assert library.apply(manifest)[0] == 0
        assert library.run("plan", manifest, "--detailed-exitcode")[0] == 0
