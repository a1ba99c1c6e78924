"""`plan` and `show` from the command line, over real loopback HTTP to the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator import Emulator
from reconciler.planner import make_plan
from reconciler.render.markdown import LIMIT, render_markdown
from tests.support import library_listing, library_spec, space_spec, walk

TOKEN = "cli-secret-token-1234"
MANIFEST = """\
version: 1
library: smhcli
spaces:
  - id: "-"
    exist: [keep/me.txt, docs/missing.pdf]
    purge:
      - tmp/
      - {pattern: "**/*.part", mode: permanent}
"""


@pytest.fixture
def emulator() -> Emulator:
    return Emulator.from_seed({"library": "smhcli", "secret": "s", "token": TOKEN,
                               "spaces": {"-": ["tmp/a.bin", "keep/me.txt", "x/y.part"]}})


@pytest.fixture
def endpoint(emulator: Emulator) -> Iterator[str]:
    with emulator.serve() as url:
        yield url


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "lib.yaml"
    path.write_text(MANIFEST)
    return path


def run(*args: str, endpoint: str | None = None, token: str | None = TOKEN,
        env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environment = {"SMH_ACCESS_TOKEN": token, "SMH_ENDPOINT": endpoint,
                   "SMH_LIBRARY_SECRET": None, "NO_COLOR": None, **(env or {})}
    result = CliRunner().invoke(main, list(args), env=environment)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_plan_prints_the_plan_and_exits_0(endpoint: str, manifest: Path) -> None:
    code, out, err = run("plan", str(manifest), endpoint=endpoint)
    assert code == 0, err
    assert "- tmp/" in out and "! x/y.part" in out and "? docs/missing.pdf" in out
    assert "Plan: 2 to delete (1 to the recycle bin, 1 permanently)" in out
    assert "\x1b[" not in out  # no colour into a pipe


def test_detailed_exitcode_is_2_with_changes_and_0_without(
    endpoint: str, manifest: Path, tmp_path: Path
) -> None:
    assert run("plan", str(manifest), "--detailed-exitcode", endpoint=endpoint)[0] == 2
    clean = tmp_path / "clean.yaml"
    clean.write_text(MANIFEST.replace("docs/missing.pdf", "keep/").replace("tmp/", "nothing/")
                     .replace("**/*.part", "none/*.part"))
    code, out, _ = run("plan", str(clean), "--detailed-exitcode", endpoint=endpoint)
    assert code == 0 and "No changes." in out


def test_json_format_is_the_documented_document(endpoint: str, manifest: Path) -> None:
    code, out, _ = run("plan", str(manifest), "--format", "json", endpoint=endpoint)
    assert code == 0
    data = json.loads(out)
    assert data["summary"] == {**data["summary"], "delete": 2, "recycle": 1, "permanent": 1}
    assert [c["path"] for c in data["changes"]] == ["tmp", "x/y.part"]
    assert data["missing"] == [{"space": "-", "path": "docs/missing.pdf",
                                "reason": "exist docs/missing.pdf (lib.yaml:5)"}]


def test_saved_plan_shows_the_same_in_every_format(
    endpoint: str, manifest: Path, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    for fmt in ("text", "json", "markdown"):
        code, live, _ = run("plan", str(manifest), "--format", fmt, "--out", str(planfile),
                            endpoint=endpoint)
        assert code == 0
        shown = run("show", str(planfile), "--format", fmt, token=None)[1]
        assert live.startswith(shown.rstrip("\n")) if fmt == "text" else live == shown
    saved = json.loads(planfile.read_text())
    assert saved["kind"] == "smh-reconcile-plan" and saved["endpoint"] == endpoint
    assert all("fingerprint" in c for c in saved["changes"] if c["action"] == "delete")
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "plan.schema.json")
                        .read_text())
    jsonschema.Draft202012Validator(schema).validate(saved)
    tmp = next(c for c in saved["changes"] if c.get("path") == "tmp")
    assert tmp["fingerprint"]["contents"]["listed"] == [""]  # listed: a .part could be inside
    assert TOKEN not in planfile.read_text()


def test_the_token_never_appears_in_any_output(
    endpoint: str, manifest: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(MANIFEST.replace("smhcli", "smhother"))
    code, out, err = run("plan", str(other), endpoint=endpoint)
    assert code == 1 and "LibraryNotFound" in out + err, out + err
    assert TOKEN not in out + err
    for fmt in ("text", "json", "markdown"):
        code, out, err = run("plan", str(manifest), "--format", fmt, endpoint=endpoint)
        assert TOKEN not in out + err


def test_a_wrong_token_is_one_clear_error_without_traceback(
    endpoint: str, manifest: Path
) -> None:
    code, out, err = run("plan", str(manifest), endpoint=endpoint, token="not-the-token")
    assert code == 1
    assert "Traceback" not in out + err
    assert "InvalidAccessToken" in out + err
    assert "not-the-token" not in out + err


def test_missing_credentials_and_broken_manifests_are_clear(
    endpoint: str, manifest: Path, tmp_path: Path
) -> None:
    code, _, err = run("plan", str(manifest), endpoint=endpoint, token=None)
    assert code == 1 and "SMH_ACCESS_TOKEN" in err and "Traceback" not in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nlibrary: smhcli\nspaces:\n  - id: '-'\n    purge: [../x]\n")
    code, _, err = run("plan", str(broken), endpoint=endpoint)
    assert code == 1 and "broken.yaml:5:" in err and "Traceback" not in err


def test_plain_http_is_refused_beyond_loopback(manifest: Path) -> None:
    code, _, err = run("plan", str(manifest), endpoint="http://smhcli.example.com")
    assert code == 1 and "HTTPS" in err


def test_show_rejects_what_is_not_a_plan_file(manifest: Path, tmp_path: Path) -> None:
    code, _, err = run("show", str(manifest))
    assert code == 1 and "Traceback" not in err
    damaged = tmp_path / "plan.json"
    damaged.write_text('{"kind": "smh-reconcile-plan", "format_version": 1, "changes": [')
    code, _, err = run("show", str(damaged))
    assert code == 1 and "not valid JSON" in err


def test_markdown_stays_under_the_comment_limit_and_says_what_it_cut() -> None:
    space = space_spec(purge=["**/*.bin"])
    paths = [f"very/long/directory/name/number/{i:06d}/file-{i:06d}.bin" for i in range(3000)]
    listing, _ = walk(space, paths)
    plan = make_plan(library_spec(space), library_listing(listing))
    text = render_markdown(plan)
    assert len(text) < LIMIT <= 65_536
    assert "of 3000 rows not shown (" in text
    assert text.index("**Plan: 3000 to delete") < text.index("<details>")


def test_show_rejects_a_plan_file_of_the_wrong_shape(tmp_path: Path) -> None:
    odd = tmp_path / "plan.json"
    odd.write_text('{"kind": "smh-reconcile-plan", "format_version": 1, "library": "x", '
                   '"changes": ["not-a-change"], "missing": []}')
    code, _, err = run("show", str(odd))
    assert code == 1 and "not a valid plan" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["validate", "plan", "show", "apply", "undo", "snapshot",
                                  "emulator", "demo", "init", "coverage", None])
def test_help_has_examples_and_exit_codes(name: str | None) -> None:
    result = CliRunner().invoke(main, [name, "--help"] if name else ["--help"])
    assert result.exit_code == 0
    assert "Examples:\n    smh-reconcile " in result.output
    assert "Exit codes:\n    0 " in result.output and "  1 " in result.output
    if name in ("plan", "apply", "undo", None):
        assert "Environment:" in result.output and "SMH_ENDPOINT" in result.output
        assert "NO_COLOR" in result.output


def test_no_color_turns_colour_off_on_a_terminal(endpoint: str, manifest: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.commands.color_wanted", lambda stream, env: True)
    env = {"SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": endpoint, "NO_COLOR": None}

    def out(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=env, color=True)
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "\x1b[" in out("plan", str(manifest))
    assert "\x1b[" not in out("plan", str(manifest), "--no-color")
    assert "\x1b[" not in out("--no-color", "plan", str(manifest))
