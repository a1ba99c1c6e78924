"""The benchmark suite's quick mode: its request counts meet their bounds exactly.

Only the deterministic figures are asserted (how many requests plan and apply send); times
depend on the machine and are not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def test_quick_suite_request_counts_meet_their_bounds(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "B1,B2",
                          "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["machine"]["nproc"] >= 1 and figures["machine"]["python"]
    for key in ("B1a", "B1b", "B1c", "B2a", "B2b"):
        figure = figures[key]
        assert figure["requests"] > 0
        assert figure["requests"] == figure["bound_requests"], (key, figure)
        assert figure["value"] == figure["bound"] and figure["ratio"] == 1.0
    # Scattered files: two batch calls for 1,800 items; whole subtrees: one for 200 items.
    assert figures["B1a"]["requests"] == 2 and figures["B1a"]["items"] == 1800
    assert figures["B1b"]["requests"] == 1 and figures["B1b"]["files"] == 2000
    # The mix holds items nested in others: two waves, so three batch calls for 1,012 items.
    assert figures["B1c"]["requests"] == 3
    # At least 100x fewer requests than one DELETE per file, on whole subtrees.
    assert figures["N3"]["value"] >= 100
    assert {"value", "bound", "ratio"} <= set(figures["N1"])
    # Every figure is printed beside its bound, with the machine it ran on.
    assert "machine: nproc" in run.stdout and "B2b" in run.stdout
