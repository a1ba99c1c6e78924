"""`init` and `coverage` end to end over loopback HTTP: a 300-space library adopted in one
command plans to no changes; coverage finds what no manifest governs, a space added later
included."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from reconciler.adoption import exist_entry, starter_manifest
from reconciler.auth import Credentials, Secret
from reconciler.cli import main
from reconciler.client import SmhReadClient
from reconciler.commands.init import library_spaces, list_top_levels
from reconciler.emulator import Clock, Emulator
from reconciler.listing import EntryType, RemoteEntry
from reconciler.matching import Pattern

pytestmark = pytest.mark.e2e

LIBRARY = "smhbig"
TOKEN = "adoption-token-3f9a"


def cli(*args: str | Path, endpoint: str) -> tuple[int, str, str]:
    env: dict[str, str | None] = {"SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": endpoint,
                                  "SMH_LIBRARY_SECRET": None, "NO_COLOR": None}
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def big_seed(spaces: int = 300) -> dict[str, object]:
    return {"library": LIBRARY, "secret": "s", "token": TOKEN, "spaces": {
        f"team-{n:03d}": [f"photos/{n}/a.jpg", "docs/readme.txt", f"notes-{n}.txt", "empty/"]
        for n in range(spaces)}}


@pytest.fixture(scope="module")
def library() -> Iterator[tuple[Emulator, str]]:
    emu = Emulator.from_seed(big_seed(), clock=Clock(start=1_800_000_000.0))
    with emu.serve() as url:
        yield emu, url


def test_init_adopts_a_300_space_library_with_a_manifest_that_plans_to_no_changes(
        library: tuple[Emulator, str], tmp_path: Path) -> None:
    emu, url = library
    out = tmp_path / "adopted.yaml"
    code, stdout, stderr = cli("init", "--library", LIBRARY, "--out", out, endpoint=url)
    assert code == 0, stderr
    assert "its plan has no changes" in stderr
    document = yaml.safe_load(out.read_text())
    assert len(document["spaces"]) == 300
    first = document["spaces"][0]
    assert first == {"id": "team-000",
                     "exist": ["docs/", "empty/", "notes-0.txt", "photos/"]}
    text = out.read_text()
    assert "# purge:" in text and "# prune:" in text
    assert "purge:" not in text.replace("# purge:", "")
    assert "permanent" not in text
    code, stdout, _ = cli("plan", out, "--detailed-exitcode", endpoint=url)
    assert code == 0 and "No changes" in stdout
    # Never over a file that is there.
    code, _, stderr = cli("init", "--library", LIBRARY, "--out", out, endpoint=url)
    assert code != 0 and "never overwrites" in stderr
    # Only GET requests reached the server.
    assert all(key.startswith("GET ") for key in emu.stats()["requests"])


def test_coverage_finds_a_space_added_afterwards_and_an_entry_no_rule_touches(
        tmp_path: Path) -> None:
    emu = Emulator.from_seed(big_seed(3), clock=Clock(start=1_800_000_000.0))
    with emu.serve() as url:
        out = tmp_path / "adopted.yaml"
        assert cli("init", "--library", LIBRARY, "--out", out, endpoint=url)[0] == 0
        code, stdout, _ = cli("coverage", out, "--detailed-exitcode", endpoint=url)
        assert code == 0, stdout
        assert "Everything is covered" in stdout
        # A new space and a new folder appear.
        emu_seed = big_seed(4)
        spaces = dict(emu_seed["spaces"])  # type: ignore[call-overload]
        spaces["team-001"] = [*spaces["team-001"], "incoming/big.bin"]
        emu2 = Emulator.from_seed({**emu_seed, "spaces": spaces},
                                  clock=Clock(start=1_800_000_000.0))
    with emu2.serve() as url2:
        code, stdout, _ = cli("coverage", out, "--detailed-exitcode", "--format", "json",
                              endpoint=url2)
        assert code == 2
        report = json.loads(stdout)
        assert report["unnamed_spaces"] == ["team-003"]
        assert [(e["space"], e["path"], e["type"], e["files"]) for e in report["uncovered"]] == [
            ("team-001", "incoming", "dir", 1)]
        code, text, _ = cli("coverage", out, endpoint=url2)
        assert code == 0
        assert "team-003" in text and "team-001:incoming/  (1 file," in text
        code, markdown, _ = cli("coverage", out, "--format", "markdown", endpoint=url2)
        assert "| `team-001` | `incoming/` | 1 |" in markdown


def test_a_name_with_a_bracket_is_declared_literally() -> None:
    entry = RemoteEntry("raw[1]", EntryType.DIR)
    pattern = Pattern(exist_entry(entry))
    assert pattern.matches("raw[1]", is_dir=True)
    assert not pattern.matches("raw1", is_dir=True)
    text = starter_manifest("lib", {"-": [entry, RemoteEntry('say "hi".txt', EntryType.FILE)]})
    assert yaml.safe_load(text)["spaces"][0]["exist"] == ["raw[[]1]/", 'say "hi".txt']


def test_init_in_a_single_tenant_library_declares_space_dash(tmp_path: Path) -> None:
    emu = Emulator.from_seed({"library": LIBRARY, "secret": "s", "token": TOKEN,
                              "spaces": {"-": ["a/b.txt", "c.txt"]}})
    with emu.serve() as url:
        code, stdout, stderr = cli("init", "--library", LIBRARY, endpoint=url)
        assert code == 0, stderr
        assert yaml.safe_load(stdout)["spaces"] == [{"id": "-", "exist": ["a/", "c.txt"]}]
        assert httpx.get(f"{url}/_emulator/stats").json()["total"] > 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_init_shows_its_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    emu = Emulator.from_seed(big_seed(12))
    reader = SmhReadClient(endpoint="https://smhbig.api.tencentsmh.cn", library=LIBRARY,
                           credentials=Credentials(access_token=Secret(TOKEN)),
                           transport=emu.transport())
    terminal = _Terminal()
    with reader:
        listed = list_top_levels(reader, library_spaces(reader, ()), concurrency=4,
                                 stream=terminal, env=os.environ)
    assert len(listed) == 12
    assert terminal.getvalue().endswith("listing the top level of each space: 12/12\n")
    piped = io.StringIO()
    with SmhReadClient(endpoint="https://smhbig.api.tencentsmh.cn", library=LIBRARY,
                       credentials=Credentials(access_token=Secret(TOKEN)),
                       transport=emu.transport()) as reader:
        list_top_levels(reader, ["team-001"], concurrency=1, stream=piped, env=os.environ)
    assert piped.getvalue() == ""
