"""`explain` against the emulator over loopback HTTP, and from a saved listing: each verdict,
the item a path goes with, and every matching entry with its line, in precedence order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Clock, Emulator
from tests.apply.scenarios import cli

pytestmark = pytest.mark.e2e

NOW = 1_800_000_000.0
DAY = 86400.0

MANIFEST = """\
version: 1
library: smhtest
spaces:
  - id: "-"
    exist:
      - docs/handbook.pdf
    protect:
      - "tmp/keep/**"
      - {pattern: "**", newer_than: 24h}
    purge:
      - tmp/
      - {pattern: "**/*.part", mode: permanent}
      - {pattern: "logs/*.log", older_than: 90d}
"""

SEED = [
    "tmp/keep/contract.pdf",
    "tmp/junk.bin",
    "tmp/deep/a.part",
    "tmp/deep/b.bin",
    "photos/a.jpg",
    {"path": "logs/old.log", "mtime": "2026-01-01T00:00:00Z"},
    {"path": "logs/new.log", "mtime": "2027-01-15T07:00:00Z"},
]


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[Path, str, Emulator]]:
    emu = Emulator.from_seed({"library": "smhtest", "secret": "s", "token": "apply-token-7c1d9e2f",
                              "spaces": {"-": SEED}}, clock=Clock(start=NOW))
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    with emu.serve() as url:
        yield manifest, url, emu


def explain_json(manifest: Path, url: str, *paths: str, extra: tuple[str, ...] = ()
                 ) -> dict[str, Any]:
    args = ["explain", str(manifest), "--format", "json", *extra]
    for path in paths:
        args += ["--path", path]
    code, out, err = cli(*args, endpoint=url)
    assert code == 0, out + err
    data: dict[str, Any] = json.loads(out)
    return {entry["path"]: entry for entry in data["paths"]}


def test_a_path_kept_inside_a_purged_directory_names_both_entries_with_their_lines(
    library: tuple[Path, str, Emulator]
) -> None:
    manifest, url, _ = library
    code, out, err = cli("explain", manifest, "--path", "tmp/keep/contract.pdf", endpoint=url)
    assert code == 0, err
    assert out.splitlines()[0] == "tmp/keep/contract.pdf: kept"
    assert "  1. protect tmp/keep/** (m.yaml:8) matches it" in out
    assert "purge tmp/ (m.yaml:11) matches tmp/" in out
    assert out.index("protect tmp/keep/**") < out.index("protect ** newer_than 24h") < (
        out.index("purge tmp/"))
    entry = explain_json(manifest, url, "tmp/keep/contract.pdf")["tmp/keep/contract.pdf"]
    assert entry["verdict"] == "kept"
    assert [(e["entry"], e["location"], e["matched"]) for e in entry["entries"]] == [
        ("protect tmp/keep/** (m.yaml:8)", "m.yaml:8", "tmp/keep/contract.pdf"),
        ("protect ** newer_than 24h (m.yaml:9)", "m.yaml:9", "tmp/keep/contract.pdf"),
        ("purge tmp/ (m.yaml:11)", "m.yaml:11", "tmp"),
    ]


def test_each_verdict(library: tuple[Path, str, Emulator]) -> None:
    manifest, url, _ = library
    got = explain_json(manifest, url, "tmp/junk.bin", "tmp/deep/a.part", "tmp/deep/b.bin",
                       "tmp", "photos/a.jpg", "docs/handbook.pdf", "nowhere/x.txt",
                       "logs/old.log", "logs/new.log")
    verdicts = {path: entry["verdict"] for path, entry in got.items()}
    assert verdicts == {
        "tmp/junk.bin": "delete", "tmp/deep/a.part": "delete", "tmp/deep/b.bin": "delete",
        "tmp": "kept", "photos/a.jpg": "untouched", "docs/handbook.pdf": "missing",
        "nowhere/x.txt": "absent", "logs/old.log": "delete", "logs/new.log": "kept",
    }
    # tmp/ holds a kept path, so its other children go one by one; tmp/deep goes whole.
    assert got["tmp/junk.bin"]["item"]["path"] == "tmp/junk.bin"
    assert got["tmp/deep/b.bin"]["item"] == {"path": "tmp/deep", "type": "dir",
                                            "mode": "recycle", "reason": "purge tmp/ (m.yaml:11)"}
    # A file of another mode inside a deleted directory is its own item, in its own mode.
    assert got["tmp/deep/a.part"]["mode"] == "permanent"
    assert got["tmp/deep/a.part"]["item"]["path"] == "tmp/deep/a.part"
    assert got["logs/old.log"]["item"]["reason"] == "purge logs/*.log older_than 90d (m.yaml:13)"
    notes = {e["entry"]: e.get("note") for e in got["logs/new.log"]["entries"]}
    assert notes["purge logs/*.log older_than 90d (m.yaml:13)"] == "its predicates do not hold " \
        "(or an attribute is unknown)"
    assert got["photos/a.jpg"]["entries"] == [
        {"kind": "protect", "entry": "protect ** newer_than 24h (m.yaml:9)",
         "location": "m.yaml:9", "matched": "photos/a.jpg", "note": "its predicates do not hold"}]


def test_explain_from_a_listing_gives_the_same_answer(
    library: tuple[Path, str, Emulator], tmp_path: Path
) -> None:
    manifest, url, emu = library
    listing = tmp_path / "listing.json"
    assert cli("snapshot", manifest, "--out", listing, endpoint=url)[0] == 0
    paths = ("tmp/keep/contract.pdf", "tmp/deep/b.bin", "logs/old.log", "logs/new.log")
    live = explain_json(manifest, url, *paths)
    before = len(emu.request_log())
    offline = explain_json(manifest, "http://127.0.0.1:9", *paths,
                           extra=("--from-listing", str(listing)))
    assert offline == live
    assert len(emu.request_log()) == before


def test_a_space_that_could_not_be_listed_is_said_so(
    library: tuple[Path, str, Emulator], tmp_path: Path
) -> None:
    manifest, url, _ = library
    listing = tmp_path / "listing.json"
    assert cli("snapshot", manifest, "--out", listing, endpoint=url)[0] == 0
    saved = json.loads(listing.read_text())
    saved["spaces"]["-"]["errors"] = ["listing tmp/: 500 InternalError"]
    listing.write_text(json.dumps(saved))
    got = explain_json(manifest, url, "tmp/junk.bin", extra=("--from-listing", str(listing)))
    assert got["tmp/junk.bin"]["verdict"] == "untouched"
    assert got["tmp/junk.bin"]["note"] == ("the space's listing had errors, so the plan deletes "
                                           "nothing in it: listing tmp/: 500 InternalError")
