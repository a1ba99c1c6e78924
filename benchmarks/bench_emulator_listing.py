"""Benchmark: marker paging through a 100,000-entry directory of the SMH emulator.

Measures the server time of each `limit=1000` page (the emulator's request handler, including
routing, auth and JSON encoding, without any HTTP transport) as wall time and as the CPU time
of the serving thread (which other processes on a busy machine cannot inflate), checks that
every entry is seen exactly once, and then times the same walk through the in-process httpx
transport and over real loopback HTTP for comparison. Also times page mode and a non-default
order. Each walk runs `--rounds` times; the round with the lowest median is reported.

    python benchmarks/bench_emulator_listing.py [--entries 100000] [--limit 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable

import httpx

from reconciler.emulator import Emulator, HttpRequest

TOKEN = "bench-token"


def build(entries: int) -> Emulator:
    dirs = max(1, entries // 100)
    paths = [f"big/sub{i:05d}/" for i in range(dirs)]
    paths += [f"big/file{i:07d}.jpg" for i in range(entries - dirs)]
    return Emulator.from_seed({"library": "bench", "secret": "s", "token": TOKEN,
                               "spaces": {"-": paths}})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def walk(fetch: Callable[[str | None], dict[str, object]],
         clock: Callable[[], float] = time.perf_counter) -> tuple[list[str], list[float]]:
    names: list[str] = []
    times: list[float] = []
    marker: str | None = None
    while True:
        started = clock()
        page = fetch(marker)
        times.append((clock() - started) * 1000)
        contents = page["contents"]
        assert isinstance(contents, list)
        names.extend(item["name"] for item in contents)
        next_marker = page.get("nextMarker")
        if not next_marker:
            return names, times
        assert isinstance(next_marker, str)
        marker = next_marker


def report(label: str, times: list[float]) -> None:
    print(f"{label:<38} pages={len(times):>4}  median={statistics.median(times):6.2f} ms  "
          f"p95={percentile(times, 0.95):6.2f} ms  max={max(times):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    def best(fetch: Callable[[str | None], dict[str, object]],
             clock: Callable[[], float] = time.perf_counter) -> list[float]:
        rounds = []
        for _ in range(args.rounds):
            names, times = walk(fetch, clock)
            assert len(names) == args.entries and len(set(names)) == args.entries, \
                "entries lost or repeated"
            rounds.append(times)
        return min(rounds, key=statistics.median)

    started = time.perf_counter()
    emu = build(args.entries)
    print(f"seeded {args.entries} entries in one directory in "
          f"{time.perf_counter() - started:.2f} s")
    path = "/api/v1/directory/bench/-/big"
    base = f"{path}?access_token={TOKEN}&limit={args.limit}"
    query = {"access_token": TOKEN, "limit": str(args.limit)}

    def direct(marker: str | None) -> dict[str, object]:
        target = base + (f"&marker={marker}" if marker else "")
        answer = emu.handle(HttpRequest("GET", target))
        assert answer.status == 200, answer.body[:200]
        doc: dict[str, object] = json.loads(answer.body)
        return doc

    # The seeded tree is long-lived: keep the collector from re-scanning it during the walk,
    # as the `smh-reconcile emulator` command does after loading its seed.
    gc.collect()
    gc.freeze()
    report("server time (handler), marker mode", best(direct))
    report("  same, CPU time of the serving thread", best(direct, time.thread_time))

    with httpx.Client(transport=emu.transport(), base_url="https://bench") as client:
        def in_process(marker: str | None) -> dict[str, object]:
            params = {**query, "marker": marker} if marker else query
            doc: dict[str, object] = client.get(path, params=params).json()
            return doc
        report("in-process httpx transport (client)", best(in_process))

    with emu.serve() as url, httpx.Client(base_url=url) as client:
        def loopback(marker: str | None) -> dict[str, object]:
            params = {**query, "marker": marker} if marker else query
            doc: dict[str, object] = client.get(path, params=params).json()
            return doc
        report("real loopback HTTP (client)", best(loopback))

    page_times = []
    for page in range(1, 10000 // args.limit + 1):
        started = time.perf_counter()
        answer = emu.handle(HttpRequest(
            "GET", f"/api/v1/directory/bench/-/big?access_token={TOKEN}"
                   f"&page={page}&page_size={args.limit}"))
        page_times.append((time.perf_counter() - started) * 1000)
        assert answer.status == 200
    report("server time, page mode (pages 1..10)", page_times)

    def by_size(marker: str | None) -> dict[str, object]:
        target = base + "&order_by=size&order_by_type=desc" + (
            f"&marker={marker}" if marker else "")
        doc: dict[str, object] = json.loads(emu.handle(HttpRequest("GET", target)).body)
        return doc
    report("server time, order_by=size desc", best(by_size))

if __name__ == "__main__":
    main()
