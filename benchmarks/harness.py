"""What every figure of the suite needs: seed files, the emulator in its own process, the real
CLI as a subprocess, and the machine the run is on.

The emulator is started as `smh-reconcile emulator --port 0 --seed FILE` (its first line on
stdout names its URL) and driven through its control endpoints: `POST /_emulator/faults` for
latency and rate limits, `GET /_emulator/stats` for request counts and the server time spent
answering them, `GET /_emulator/log` for what each request asked, `POST /_emulator/reset` to
restore the seed after an apply.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

LIBRARY = "smhbench"
TOKEN = "bench-admin-token"
ROOT = Path(__file__).resolve().parent.parent


def write_seed(path: Path, spaces: Mapping[str, Iterable[str]]) -> int:
    """A seed file holding `spaces` (space id -> paths); returns how many paths it holds."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(f"library: {LIBRARY}\nsecret: bench-secret\ntoken: {TOKEN}\n"
                  "recycle_bin: true\nspaces:\n")
        for space, paths in spaces.items():
            out.write(f'  "{space}":\n')
            for item in paths:
                out.write(f"    - {item}\n")
                count += 1
    return count


@dataclass
class Stats:
    """What the emulator answered between two snapshots of its stats document."""

    requests: dict[str, int]
    server_seconds: float
    windows: dict[str, tuple[float, float]]
    seconds: dict[str, float]  # server time per kind of request

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def count(self, *keys: str) -> int:
        return sum(self.requests.get(key, 0) for key in keys)

    def window(self, *keys: str) -> float:
        """Seconds from the first of these requests arriving to the last one answered."""
        spans = [self.windows[key] for key in keys if key in self.windows]
        if not spans:
            return 0.0
        return max(end for _, end in spans) - min(start for start, _ in spans)

    def after_last(self, first: str, then: str) -> float:
        """Seconds from the last `first` request answered to the last `then` answered (0 when
        either was not sent): what follows the one, such as a wave's task polls after its
        last batch."""
        if first not in self.windows or then not in self.windows:
            return 0.0
        return max(0.0, self.windows[then][1] - self.windows[first][1])

    def per_request_ms(self) -> float:
        return 1000 * self.server_seconds / self.total if self.total else 0.0


class EmulatorProcess:
    """`smh-reconcile emulator` serving a seed file from its own process."""

    def __init__(self, seed: Path) -> None:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--seed", str(seed)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.process.kill()
            _, err = self.process.communicate()
            raise RuntimeError(f"emulator did not start: {line!r} {err[-2000:]}")
        self.start_seconds = time.perf_counter() - started
        self.url = line.removeprefix("listening on ").strip()
        self.control = httpx.Client(base_url=self.url, timeout=600)

    def cpu_seconds(self) -> float:
        """The CPU time the emulator's process has used so far (user + system), from
        `/proc`; 0 where there is none."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def faults(self, **settings: Any) -> None:
        answer = self.control.post("/_emulator/faults", json=settings)
        answer.raise_for_status()

    def reset(self) -> None:
        self.control.post("/_emulator/reset").raise_for_status()

    def stats(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.control.get("/_emulator/stats").json()
        return doc

    def log(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control.get("/_emulator/log").json()
        return entries

    def since(self, before: Mapping[str, Any]) -> Stats:
        after = self.stats()
        requests = {key: after["requests"][key] - before["requests"].get(key, 0)
                    for key in after["requests"]}
        # Windows are not differences: reset the emulator before a run whose window matters.
        windows = {key: (span["first"], span["last"])
                   for key, span in after.get("server", {}).items() if requests.get(key)}
        earlier = before.get("server", {})
        seconds = {key: span["seconds"] - earlier.get(key, {}).get("seconds", 0.0)
                   for key, span in after.get("server", {}).items() if requests.get(key)}
        return Stats({k: v for k, v in requests.items() if v},
                     after["server_seconds"] - before.get("server_seconds", 0.0), windows,
                     seconds)

    def close(self) -> None:
        self.control.close()
        self.process.terminate()
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Run:
    """One CLI run: exit code, output, wall and CPU seconds, peak RSS in bytes."""

    returncode: int
    stdout: str
    stderr: str
    wall: float
    cpu: float
    max_rss: int


# A child's peak RSS as the kernel reports it includes the memory of the process it was
# forked from, so the CLI is started by a small process of its own, started before the suite
# builds any library: what it reports for a child is that child's own memory.
SPAWNER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["out"], "w") as out, open(job["err"], "w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(job["args"], env=job["env"], cwd=job["cwd"],
                                   stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    print(json.dumps({"returncode": os.waitstatus_to_exitcode(status), "wall": wall,
                      "cpu": usage.ru_utime + usage.ru_stime,
                      "max_rss": usage.ru_maxrss * 1024}), flush=True)
"""


class Spawner:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", SPAWNER], text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, args: list[str], env: dict[str, str]) -> Run:
        assert self.process.stdin is not None and self.process.stdout is not None
        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp) / "out", Path(tmp) / "err"
            job = {"args": args, "env": env, "cwd": str(ROOT), "out": str(out),
                   "err": str(err)}
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
            done = json.loads(self.process.stdout.readline())
            return Run(done["returncode"], out.read_text(), err.read_text(), done["wall"],
                       done["cpu"], done["max_rss"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


_spawner: Spawner | None = None


def start_spawner() -> Spawner:
    """Start the process that runs the CLI; call it before building any large library."""
    global _spawner
    if _spawner is None:
        _spawner = Spawner()
    return _spawner


def cli(*args: str, url: str | None = None) -> Run:
    """`python -m reconciler ARGS` as a fresh process, against `url` when given."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("SMH_LIBRARY_SECRET", None)
    if url is not None:
        env.update(SMH_ENDPOINT=url, SMH_ACCESS_TOKEN=TOKEN)
    return start_spawner().run([sys.executable, "-m", "reconciler", *args], env)


def compile_package() -> None:
    """Compile the package's bytecode, as installing it does: the CLI runs as fresh processes,
    and where PYTHONDONTWRITEBYTECODE is set (as on some CI machines) each would otherwise
    compile every module it imports, every time."""
    import compileall

    compileall.compile_dir(ROOT / "reconciler", quiet=1)


def machine() -> dict[str, Any]:
    """The machine this run is on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    import yaml
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "ram_gib": round(ram / 2**30, 1),
        "python": platform.python_version(),
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def self_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def dump(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
