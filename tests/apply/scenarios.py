"""Apply scenarios shared by the end-to-end tests: a seed, a manifest, the library the apply
must leave, and one delete item to make fail when faults are on; the CLI run against them, and a
library served on loopback for a test to apply to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator import Clock, Emulator
from tests.apply.support import LIBRARY, SECRET, TOKEN

HEAD = f"""\
version: 1
library: {LIBRARY}
safety: {{max_delete_percent: 100}}
spaces:
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    spaces: dict[str, list[str]]
    manifest: str
    expected: dict[str, list[str]]
    """The paths each space must end with (directories end in `/`)."""
    recycled: dict[str, list[str]]
    """The original paths each space's recycle bin must end with."""
    fail: tuple[str, str]
    """(space, path) of a top-level delete item the faulted run makes fail."""
    extra_seed: dict[str, Any] = field(default_factory=dict)

    def seed(self) -> dict[str, Any]:
        return {"library": LIBRARY, "secret": SECRET, "token": TOKEN, "spaces": self.spaces,
                **self.extra_seed}


def with_ancestors(paths: list[str]) -> list[str]:
    """Seed paths as the emulator's state lists them: every directory, ending in `/`."""
    found: set[str] = set()
    for path in paths:
        segments = path.rstrip("/").split("/")
        for depth in range(1, len(segments)):
            found.add("/".join(segments[:depth]) + "/")
        found.add(path)
    return sorted(found)


def subtree(paths: list[str], root: str) -> list[str]:
    """The seed's paths at and under `root` (state spelling)."""
    return [p for p in with_ancestors(paths) if p.rstrip("/") == root
            or p.startswith(root + "/")]


SCENARIOS = [
    Scenario(
        name="purge-dirs",
        spaces={"-": ["tmp/a.bin", "tmp/sub/b.bin", "cache/c/", "docs/readme.md",
                      "build/out.o"]},
        manifest=HEAD + """\
  - id: "-"
    purge: [tmp/, cache/, build/]
""",
        expected={"-": ["docs/", "docs/readme.md"]},
        recycled={"-": ["build", "cache", "tmp"]},
        fail=("-", "build"),
    ),
    Scenario(
        name="globs-mixed-modes",
        spaces={"-": ["a/x.part", "a/b/y.part", "a/b/keep.txt", "tmp/z.part", "tmp/t.tmp",
                      "tmp/ok.txt", "c.tmp", "root.txt"]},
        manifest=HEAD + """\
  - id: "-"
    purge:
      - {pattern: "**/*.part", mode: permanent}
      - "**/*.tmp"
      - tmp/
""",
        expected={"-": ["a/", "a/b/", "a/b/keep.txt", "root.txt"]},
        recycled={"-": ["c.tmp", "tmp"]},
        fail=("-", "a/x.part"),
    ),
    Scenario(
        name="prune",
        spaces={"-": ["photos/2024/a.jpg", "photos/2023/b.jpg", "photos/c.jpg",
                      "photos/raw/d.raw", "other/e.txt"]},
        manifest=HEAD + """\
  - id: "-"
    exist: [photos/2024/]
    prune: [photos/]
""",
        expected={"-": ["other/", "other/e.txt", "photos/", "photos/2024/",
                        "photos/2024/a.jpg"]},
        recycled={"-": ["photos/2023", "photos/c.jpg", "photos/raw"]},
        fail=("-", "photos/c.jpg"),
    ),
    Scenario(
        name="protect-inside-purge",
        spaces={"-": ["archive/2020/a.pdf", "archive/keep/b.pdf", "archive/keep/sub/c.pdf",
                      "archive/d.pdf", "x.txt"]},
        manifest=HEAD + """\
  - id: "-"
    protect: ["archive/keep/**"]
    purge: [archive/]
""",
        expected={"-": ["archive/", "archive/keep/", "archive/keep/b.pdf", "archive/keep/sub/",
                        "archive/keep/sub/c.pdf", "x.txt"]},
        recycled={"-": ["archive/2020", "archive/d.pdf"]},
        fail=("-", "archive/d.pdf"),
    ),
    Scenario(
        name="bin-empty-and-history-clear",
        spaces={"-": ["tmp/a", "tmp/b", "old.log", "keep.txt"]},
        manifest=HEAD + """\
  - id: "-"
    purge: [tmp/, "*.log"]
    recycle_bin: {empty: true}
history: {clear: true}
""",
        expected={"-": ["keep.txt"]},
        recycled={"-": []},
        fail=("-", "old.log"),
        extra_seed={"history": {"enabled": False, "earlier_versions": 5}},
    ),
    Scenario(
        name="multi-space",
        spaces={"s1": ["tmp/a.part", "tmp/b.txt", "docs/x.md"],
                "s2": ["media/2020/a.mp4", "media/2024/b.mp4", "keep.txt"]},
        manifest=HEAD + """\
  - id: s1
    user_id: ops-bot
    purge: [tmp/]
  - id: s2
    mode: permanent
    exist: [media/2024/]
    prune: [media/]
""",
        expected={"s1": ["docs/", "docs/x.md"],
                  "s2": ["keep.txt", "media/", "media/2024/", "media/2024/b.mp4"]},
        recycled={"s1": ["tmp"], "s2": []},
        fail=("s2", "media/2020"),
    ),
]


def cli(*args: str | Path, endpoint: str, env: Mapping[str, str | None] | None = None,
        stdin: str | None = None) -> tuple[int, str, str]:
    environment: dict[str, str | None] = {
        "SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": endpoint, "SMH_LIBRARY_SECRET": None,
        "NO_COLOR": None, **(env or {})}
    result = CliRunner().invoke(main, [str(a) for a in args], env=environment, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


class Library:
    """A scenario's emulator served on loopback, with the files an apply uses."""

    def __init__(self, scenario: Scenario, tmp_path: Path, url: str, emu: Emulator,
                 clock: Clock) -> None:
        self.scenario = scenario
        self.url = url
        self.emu = emu
        self.clock = clock
        self.manifest = tmp_path / "library.yaml"
        self.manifest.write_text(scenario.manifest)
        self.state_dir = tmp_path / "state"
        self.tmp_path = tmp_path
        self.runs = 0
        self.report = tmp_path / "report.json"

    def run(self, *args: str | Path, **kwargs: Any) -> tuple[int, str, str]:
        return cli(*args, endpoint=self.url, **kwargs)

    def apply(self, *extra: str | Path, **kwargs: Any) -> tuple[int, str, str]:
        """Apply with --auto-approve; each run writes a report of its own (`self.report`)."""
        self.runs += 1
        self.report = self.tmp_path / f"report-{self.runs}.json"
        return self.run("apply", self.manifest, "--auto-approve", "--report", self.report,
                        "--state-dir", self.state_dir, *extra, **kwargs)

    def converged(self) -> bool:
        return self.run("plan", self.manifest, "--detailed-exitcode")[0] == 0

    def state(self) -> dict[str, Any]:
        spaces = self.emu.state()["spaces"]
        return {space: {"paths": data["paths"],
                        "recycled": sorted(item["originalPath"] for item in data["recycled"])}
                for space, data in spaces.items()}

    def load_report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.report.read_text())
        return data


SEED_PATHS = ["tmp/a.bin", "tmp/b.part", "old.log", "keep/k.txt", "x.part"]
MANIFEST = HEAD + """\
  - id: "-"
    exist: [keep/]
    purge: [tmp/, "*.log", {pattern: "**/*.part", mode: permanent}]
"""
