"""`smh-reconcile validate`: exit codes, one line per problem, JSON output, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[1]

BROKEN = """\
version: 1
library: smhdemo
spaces:
  - id: a
    purge:
      - {pattern: tmp/, mode: perm}
      - "*"
    exist: [/abs]
  - id: a
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_example_manifests_are_valid() -> None:
    code, out, err = run(str(REPO / "manifests"))

    assert code == 0, err
    assert out.startswith("3 manifests valid: library smhdemo, 2 spaces; ")
    assert err == ""


def test_one_valid_manifest_summary(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nlibrary: lib\nspaces:\n  - id: '-'\n", encoding="utf-8")

    assert run(str(manifest)) == (0, "1 manifest valid: library lib, 1 space\n", "")


def test_problems_go_to_stderr_one_line_each(tmp_path: Path) -> None:
    manifest = tmp_path / "prod.yaml"
    manifest.write_text(BROKEN, encoding="utf-8")

    code, out, err = run(str(manifest))

    name = manifest.as_posix()
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"{name}:6:31: spaces[0].purge[0].mode: must be one of recycle, permanent (got \"perm\")",
        f"{name}:7:9: spaces[0].purge[1]: `*` matches every top-level name and would purge the "
        "whole space; set `allow_whole_space: true` on the space if that is meant",
        f"{name}:8:13: spaces[0].exist[0]: path must be relative to the space root: remove the "
        "leading `/`",
        f"{name}:9:9: spaces[1].id: space `a` of library `smhdemo` is already declared at "
        f"{name}:4:9; each space may appear once across all manifests",
    ]


def test_json_lists_the_same_problems(tmp_path: Path) -> None:
    manifest = tmp_path / "prod.yaml"
    manifest.write_text(BROKEN, encoding="utf-8")

    code, out, err = run("--format", "json", str(manifest))

    assert code == 1
    assert err == ""
    problems = json.loads(out)
    assert [set(problem) for problem in problems] == [
        {"file", "line", "column", "where", "message"}
    ] * 4
    assert problems[0] == {
        "file": manifest.as_posix(),
        "line": 6,
        "column": 31,
        "where": "spaces[0].purge[0].mode",
        "message": 'must be one of recycle, permanent (got "perm")',
    }


def test_json_is_an_empty_list_when_valid() -> None:
    code, out, err = run("--format", "json", str(REPO / "manifests"))

    assert (code, json.loads(out), err) == (0, [], "")


def test_missing_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    code, out, err = run(str(tmp_path / "absent.yaml"))
    assert out == ""

    assert code == 1
    assert err == f"{(tmp_path / 'absent.yaml').as_posix()}:1:1: no such file or directory\n"


def test_paths_are_required() -> None:
    code, _, err = run()

    assert code == 1  # a usage error, never the 2 of plan --detailed-exitcode
    assert "Missing argument" in err


def test_no_traceback_for_hostile_input(tmp_path: Path) -> None:
    (tmp_path / "lol.yaml").write_bytes(
        b'a: &a ["lol","lol"]\nb: &b [*a,*a]\nc: [*b,*b]\n'
    )
    (tmp_path / "deep.yaml").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)))
    (tmp_path / "tag.yaml").write_bytes(b"!!python/object/apply:os.system ['true']\n")

    completed = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert {Path(line.split(":", 1)[0]).name for line in lines} == {
        "lol.yaml", "deep.yaml", "binary.yaml", "tag.yaml",
    }
    assert completed.stdout == ""
