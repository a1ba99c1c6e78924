"""The synthetic libraries the suite seeds, their manifests, and the bounds their trees imply."""

from __future__ import annotations

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


def longest_chain(entries: Counter[str], subdirs: dict[str, list[str]], listed: set[str],
                  counted: set[str]) -> int:
    """The longest chain of requests the tree forces, one after another: a directory's pages
    follow each other (each page's marker comes from the one before), and a subdirectory can
    be read (listed, or counted with a stats request) only once the page naming it is in.
    Directories are listed before files, so a subdirectory's page is its rank among them."""
    memo: dict[str, int] = {}

    def chain(directory: str) -> int:
        if directory in memo:
            return memo[directory]
        longest = math.ceil(max(entries[directory], 1) / PAGE)
        for rank, child in enumerate(subdirs.get(directory, ())):
            page = rank // PAGE + 1
            if child in listed:
                longest = max(longest, page + chain(child))
            elif child in counted:
                longest = max(longest, page + 1)
        memo[directory] = longest
        return longest

    # Deep trees: fill the memo from the leaves up before asking for the root.
    for directory in sorted(listed, key=lambda d: -d.count("/")):
        chain(directory)
    return chain("")


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
