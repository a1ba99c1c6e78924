"""Benchmark: `smh-reconcile validate` on a 10 MB manifest and on a billion-laughs file.

Generates both files in a temporary directory, then runs `python -m reconciler validate FILE`
as a fresh process several times (so interpreter start-up and imports are counted, as a user
would see them) and reports the best and median wall time of each. The budgets are 2 s for
the 10 MB manifest (it must be found valid) and 1 s for the billion-laughs file (it must be
refused with exit 1). Exits 1 when a budget or an expected outcome is missed.

The 10 MB manifest is shaped like a large real one: one multi-tenant library whose spaces
each list a few hundred `exist` paths, `protect` patterns, `purge` entries (strings and
`{pattern, mode}` mappings) and `prune` roots.

    python benchmarks/bench_validate.py [--size-mb 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAUGHS = 9  # nine levels of nine aliases each: 9**9 (387 million) strings if expanded


def big_manifest(target_bytes: int) -> str:
    lines = ["version: 1", "library: smhbench", "mode: recycle", "spaces:"]
    size = sum(len(line) + 1 for line in lines)
    space = 0
    while size < target_bytes:
        block = [f"  - id: tenant-{space:05d}", f"    user_id: bot-{space % 7}", "    exist:"]
        block += [f"      - photos/{2000 + j % 25}/album-{j:04d}/image-{j:06d}.jpg"
                  for j in range(150)]
        block += ["    protect:"]
        block += [f'      - "contracts/{j:03d}/**"' for j in range(20)]
        block += ["    purge:"]
        block += [f"      - tmp/session-{j:04d}/" for j in range(30)]
        block += [f'      - {{pattern: "**/*.part{j}", mode: permanent}}' for j in range(30)]
        block += ["    prune:", "      - exports/", "      - {root: imports/, mode: recycle}",
                  "    recycle_bin:", "      empty: true"]
        lines += block
        size += sum(len(line) + 1 for line in block)
        space += 1
    return "\n".join(lines) + "\n"


def billion_laughs() -> str:
    lines = ["version: 1", "library: smhbench",
             'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, LAUGHS):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    lines.append(f"spaces: [{{id: '-', exist: *l{LAUGHS - 1}}}]")
    return "\n".join(lines) + "\n"


def time_validate(path: Path, runs: int) -> tuple[list[float], int, str]:
    times: list[float] = []
    code, first_line = 0, ""
    for _ in range(runs):
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "reconciler", "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
        code = completed.returncode
        first_line = (completed.stdout or completed.stderr).splitlines()[0]
    return times, code, first_line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.yaml"
        big.write_text(big_manifest(int(args.size_mb * 1_000_000)), encoding="utf-8")
        bomb = Path(tmp) / "laughs.yaml"
        bomb.write_text(billion_laughs(), encoding="utf-8")

        cases = [
            (big, 2.0, 0, f"{big.stat().st_size / 1e6:.1f} MB manifest"),
            (bomb, 1.0, 1, f"billion laughs ({bomb.stat().st_size} bytes, 9^9 if expanded)"),
        ]
        print(f"{'case':<48} {'best':>7} {'median':>7} {'budget':>7}  exit  outcome")
        for path, budget, expected_code, label in cases:
            times, code, first_line = time_validate(path, args.runs)
            best, median = min(times), statistics.median(times)
            passed = median < budget and code == expected_code
            ok &= passed
            print(f"{label:<48} {best:>6.2f}s {median:>6.2f}s {budget:>6.1f}s  {code:>4}  "
                  f"{'ok' if passed else 'MISSED'}")
            print(f"    {first_line[:110]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
