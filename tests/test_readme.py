"""The README stays true: its first two commands, the commands it shows, the manifest keys it
documents, its examples, and the shell completion it promises."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.scripts import invocations

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEMO_COMMAND = ("python3 -m venv .venv && . .venv/bin/activate && pip install -e . "
                "&& smh-reconcile demo")
TEST_COMMAND = ("python3 -m venv .venv && . .venv/bin/activate && "
                "PIP_CONSTRAINT=constraints.txt pip install -e '.[test]' && python -m pytest")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    following = re.search(r"^#{2,3} ", README[start + len(title) + 2:], flags=re.MULTILINE)
    end = start + len(title) + 2 + following.start() if following else len(README)
    return README[start:end]


def test_the_first_two_commands_are_install_and_demo_then_install_and_test() -> None:
    blocks = code_blocks("sh")
    assert blocks[0].strip() == DEMO_COMMAND
    assert blocks[1].strip() == TEST_COMMAND
    first_heading = README.index("\n## ")
    assert README.index(DEMO_COMMAND) < README.index(TEST_COMMAND) < first_heading
    # .ci/run greps the one line that creates a venv and runs pytest, and runs it.
    ci_lines = [line for line in README.splitlines()
                if re.match(r"^python3 -m venv .*pytest", line)]
    assert ci_lines == [TEST_COMMAND]
    assert "grep -m1 -E '^python3 -m venv .*pytest' README.md" in (
        ROOT / ".ci" / "run").read_text()


def test_every_documented_command_parses_with_our_cli() -> None:
    shown = [args for block in code_blocks("sh") for args in invocations(block)]
    shown += [args for block in code_blocks("text")
              for line in block.splitlines() if line.startswith("$ smh-reconcile ")
              for args in invocations(line[2:])]
    assert {args[0] for args in shown} >= {"validate", "plan", "show", "apply", "undo",
                                           "snapshot", "emulator", "demo"}
    for args in shown:
        with main.commands[args[0]].make_context(f"smh-reconcile {args[0]}", args[1:]):
            pass


def test_every_command_is_in_the_commands_table() -> None:
    table = section("## Commands")
    for name in main.commands:
        assert re.search(rf"^\| `{name}\b", table, flags=re.MULTILINE), name


def _schema_keys(node: Any, defs: dict[str, Any], prefix: str = "") -> set[str]:
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    keys: set[str] = set()
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        keys.add(path)
        if child.get("type") == "array" or "items" in child:
            items = child.get("items", {})
            items = defs.get(items.get("$ref", "").rsplit("/", 1)[-1], items)
            if items.get("type") == "object":
                keys |= _schema_keys(items, defs, f"{path}[].")
        else:
            keys |= _schema_keys(child, defs, f"{path}.")
    return keys


def test_every_manifest_key_of_the_schema_is_documented() -> None:
    schema = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
    keys = _schema_keys(schema, schema["$defs"])
    leaves = {key for key in keys if not any(other.startswith(key + ".") or
                                             other.startswith(key + "[].") for other in keys)}
    documented = set(re.findall(r"^\| `([\w.\[\]]+)` \|", section("### Every key"),
                                flags=re.MULTILINE))
    assert leaves - {"spaces[].purge[].pattern", "spaces[].purge[].mode",
                     "spaces[].prune[].root", "spaces[].prune[].mode"} <= documented
    assert documented <= keys


def test_the_every_key_example_is_a_valid_manifest(tmp_path: Path) -> None:
    example = code_blocks("yaml")[0]
    assert example.startswith("# yaml-language-server: $schema=")
    manifest = tmp_path / "every.yaml"
    manifest.write_text(example)
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 0, result.output


def test_the_bad_manifest_errors_are_what_validate_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = next(block for block in code_blocks("yaml") if "mode: recycled" in block)
    shown = next(block for block in code_blocks("text")
                 if block.startswith("$ smh-reconcile validate bad.yaml"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(bad)
    result = CliRunner().invoke(main, ["validate", "bad.yaml"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == shown.splitlines()[1:]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_prints_a_script(shell: str) -> None:
    assert f"_SMH_RECONCILE_COMPLETE={shell}_source smh-reconcile" in README
    result = CliRunner().invoke(main, [], prog_name="smh-reconcile",
                                env={"_SMH_RECONCILE_COMPLETE": f"{shell}_source"})
    assert result.exit_code == 0
    assert "_smh_reconcile_completion" in result.output
    assert "_SMH_RECONCILE_COMPLETE=" in result.output


def test_completion_completes_commands_and_choices() -> None:
    def complete(words: str, cword: int) -> list[str]:
        result = CliRunner().invoke(main, [], prog_name="smh-reconcile", env={
            "_SMH_RECONCILE_COMPLETE": "bash_complete", "COMP_WORDS": words,
            "COMP_CWORD": str(cword)})
        return [line.split(",", 1)[1] for line in result.output.splitlines()]

    assert complete("smh-reconcile pl", 1) == ["plan"]
    assert complete("smh-reconcile plan --format ", 3) == ["text", "json", "markdown"]


def test_the_schema_the_editor_line_names_exists() -> None:
    for manifest in sorted((ROOT / "manifests").glob("*.yaml")):
        first = manifest.read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, manifest
        assert (manifest.parent / match.group(1)).resolve() == (
            ROOT / "schemas" / "manifest.schema.json").resolve()
    assert (ROOT / "schemas" / "manifest.schema.json").read_bytes() == (
        ROOT / "reconciler" / "schemas" / "manifest.schema.json").read_bytes()


def _requirement_names(requirements: list[str]) -> dict[str, str]:
    named: dict[str, str] = {}
    for requirement in requirements:
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", requirement)
        assert match, requirement
        named[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return named


def test_the_test_environment_is_pinned_and_the_package_keeps_lower_bounds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = _requirement_names(
        project["project"]["dependencies"] + project["project"]["optional-dependencies"]["test"]
        + project["build-system"]["requires"]
    )
    assert all(spec == "" or spec.startswith(">=") for spec in declared.values()), declared
    pins = _requirement_names([
        line for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ])
    assert all(spec.startswith("==") for spec in pins.values()), pins
    assert set(declared) <= set(pins), set(declared) - set(pins)


def test_the_listing_and_request_bounds_are_the_ones_the_code_applies() -> None:
    from reconciler.client.reader import MAX_DIRECTORY_ENTRIES, MAX_LISTING_PAGES, SmhReadClient
    from reconciler.client.session import MAX_ANSWER_BYTES, REQUEST_DEADLINE

    safety = section("## Safety")
    assert f"at most {MAX_DIRECTORY_ENTRIES:,} entries" in safety
    assert SmhReadClient.max_pages == MAX_LISTING_PAGES
    assert f"at most {MAX_LISTING_PAGES:,} pages" in safety
    assert f"{REQUEST_DEADLINE:g} s for its\n  whole answer" in safety
    assert f"over {MAX_ANSWER_BYTES // 2**20} MiB" in safety
    assert "30 s for a byte" in safety
    assert (ROOT / "docs" / "reliability.md").is_file()
