"""The synthetic libraries the suite seeds, their manifests, and the bounds their trees imply."""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from .harness import LIBRARY

PAGE = 1000  # entries per listing page the tool asks for
FILES_PER_DAY = 250
PART_EVERY = 50  # one upload in 50 was left behind as `.part`


def photo_archive(files: int, prefix: str = "photos") -> Iterator[str]:
    """`photos/YYYY/MM/DD/IMG_n.jpg`, 250 files a day, every 50th an `IMG_n.jpg.part`,
    and a `tmp/` of 100 files in 10 directories that the manifest purges whole."""
    for i in range(files):
        day = i // FILES_PER_DAY
        year, month, dom = 2000 + day // 336, (day // 28) % 12 + 1, day % 28 + 1
        suffix = ".jpg.part" if i % PART_EVERY == PART_EVERY - 1 else ".jpg"
        yield f"{prefix}/{year}/{month:02d}/{dom:02d}/IMG_{i:07d}{suffix}"
    for i in range(100):
        yield f"tmp/upload-{i // 10}/chunk-{i:03d}.bin"


def archive_spaces(files: int, spaces: int) -> dict[str, list[str]]:
    """`files` spread evenly over `spaces` photo archives (one space: the id `-`)."""
    if spaces == 1:
        return {"-": list(photo_archive(files))}
    return {f"s{n:02d}": list(photo_archive(files // spaces)) for n in range(spaces)}


def manifest(spaces: Iterable[str], rules: str) -> str:
    """A manifest applying the same `rules` (YAML lines at space-entry indent) to each space."""
    lines = ["version: 1", f"library: {LIBRARY}",
             "safety: {max_delete_percent: 100, min_existing: 1000000000}", "spaces:"]
    for space in spaces:
        lines.append(f'  - id: "{space}"')
        lines.extend(f"    {line}" for line in rules.strip().splitlines())
    return "\n".join(lines) + "\n"


ARCHIVE_RULES = """\
purge:
  - tmp/
  - {pattern: "**/*.part", mode: permanent}
"""


def children(paths: Iterable[str]) -> tuple[Counter[str], dict[str, list[str]]]:
    """Entries per directory ("" the root) and each directory's subdirectories, sorted."""
    entries: Counter[str] = Counter()
    subdirs: dict[str, set[str]] = {}
    for path in paths:
        segments = path.strip("/").split("/")
        for depth in range(1, len(segments) + 1):
            parent = "/".join(segments[:depth - 1])
            here = "/".join(segments[:depth])
            if depth < len(segments) or path.endswith("/"):
                if here not in subdirs:
                    subdirs[here] = set()
                    subdirs.setdefault(parent, set()).add(here)
                    entries[parent] += 1
            else:
                entries[parent] += 1
    return entries, {d: sorted(s) for d, s in subdirs.items()}


def list_bound(entries: Counter[str], listed: Iterable[str]) -> int:
    """The fewest list requests that read the `listed` directories in full."""
    return sum(math.ceil(max(entries[d], 1) / PAGE) for d in listed)


def request_forest(entries: Counter[str], subdirs: dict[str, list[str]], listed: set[str],
                   counted: set[str], separate: int = 0) -> list[int]:
    """The requests of one space's plan as a forest: each request's parent is the one it must
    wait for, -1 for one that waits for none. A directory's pages follow each other (each
    page's marker comes from the one before), and a subdirectory can be read (listed, or
    counted with a stats request) only once the page naming it is in; directories are listed
    before files, so a subdirectory's page is its rank among them. `separate` more requests
    wait for none (the space's file count and recycle-bin read). Returns the parents, a
    request's parent always before it."""
    parents = [-1] * separate
    pending = [("", -1)]
    while pending:
        directory, after = pending.pop()
        pages = []
        for _ in range(math.ceil(max(entries[directory], 1) / PAGE)):
            parents.append(after)
            after = len(parents) - 1
            pages.append(after)
        for rank, child in enumerate(subdirs.get(directory, ())):
            page = pages[rank // PAGE]
            if child in listed:
                pending.append((child, page))
            if child in counted:  # a stats request, whether or not it is listed too
                parents.append(page)
    return parents


def joined(forests: Iterable[Sequence[int]]) -> list[int]:
    """Forests of `request_forest` as one: the requests of every space, sharing the slots."""
    parents: list[int] = []
    for forest in forests:
        offset = len(parents)
        parents.extend(parent + offset if parent >= 0 else -1 for parent in forest)
    return parents


def _depths(parents: Sequence[int]) -> list[int]:
    """How many requests each request of the forest waits for, one after another."""
    depth = [0] * len(parents)
    for request, parent in enumerate(parents):
        if parent >= 0:
            depth[request] = depth[parent] + 1
    return depth


def longest_chain(parents: Sequence[int]) -> int:
    """The longest chain of requests the forest forces, one after another."""
    return 1 + max(_depths(parents), default=-1)


def fewest_rounds(parents: Sequence[int], slots: int) -> int:
    """The fewest rounds in which `slots` requests at a time, each taking one round, can send
    every request of the forest `parents` (as `request_forest` gives it), none before its parent
    has been answered.

    Run backwards in time, a schedule of this forest is one of the forest with every arrow
    turned round, where a request waits for all its children instead: an in-forest of tasks of
    one round each, for which highest level first (Hu, 1961) is optimal: each round takes the
    ready requests deepest in the forest first. So this is the floor no scheduler reaches
    under: at least the chain, and at least the requests over the slots."""
    depth = _depths(parents)
    waiting = [0] * len(parents)
    for parent in parents:
        if parent >= 0:
            waiting[parent] += 1
    ready = [(-depth[request], request) for request in range(len(parents)) if not waiting[request]]
    heapq.heapify(ready)
    rounds = 0
    while ready:
        rounds += 1
        done = [heapq.heappop(ready)[1] for _ in range(min(slots, len(ready)))]
        for request in done:
            parent = parents[request]
            if parent >= 0:
                waiting[parent] -= 1
                if not waiting[parent]:
                    heapq.heappush(ready, (-depth[parent], parent))
    return rounds


def waves_bound(paths_by_space: dict[str, Sequence[str]], batch: int = 1000) -> tuple[int, int]:
    """(batch calls, waves) an apply of these delete items needs at least: an item nested in
    another (kept apart by a different mode) goes in an earlier wave, and a batch holds the
    items of one wave of one space."""
    from reconciler.apply.batching import order

    calls = waves = 0
    for paths in paths_by_space.values():
        for wave in order(list(paths)).waves:
            calls += math.ceil(len(wave) / batch)
            waves += 1
    return calls, waves


def rate_bound(items: int, rate: float, batch: int = 1000) -> float | None:
    """Items a second at most that batch calls of `batch` items carry under the emulator's
    rate limit of `rate` requests a second (None: it never holds them back). Its token bucket
    holds max(1, rate) requests, full or not when the first batch comes, so that the batches
    beyond that burst take (batches - burst) / rate seconds at least."""
    beyond = math.ceil(items / batch) - max(1.0, rate)
    return items * rate / beyond if beyond > 0 else None
