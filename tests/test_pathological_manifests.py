"""Manifests built to make matching slow plan in seconds, over real loopback HTTP: six `**/a*`
segments against a directory chain 60 deep, and 10,000 purge entries. The plans are checked
against what the rules say, so the speed is not bought with a different answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from reconciler.emulator import Emulator
from tests.apply.scenarios import cli

pytestmark = pytest.mark.e2e

LIBRARY = "smhtest"
TOKEN = "pathological-token-51c0"
BUDGET = 10.0
"""Seconds a plan may take here: the cases took over 60 s before matching was linear."""


def plan(tmp_path: Path, paths: list[str], space: str) -> tuple[int, str, float]:
    emu = Emulator.from_seed({"library": LIBRARY, "secret": "s", "token": TOKEN,
                              "spaces": {"-": paths}})
    manifest = tmp_path / "library.yaml"
    manifest.write_text(f"version: 1\nlibrary: {LIBRARY}\n"
                        "safety: {max_delete_percent: 100}\nspaces:\n" + space)
    with emu.serve() as url:
        started = time.perf_counter()
        code, out, _ = cli("plan", manifest, "--format", "json", endpoint=url,
                           env={"SMH_ACCESS_TOKEN": TOKEN})
        return code, out, time.perf_counter() - started


def deleted(out: str) -> list[str]:
    return [change["path"] for change in json.loads(out)["changes"]]


def test_six_globstar_segments_against_a_chain_60_deep(tmp_path: Path) -> None:
    chain = "/".join(["a"] * 60)
    globs = "/".join(["**/a*"] * 6)
    code, out, took = plan(tmp_path, [f"{chain}/x.tmp", f"{chain}/b", "a/y.tmp", "a/a/b"], f"""\
  - id: "-"
    protect: ["{globs}/b"]
    purge: ["**/*.tmp", "{globs}/z/"]
""")
    assert code == 0, out
    assert deleted(out) == ["a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a"
                            "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/x.tmp",
                            "a/y.tmp"]
    assert took < BUDGET, f"planned in {took:.1f} s"


def test_ten_thousand_purge_entries(tmp_path: Path) -> None:
    paths = [f"d{i % 40}/s{i % 9}/f{i}.txt" for i in range(2_000)]
    entries = [f"d{i}/s{i % 9}/f{i}.txt" for i in range(2_500)]  # 2,500 literal files
    entries += [f"**/f{i}.txt" for i in range(0, 10_000, 4)]  # a suffix each
    entries += [f"*/s{i}/*.bak" for i in range(2_500)]  # a wildcard, then a literal
    entries += [f"d{i}/**/g{i}*" for i in range(2_500)]  # a literal, then globs
    code, out, took = plan(tmp_path, paths, '  - id: "-"\n    protect: ["d1/**"]\n'
                           "    purge:\n" + "".join(f'      - "{e}"\n' for e in entries))
    assert code == 0, out
    expected = {f"d{i % 40}/s{i % 9}/f{i}.txt" for i in range(2_000)
                if i % 40 != 1 and ((i % 40 == i) or i % 4 == 0)}
    assert set(deleted(out)) == expected
    assert took < BUDGET, f"planned in {took:.1f} s"
