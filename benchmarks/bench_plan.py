"""Plan against the emulator with 100,000 files: requests against their bound, and time.

    python benchmarks/bench_plan.py [--files 100000] [--loopback]

The bound for a plan's requests is its list requests, plus one directory-stats request for
each directory it deletes, plus one file-count request and one recycle-bin read per space.
The list requests' lower bound is the sum, over the directories the plan must look into, of
ceil(entries / page size);
a purged directory of 10,000 files must cost one delete item, one stats request and no list
request inside it. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.auth import Credentials
from reconciler.desired import Safety
from reconciler.emulator import Emulator
from reconciler.targets import Target, live_plan
from tests.support import library_spec, space_spec  # run from the repository root

TOKEN = "bench-token"


def build_paths(files: int) -> list[str]:
    """`big/` holds 10,000 files the manifest purges; the rest spread over albums."""
    paths = [f"big/{i // 1000:02d}/f{i:05d}.bin" for i in range(10_000)]
    rest = files - len(paths)
    albums = max(1, rest // 1000)
    paths += [f"albums/a{i % albums:03d}/img{i:06d}.jpg" for i in range(rest)]
    paths += [f"albums/a{a:03d}/cover.part" for a in range(albums)]
    return paths


@contextmanager
def endpoint(emu: Emulator, loopback: bool) -> Iterator[str]:
    if loopback:
        with emu.serve() as url:
            yield url
    else:
        yield "https://smhbench.api.tencentsmh.cn"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--loopback", action="store_true", help="real HTTP instead of in-process")
    args = parser.parse_args()

    started = time.perf_counter()
    emu = Emulator.from_seed({"library": "smhbench", "secret": "s", "token": TOKEN,
                              "spaces": {"-": build_paths(args.files)}})
    print(f"seeded {args.files} files in {time.perf_counter() - started:.2f} s")

    space = space_spec(purge=["big/", ("albums/**/*.part", "permanent")],
                       protect=["albums/a000/**"])
    spec = library_spec(space, safety=Safety(max_delete_percent=100), library="smhbench")
    with endpoint(emu, args.loopback) as url:
        target = Target(spec=spec, endpoint=url,
                        credentials=Credentials.from_env({"SMH_ACCESS_TOKEN": TOKEN}),
                        transport=None if args.loopback else emu.transport())
        started = time.perf_counter()
        plan = live_plan(target)
        elapsed = time.perf_counter() - started

    if plan.errors:
        raise SystemExit(f"listing failed: {plan.errors}")
    log = emu.request_log()
    lists = Counter(entry["path"] or "" for entry in log if entry["method"] == "GET"
                    and entry["route"] == "directory" and "stats" not in entry["query"])
    stats = Counter(entry["path"] or "" for entry in log
                    if entry["route"] == "directory" and "stats" in entry["query"])
    counts = sum(1 for entry in log if entry["route"] == "space")
    state_paths = emu.state()["spaces"]["-"]["paths"]
    children: Counter[str] = Counter()
    for path in state_paths:
        stripped = path.rstrip("/")
        children[stripped.rsplit("/", 1)[0] if "/" in stripped else ""] += 1
    bound = sum(math.ceil(max(children[d], 1) / target.page_size) for d in lists)
    inside_big = sum(count for path, count in lists.items() if path.startswith("big"))
    big_items = [d for d in plan.deletes if d.path == "big"]
    dir_items = sum(1 for d in plan.deletes if d.type.value == "dir")
    request_bound = bound + dir_items + 2 * len(spec.spaces)
    requests = len(log)
    print(f"transport: {'loopback HTTP' if args.loopback else 'in-process'}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"plan: {len(plan.deletes)} delete items in {elapsed:.2f} s "
          f"(peak RSS of the process, emulator included: {rss:.0f} MiB)")
    print(f"list requests: {sum(lists.values())} (lower bound {bound}) over {len(lists)} "
          "directories")
    print(f"stats requests: {sum(stats.values())} (one per directory deleted: {dir_items}); "
          f"file-count requests: {counts} (one per space: {len(spec.spaces)})")
    print(f"plan requests: {requests} (bound: list {bound} + stats {dir_items} + count and "
          f"bin read {2 * len(spec.spaces)} = {request_bound})")
    print(f"big/ (10,000 files): {len(big_items)} delete item, {big_items[0].files:,} files, "
          f"{inside_big} list requests inside")
    assert sum(lists.values()) <= bound
    assert requests <= request_bound
    assert len(big_items) == 1 and inside_big == 0 and big_items[0].files == 10_000


if __name__ == "__main__":
    main()
