"""Benchmark: memory held by an SMH emulator seeded with 1,000,000 paths.

Builds a seed of N paths (default 1,000,000: files spread over a photo-archive-like tree of
year/month/day directories plus some empty directories), then reports the process RSS before
and after building the emulator, and with `--tracemalloc` the Python heap the emulator keeps
(the seed document itself is dropped first, so what remains is the emulator's own state: its
parsed seed, kept for `reset`, and the live tree).

    python benchmarks/bench_emulator_memory.py [--paths 1000000] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from typing import Any

from reconciler.emulator import Emulator, HttpRequest


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def seed_doc(count: int) -> dict[str, Any]:
    paths: list[str] = []
    i = 0
    while len(paths) < count:
        year, month, day = 2015 + i // 12000 % 10, 1 + i // 1000 % 12, 1 + i // 40 % 28
        paths.append(f"photos/{year}/{month:02d}/{day:02d}/IMG_{i:07d}.jpg")
        if i % 1000 == 999:
            paths.append(f"scratch/{i:07d}/")
        i += 1
    return {"library": "bench", "secret": "s", "token": "t", "spaces": {"-": paths[:count]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also measure the Python heap (slower)")
    args = parser.parse_args()

    baseline = rss_mb()
    doc = seed_doc(args.paths)
    with_doc = rss_mb()
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    emu = Emulator.from_seed(doc)
    elapsed = time.perf_counter() - started
    del doc
    gc.collect()
    held = tracemalloc.get_traced_memory() if args.tracemalloc else None
    after = rss_mb()
    answer = emu.handle(HttpRequest("GET", "/api/v1/directory/bench/-/photos/2016/05/03"
                                           "?access_token=t&limit=5"))
    assert answer.status == 200
    print(f"paths: {args.paths:,}; seeded in {elapsed:.1f} s")
    print(f"RSS: {baseline:.0f} MB at start, {with_doc:.0f} MB with the seed document, "
          f"{after:.0f} MB with the emulator built and the document dropped")
    print(f"emulator RSS growth over start: {after - baseline:.0f} MB; "
          f"peak RSS of the process: {rss_mb('VmHWM'):.0f} MB")
    if held is not None:
        current, peak = held
        print(f"tracemalloc: {current / 2**20:.0f} MB held by the emulator, "
              f"{peak / 2**20:.0f} MB peak while building (seed document excluded)")


if __name__ == "__main__":
    main()
