"""The suite's figures: B1-B6 and the naive baseline, each against its bound.

Every figure runs the real CLI (`python -m reconciler plan/apply ...`) as a fresh process
against the emulator in its own process, except B6 (the pure core, in this process, from a
listing in memory) and the naive baseline (plain HTTP DELETEs, one per file).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.options import MAX_BATCH_SIZE

from . import libraries as lib
from .harness import (
    LIBRARY,
    ROOT,
    TOKEN,
    EmulatorProcess,
    Run,
    Stats,
    cli,
    start_spawner,
    write_seed,
)

BATCH = "POST /api/v1/batch"
TASK = "GET /api/v1/task"


@dataclass
class Figure:
    key: str
    title: str
    value: float
    bound: float | None
    unit: str
    better: str = "lower"  # or "higher" (a throughput): which way the figure improves
    server_ms: float | None = None  # the emulator's own time per request during the figure
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """value / bound: at most 1 meets a bound on a cost (requests, time, memory); for a
        throughput (`better == "higher"`) at least 1 reaches it."""
        if self.bound is None or self.bound == 0:
            return None
        return self.value / self.bound

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "value": self.value, "bound": self.bound,
                "ratio": self.ratio, "unit": self.unit, "better": self.better,
                "server_ms_per_request": self.server_ms,
                "note": self.note, **self.extra}


@dataclass(frozen=True)
class Sizes:
    """How big each figure's library is: `--quick`, the default, `--full`."""

    scattered: tuple[int, int]  # directories, deleted files in each
    subtrees: tuple[int, int]  # deleted directories, files in each
    plan_files: int
    plan_latencies: tuple[int, ...]
    plan_concurrency: tuple[int, ...]
    apply_items: tuple[int, int]  # directories, files in each (every file its own item)
    apply_spaces: int  # the spaces B5d spreads the same items over
    apply_latency: int
    apply_rate: float
    naive_files: tuple[int, int]  # files deleted one by one: sequentially, with 8 threads
    naive_latency: int
    core_paths: int
    startup_runs: int


QUICK = Sizes(scattered=(6, 300), subtrees=(200, 10), plan_files=5_000,
              plan_latencies=(10,), plan_concurrency=(8,),
              apply_items=(4, 500), apply_spaces=16, apply_latency=10, apply_rate=20.0,
              naive_files=(10, 40), naive_latency=10, core_paths=20_000, startup_runs=5)
DEFAULT = Sizes(scattered=(40, 250), subtrees=(2_000, 10), plan_files=100_000,
                plan_latencies=(10, 50), plan_concurrency=(8, 32),
                apply_items=(20, 5_000), apply_spaces=16, apply_latency=50, apply_rate=20.0,
                naive_files=(100, 400), naive_latency=50, core_paths=200_000,
                startup_runs=15)
LARGE_PLAN = 1_000_000  # the `--full` plan (group L): B2c, B3 at 50 ms, B4


def median_of(repeat: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    values = [measure() for _ in range(repeat)]
    return statistics.median(values), values


@contextmanager
def emulator(work: Path, name: str, spaces: dict[str, list[str]]) -> Iterator[EmulatorProcess]:
    seed = work / f"{name}.seed.yaml"
    write_seed(seed, spaces)
    with EmulatorProcess(seed) as emu:
        yield emu


def _empty_plan_rss(work: Path, manifest: Path, spaces: dict[str, list[str]]) -> int:
    """Peak RSS of the same plan of the same spaces, empty: start-up, imports and what a plan
    holds whatever the library, all that B4 leaves out."""
    with emulator(work, "empty", {space: [] for space in spaces}) as emu:
        run = checked(cli("plan", str(manifest), "--format", "json", url=emu.url),
                      "plan of the empty library", ok=(0, 2))
    return run.max_rss


def checked(run: Run, what: str, ok: Sequence[int] = (0,)) -> Run:
    if run.returncode not in ok:
        raise RuntimeError(f"{what} exited {run.returncode}:\n{run.stdout[-3000:]}\n"
                           f"{run.stderr[-3000:]}")
    return run


# -- B1 and the naive baseline: requests per 1,000 deleted items ---------------------------------

B1_RULES = {
    "scattered": "exist: ['**/keep-*.jpg']\npurge: ['**/*.tmp']",
    "subtrees": "exist: ['builds/current/**']\nprune: [builds/]",
    "mix": ("exist: ['**/keep-*.jpg', 'builds/current/**']\n"
            "purge: ['**/*.tmp', {pattern: '**/*.part', mode: permanent}]\nprune: [builds/]"),
}


def b1_spaces(sizes: Sizes) -> dict[str, list[str]]:
    dirs, per_dir = sizes.scattered
    scattered = [f"albums/a{d:03d}/IMG_{f:04d}.{'tmp' if f % 3 else 'jpg'}"
                 for d in range(dirs) for f in range(per_dir * 3 // 2)]
    scattered += [f"albums/a{d:03d}/keep-{d}.jpg" for d in range(dirs)]
    count, files = sizes.subtrees
    subtrees = [f"builds/b{d:05d}/out/f{f:02d}.o" for d in range(count) for f in range(files)]
    subtrees += ["builds/current/app.bin"]
    # The mix: scattered files, whole subtrees, and a permanent `.part` inside each of a few
    # recycled subtrees (its own item, deleted in the wave before the subtree holding it).
    mix = scattered[: len(scattered) // 2] + subtrees[: len(subtrees) // 2]
    mix += [f"builds/b{d:05d}/out/upload.part" for d in range(0, count // 2, 10)]
    mix += ["builds/current/app.bin"]
    return {"scattered": scattered, "subtrees": subtrees, "mix": mix}


def _apply_counts(emu: EmulatorProcess, work: Path, name: str, planfile: Path, space: str,
                  faults: dict[str, Any], *, concurrency: int = 4) -> Stats:
    """Restore the seed, then apply the plan file's items in `space` with `faults`."""
    emu.reset()
    emu.faults(**faults)
    before = emu.stats()
    checked(cli("apply", str(planfile), "--space", space, "--auto-approve",
                "--concurrency", str(concurrency), "--state-dir", str(work / f"{name}.state"),
                "--report", str(work / f"{name}.report.json"), url=emu.url), f"apply of {name}")
    stats = emu.since(before)
    emu.faults()
    return stats


def b1(sizes: Sizes, work: Path) -> list[Figure]:
    spaces = b1_spaces(sizes)
    (work / "b1.yaml").write_text(
        lib.manifest([], "")
        + "".join(f'  - id: "{space}"\n' + "".join(f"    {line}\n"
                                                  for line in B1_RULES[space].splitlines())
                  for space in spaces))
    figures: list[Figure] = []
    with emulator(work, "b1", spaces) as emu:
        planfile = work / "b1.plan.json"
        checked(cli("plan", str(work / "b1.yaml"), "--out", str(planfile), url=emu.url),
                "plan of B1")
        changes = json.loads(planfile.read_text())["changes"]
        cases = [("B1a", "scattered files", "scattered", {}),
                 ("B1b", "whole subtrees", "subtrees", {}),
                 ("B1c", "a mix, nested items of two modes", "mix", {}),
                 ("B1d", "the mix, every batch answered as a task", "mix",
                  {"async_threshold": 1, "task_polls": 1})]
        for key, title, space, faults in cases:
            settings = {"async_threshold": 1001, **faults}  # synchronous unless told
            stats = _apply_counts(emu, work, key, planfile, space, settings)
            deletes = [c for c in changes if c["action"] == "delete" and c["space"] == space]
            items = len(deletes)
            calls, waves = lib.waves_bound({space: [d["path"] for d in deletes]})
            polls = (settings.get("task_polls", 1) + 1) * waves \
                if settings["async_threshold"] <= 1000 else 0
            sent = stats.count(BATCH, TASK)
            per = 1000 / items
            files = sum(d["files"] for d in deletes)
            figures.append(Figure(
                key, f"apply requests per 1,000 deleted items: {title}", sent * per,
                (calls + polls) * per, "requests", server_ms=stats.per_request_ms(),
                note=f"{items:,} items ({files:,} files), {waves} wave(s): "
                     f"{stats.count(BATCH)} batch calls, {stats.count(TASK)} task queries",
                extra={"requests": sent, "bound_requests": calls + polls, "items": items,
                       "files": files}))
        figures.extend(naive(sizes, emu, figures[1]))
    return figures


def naive(sizes: Sizes, emu: EmulatorProcess, subtrees: Figure) -> list[Figure]:
    """One DELETE per file, sequentially and with 8 threads, on the subtrees' files."""
    emu.reset()
    files = [p for p in b1_spaces(sizes)["subtrees"] if not p.startswith("builds/current/")]
    figures: list[Figure] = []
    latency = sizes.naive_latency
    emu.faults(latency_ms=latency)
    start = 0
    for key, threads, count in (("N1", 1, sizes.naive_files[0]), ("N2", 8, sizes.naive_files[1])):
        chosen = files[start : start + count]
        start += count
        before = emu.stats()
        with httpx.Client(base_url=emu.url, params={"access_token": TOKEN}, timeout=60,
                          limits=httpx.Limits(max_connections=threads)) as client:
            def delete(path: str, client: httpx.Client = client) -> int:
                return client.delete(f"/api/v1/file/{LIBRARY}/subtrees/{quote(path)}").status_code

            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                statuses = list(pool.map(delete, chosen))
            elapsed = time.perf_counter() - started
        assert all(status == 200 for status in statuses), Counter(statuses)
        stats = emu.since(before)
        server = stats.server_seconds / max(stats.total, 1)
        figures.append(Figure(
            key, f"naive: one DELETE per file, {threads} thread(s), {latency} ms",
            len(chosen) / elapsed, threads / (latency / 1000 + server), "files/s",
            better="higher", server_ms=1000 * server,
            note=f"{len(chosen)} files; {stats.count('DELETE /api/v1/file')} requests"))
    emu.faults()
    naive_requests = subtrees.extra["files"]
    figures.append(Figure(
        "N3", "naive requests / apply requests, whole subtrees",
        naive_requests / subtrees.extra["requests"], 100, "x", better="higher",
        note=f"{naive_requests:,} DELETEs (one per file) against "
             f"{subtrees.extra['requests']} batch call(s)"))
    return figures


# -- B2, B3, B4: plan requests, wall time and memory -----------------------------------------------

def _listed(log: list[dict[str, Any]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    listed: dict[str, set[str]] = {}
    counted: dict[str, set[str]] = {}
    for entry in log:
        if entry["route"] != "directory" or entry["method"] != "GET":
            continue
        into = counted if "stats" in entry["query"] else listed
        into.setdefault(entry["space"], set()).add(entry["path"] or "")
    return listed, counted


def plan_figures(sizes: Sizes, work: Path, repeat: int, *, timed: bool = True,
                 large: bool = False) -> list[Figure]:
    """B2 (and B4) from one plan of each library; with `timed`, B3 at each latency and
    concurrency. `large`: the 1,000,000-file library alone (B3 at 50 ms, B4)."""
    figures: list[Figure] = []
    layouts = [("one space", 1, sizes.plan_files, sizes.plan_latencies, sizes.plan_concurrency),
               ("16 spaces", 16, sizes.plan_files, sizes.plan_latencies,
                sizes.plan_concurrency)]
    if large:
        layouts = [("one space", 1, LARGE_PLAN, (50,), (8, 32))]
    b3 = iter("ij" if large else "abcdefgh")
    for name, count, files, latencies, concurrencies in layouts:
        spaces = lib.archive_spaces(files, count)
        manifest = work / f"plan-{count}-{files}.yaml"
        manifest.write_text(lib.manifest(spaces, lib.ARCHIVE_RULES))
        with emulator(work, f"plan-{count}-{files}", spaces) as emu:
            label = f"{files:,} files, {name}"
            figures.append(Figure(
                f"S{count}-{files}", f"emulator start-up, seed of {label}",
                emu.start_seconds, None, "s", note="seed read, checked and built"))
            # B2: the requests of one plan, against their bound.
            before = emu.stats()
            first = checked(cli("plan", str(manifest), "--format", "json", url=emu.url),
                            f"plan of {label}", ok=(0, 2))
            stats = emu.since(before)
            log = emu.log()[-stats.total:]
            plan = json.loads(first.stdout)
            listed, counted = _listed(log)
            trees = {space: lib.children(paths) for space, paths in spaces.items()}
            lists = sum(lib.list_bound(trees[s][0], listed.get(s, ())) for s in spaces)
            deleted_dirs = sum(1 for c in plan["changes"]
                               if c["action"] == "delete" and c["type"] == "dir")
            bound = lists + deleted_dirs + 2 * len(spaces)
            forest = lib.joined([lib.request_forest(*trees[s], listed.get(s, set()),
                                                    counted.get(s, set()), separate=2)
                                 for s in spaces])
            chain = lib.longest_chain(forest)
            listed_entries = sum(s["listed"] for s in plan["spaces"])
            figures.append(Figure(
                "B2c" if large else "B2a" if count == 1 else "B2b",
                f"plan requests, {label}", stats.total, bound, "requests",
                server_ms=stats.per_request_ms(),
                note=f"list {lists} + stats {deleted_dirs} + file count and bin read "
                     f"{2 * len(spaces)}; {chain} requests in the longest chain",
                extra={"requests": stats.total, "bound_requests": bound}))
            if count == 1:
                start_up = _empty_plan_rss(work, manifest, spaces)
                per_path = (first.max_rss - start_up) / max(listed_entries, 1)
                figures.append(Figure(
                    f"B4-{files}", f"plan peak memory per listed path, {label}", per_path,
                    300, "bytes", note=f"peak RSS {first.max_rss / 2**20:.0f} MiB, "
                    f"{start_up / 2**20:.0f} MiB of it start-up (a plan of the same "
                    f"spaces, empty); {listed_entries:,} entries listed"))
            # B3: wall time at each latency and concurrency.
            for latency in latencies if timed else ():
                emu.faults(latency_ms=latency)
                for concurrency in concurrencies:
                    runs: list[Run] = []
                    server: list[float] = []
                    emulator_cpu: list[float] = []
                    for _ in range(repeat):
                        before, cpu_before = emu.stats(), emu.cpu_seconds()
                        runs.append(checked(cli("plan", str(manifest), "--format", "json",
                                                "--concurrency", str(concurrency),
                                                url=emu.url), f"plan of {label}", ok=(0, 2)))
                        emulator_cpu.append(emu.cpu_seconds() - cpu_before)
                        server.append(emu.since(before).per_request_ms())
                    walls = [run.wall for run in runs]
                    wall = statistics.median(walls)
                    limit = max(stats.total * latency / 1000 / concurrency,
                                chain * latency / 1000)
                    rounds = lib.fewest_rounds(forest, concurrency)
                    floor = rounds * latency / 1000
                    cpu = statistics.median(r.cpu for r in runs)
                    served = statistics.median(emulator_cpu)
                    figures.append(Figure(
                        f"B3{next(b3)}", f"plan wall time, {label}, {latency} ms, "
                        f"concurrency {concurrency}", wall, limit, "s",
                        server_ms=statistics.median(server),
                        note=f"schedule floor {floor:.2f} s ({rounds} rounds, {wall / floor:.2f} "
                             f"x); CPU {cpu:.2f} s, the emulator's {served:.2f} s; runs "
                             + ", ".join(f"{w:.2f}" for w in walls),
                        extra={"cpu": cpu, "emulator_cpu": served, "runs": walls,
                               "floor": floor, "floor_rounds": rounds}))
            emu.faults()
    return figures


# -- B5: apply throughput --------------------------------------------------------------------------

def b5(sizes: Sizes, work: Path, repeat: int, concurrency: int = 8) -> list[Figure]:
    dirs, per_dir = sizes.apply_items
    paths = [f"d{d:03d}/f{f:05d}.bin" for d in range(dirs) for f in range(per_dir)]
    paths += [f"d{d:03d}/keep.txt" for d in range(dirs)]
    items = dirs * per_dir
    tasks = {"async_threshold": 1, "task_polls": 1}
    figures: list[Figure] = []
    with emulator(work, "b5", {"-": paths}) as emu:
        planfile = _saved_plan(work, "b5", emu, ["-"])
        cases: list[tuple[str, str, dict[str, Any]]] = [
                 ("B5a", "synchronous batches", {"async_threshold": 1001}),
                 ("B5b", "batches answered as tasks", tasks),
                 ("B5c", f"synchronous, rate limit {sizes.apply_rate:g}/s",
                  {"async_threshold": 1001, "rate_limit": sizes.apply_rate})]
        for key, title, faults in cases:
            figures.append(_apply_figure(
                key, f"{items:,} items, {sizes.apply_latency} ms, concurrency {concurrency}: "
                f"{title}", faults, emu, planfile, items, sizes, work, repeat, concurrency))
    # The same items spread over spaces, which apply carries out side by side.
    spaces = [f"s{s:02d}" for s in range(sizes.apply_spaces)]
    space_dirs = -(-dirs // len(spaces))
    space_files = items // len(spaces) // space_dirs
    spread = [f"d{d:03d}/f{f:05d}.bin" for d in range(space_dirs) for f in range(space_files)]
    spread += [f"d{d:03d}/keep.txt" for d in range(space_dirs)]
    items = len(spaces) * space_dirs * space_files
    with emulator(work, "b5d", dict.fromkeys(spaces, spread)) as emu:
        planfile = _saved_plan(work, "b5d", emu, spaces)
        figures.append(_apply_figure(
            "B5d", f"{items:,} items in {len(spaces)} spaces, {sizes.apply_latency} ms, "
            f"concurrency {concurrency}: batches answered as tasks", tasks, emu, planfile,
            items, sizes, work, repeat, concurrency))
    return figures


def _saved_plan(work: Path, name: str, emu: EmulatorProcess, spaces: list[str]) -> Path:
    """A plan of `spaces` that keeps each directory's `keep.txt` and recycles its `.bin`
    files, saved with `plan --out`."""
    manifest = work / f"{name}.yaml"
    manifest.write_text(lib.manifest(spaces, "exist: ['**/keep.txt']\npurge: ['**/*.bin']"))
    planfile = work / f"{name}.plan.json"
    checked(cli("plan", str(manifest), "--out", str(planfile), url=emu.url), f"plan {name}")
    return planfile


def _apply_figure(key: str, title: str, faults: dict[str, Any], emu: EmulatorProcess,
                  planfile: Path, items: int, sizes: Sizes, work: Path, repeat: int,
                  concurrency: int) -> Figure:
    """Items per second of the delete phase of `repeat` applies of `planfile` (the median),
    against the batches in flight over a batch's round trip."""
    latency = sizes.apply_latency
    details: list[tuple[float, float, Stats, float, float]] = []
    for attempt in range(repeat):
        emu.reset()
        emu.faults(latency_ms=latency, **faults)
        before, cpu_before = emu.stats(), emu.cpu_seconds()
        # A state directory of its own: a journal says what an earlier run applied.
        state = work / f"{key}-{attempt}.state"
        run = checked(cli("apply", str(planfile), "--auto-approve", "--concurrency",
                          str(concurrency), "--state-dir", str(state),
                          "--report", str(state / "report.json"), url=emu.url),
                      f"apply {key}")
        stats = emu.since(before)
        if not stats.count(BATCH):
            raise RuntimeError(f"apply {key} sent no batch call:\n{run.stderr[-2000:]}")
        details.append((run.wall, stats.window(BATCH, TASK), stats, run.cpu,
                        emu.cpu_seconds() - cpu_before))
    emu.faults()
    rates = [items / window for _, window, _, _, _ in details]
    rate = statistics.median(rates)
    wall, window, stats, cpu, served = sorted(details, key=lambda d: items / d[1])[
        len(details) // 2]
    batches = max(stats.count(BATCH), 1)
    server = stats.server_seconds / stats.total
    per_batch = stats.seconds.get(BATCH, 0.0) / batches
    # No more batches are in flight than there are batches to send, each of the items a
    # batch holds on average.
    limit = min(concurrency, batches) * (items / batches) / (latency / 1000 + per_batch)
    if "rate_limit" in faults:
        limit = min(limit, lib.rate_bound(items, faults["rate_limit"], MAX_BATCH_SIZE) or limit)
    # The polls of a wave's tasks, after its last batch: a time the bound leaves out.
    polled = (f" (the last answered {stats.after_last(BATCH, TASK):.2f} s after the last "
              "batch)" if stats.count(TASK) else "")
    return Figure(
        key, f"apply items/s, {title}", rate, limit, "items/s", better="higher",
        server_ms=1000 * server,
        note=f"delete phase {window:.2f} s of {wall:.2f} s apply ({cpu:.1f} s CPU, the "
             f"emulator's {served:.1f} s); "
             f"{stats.count(BATCH)} batch calls, {stats.count(TASK)} task queries{polled}, "
             f"{stats.total} requests in all; {1000 * per_batch:.1f} ms server time "
             "per batch",
        extra={"runs": rates, "apply_wall": wall})


# -- B6: the pure core -----------------------------------------------------------------------------

def b6(sizes: Sizes, repeat: int) -> list[Figure]:
    import gc

    from reconciler.collector import gc_paused
    from reconciler.listing import SpaceListing
    from reconciler.planner import deleted_directories, make_plan
    from reconciler.rules import SpaceRules
    from reconciler.walker import walk_tree
    from tests.support import TreeLister, library_listing, library_spec, space_spec

    paths = list(lib.photo_archive(sizes.core_paths))
    lister = TreeLister(paths)
    simple = space_spec(purge=["tmp/", ("**/*.part", "permanent")])
    keeping = space_spec(
        exist=["photos/2000/01/01/", "**/IMG_00000[0-4]*.jpg"],
        protect=["photos/2000/02/**", "**/*-final.jpg"],
        purge=["tmp/", ("**/*.part", "permanent"), "**/*.tmp"],
        prune=["photos/2001/"])
    # Nearly every file an item of its own: what each delete item costs.
    every = space_spec(purge=["tmp/", "**/*.jpg", ("**/*.part", "permanent")])
    # Each January day a directory item listed inside (its `.part` files go on their own, for
    # good), among the other days' files, each an item: what a directory item's contents cost.
    inside = space_spec(purge=["photos/*/01/*/", "**/*.jpg", ("**/*.part", "permanent")])
    figures = []
    for key, title, space, bound in (("B6a", "simple purge (**/*.part, tmp/)", simple, 2.0),
                                     ("B6b", "keep rules: exist, protect, prune", keeping, None),
                                     ("B6c", "every file a delete item (**/*.jpg, **/*.part)",
                                      every, None),
                                     ("B6d", "directory items listed inside, among file items "
                                      "(photos/*/01/*/, **/*.jpg, **/*.part)", inside, None)):
        items: list[int] = []

        def once(space: Any = space, items: list[int] = items) -> float:
            gc.collect()
            started = time.process_time()
            # With the cyclic collector paused, as the command line runs the core: the walk,
            # the counting and the planning ahead inside `walk_library`'s pause, the plan
            # inside `make_plan`'s.
            with gc_paused(), ThreadPoolExecutor(max_workers=1) as executor:
                found, errors = walk_tree(SpaceRules(space), lister, executor)
                listing = SpaceListing(space=space.id, children=found, errors=tuple(errors),
                                       recycle_bin_items=0)
                stats = {path: lister.stats(path)
                         for path in deleted_directories(space, listing)}
            listing = SpaceListing(space=space.id, children=found, errors=tuple(errors),
                                   recycle_bin_items=0, stats=stats, files=len(paths))
            plan = make_plan(library_spec(space), library_listing(listing))
            assert plan.deletes
            items.append(len(plan.deletes))
            return (time.process_time() - started) / len(paths) * 1e6

        value, values = median_of(repeat, once)
        figures.append(Figure(key, f"pure core CPU per path, {title}", value, bound, "µs",
                              note=f"{len(paths):,} paths in memory, {items[-1]:,} delete "
                              "items; runs " + ", ".join(f"{v:.2f}" for v in values)))
    return figures


# -- V: start-up -------------------------------------------------------------------------------

STARTUP_TARGET_MS = 120.0
# The target was set on a machine where `python -c pass` took 18 ms: on a slower (or busier)
# one it is that many times the bare interpreter's start-up.
STARTUP_TARGET_RATIO = STARTUP_TARGET_MS / 18.0


def startup_figures(sizes: Sizes, repeat: int) -> list[Figure]:
    """`validate` of the demo manifest as a fresh process, beside `python -c pass`, the two
    run in turn so that the machine's drift reaches both alike."""
    import os
    import sys

    env = {**os.environ, "NO_COLOR": "1"}
    manifest = ROOT / "manifests" / "demo.yaml"
    commands = {"validate": [sys.executable, "-m", "reconciler", "validate", str(manifest)],
                "python": [sys.executable, "-c", "pass"]}
    spawner = start_spawner()
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(max(5, sizes.startup_runs * repeat)):
        for name, args in commands.items():
            run = checked(spawner.run(args, env), name)
            walls[name].append(run.wall * 1000)
    value = statistics.median(walls["validate"])
    bare = statistics.median(walls["python"])
    ratios = [run / alone for run, alone in zip(walls["validate"], walls["python"],
                                                strict=True)]
    return [Figure("V1", "`validate` start-up, the demo manifest", value, STARTUP_TARGET_MS,
                   "ms", note=f"median of {len(walls['validate'])} runs (min "
                   f"{min(walls['validate']):.0f}); `python -c pass` beside it: {bare:.0f} ms"),
            Figure("V2", "`validate` start-up over `python -c pass`", statistics.median(ratios),
                   STARTUP_TARGET_RATIO, "x", note="run by run, each validate over the "
                   "python -c pass run beside it; the target is 120 ms over 18 ms")]


# -- the emulator itself ---------------------------------------------------------------------------

def emulator_figures(work: Path) -> list[Figure]:
    """Requests per second the emulator answers over loopback, kept-alive connections."""
    spaces = {"-": [f"d{i}/f{j}.txt" for i in range(10) for j in range(10)]}
    figures = []
    with emulator(work, "rps", spaces) as emu:
        for threads in (1, 8):
            count = 1500
            url = f"/api/v1/directory/{LIBRARY}/-/d1"
            with httpx.Client(base_url=emu.url, params={"access_token": TOKEN},
                              limits=httpx.Limits(max_connections=threads)) as client:
                client.get(url).raise_for_status()
                before = emu.stats()
                started = time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(lambda _, c=client, u=url: c.get(u).status_code,
                                  range(count)))
                elapsed = time.perf_counter() - started
            stats = emu.since(before)
            figures.append(Figure(
                f"E{threads}", f"emulator over loopback, {threads} client thread(s), "
                "a 10-entry listing", count / elapsed, None, "requests/s", better="higher",
                server_ms=stats.per_request_ms()))
    return figures


EXACT = ("B1a", "B1b", "B1c", "B2a", "B2b", "B2c")  # request counts that must meet their bound


def missed(figures: Sequence[Figure]) -> list[str]:
    """The deterministic figures that miss their targets (what CI asserts)."""
    failures = []
    for figure in figures:
        if figure.key in EXACT and figure.value != figure.bound:
            failures.append(f"{figure.key}: {figure.value} against a bound of {figure.bound}")
        if figure.key == "N3" and figure.value < 100:
            failures.append(f"N3: only {figure.value:.0f}x fewer requests than naive")
    return failures

