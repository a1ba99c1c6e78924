"""Benchmark: apply 10,000 delete items over real loopback HTTP, from a saved plan.

Seeds an emulator with 10,000 files in 100 directories (plus one kept file in each, so every
file is its own delete item), saves a plan with `plan --out`, then times
`python -m reconciler apply PLANFILE --auto-approve` as a fresh process (start-up, the
fingerprint re-check, the batches, the journal's fsyncs and the report included), with
synchronous batches and with every batch answered as a task. It prints what reached the
server: the re-check must cost one listing per parent directory (100), not one request per
item, and the deletes ten batch calls of 1,000. Budget: under 10 s for the synchronous run.

    python benchmarks/bench_apply.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from reconciler.emulator import Emulator

LIBRARY = "smhbench"
TOKEN = "bench-token-0001"
DIRECTORIES = 100
FILES = 100
BUDGET_S = 10.0
MANIFEST = f"""\
version: 1
library: {LIBRARY}
safety: {{max_delete_percent: 100}}
spaces:
  - id: "-"
    exist: ["**/keep.txt"]
    purge: ["**/*.bin"]
"""


def seed() -> dict[str, object]:
    paths = [f"d{i:03d}/f{j:03d}.bin" for i in range(DIRECTORIES) for j in range(FILES)]
    paths += [f"d{i:03d}/keep.txt" for i in range(DIRECTORIES)]
    return {"library": LIBRARY, "secret": "s", "token": TOKEN, "spaces": {"-": paths}}


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMH_ENDPOINT": url, "SMH_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1"}
    env.pop("SMH_LIBRARY_SECRET", None)
    return subprocess.run([sys.executable, "-m", "reconciler", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def case(name: str, faults: dict[str, object], work: Path) -> float:
    emu = Emulator.from_seed(seed())
    manifest = work / "bench.yaml"
    manifest.write_text(MANIFEST)
    planfile = work / f"{name}.plan.json"
    with emu.serve() as url:
        made = run("plan", str(manifest), "--out", str(planfile), url=url)
        assert made.returncode == 0, made.stderr
        emu.set_faults(faults)
        before = len(emu.request_log())
        started = time.perf_counter()
        applied = run("apply", str(planfile), "--auto-approve", "--state-dir",
                      str(work / name), "--report", str(work / f"{name}.report.json"), url=url)
        elapsed = time.perf_counter() - started
    assert applied.returncode == 0, applied.stdout + applied.stderr
    requests = Counter(f"{e['method']} {e['route']}" for e in emu.request_log()[before:])
    left = [p for p in emu.state()["spaces"]["-"]["paths"] if p.endswith(".bin")]
    assert not left, f"{len(left)} files left"
    print(f"{name:<28} {elapsed:6.2f} s  requests: {dict(sorted(requests.items()))}")
    return elapsed


def main() -> None:
    print(f"apply {DIRECTORIES * FILES:,} delete items from a plan file, over loopback")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        synchronous = case("sync batches", {"async_threshold": 10_000}, work)
        case("every batch a task", {"async_threshold": 1}, work)
    verdict = "within" if synchronous < BUDGET_S else "OVER"
    print(f"synchronous run: {synchronous:.2f} s, {verdict} the {BUDGET_S:.0f} s budget")
    if synchronous >= BUDGET_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
