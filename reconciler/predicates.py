"""Rules that see a file's age and size: `older_than`, `newer_than`, `larger_than`,
`smaller_than` and `keep_newest` (README, "Age and size").

Predicates judge files only. A file lacking an attribute a predicate reads (no
`modificationTime`, no `size`, or a listing without the server's time) never satisfies a
`purge`/`prune` entry's predicate, so it stays, and always satisfies a `protect` entry's,
so it is kept. Age is measured against the listing's time (`listed_at`, the server's `Date`),
never the local clock: one listing always gives the same plan.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from reconciler.listing import Fingerprint, RemoteEntry

if TYPE_CHECKING:
    from reconciler.desired import Rule


@dataclass(frozen=True, slots=True)
class Predicates:
    """The predicates of one manifest entry: durations in seconds, sizes in bytes, and each as
    the manifest wrote it (for reasons)."""

    older_than: int | None = None
    newer_than: int | None = None
    larger_than: int | None = None
    smaller_than: int | None = None
    written: tuple[tuple[str, str], ...] = ()
    """`(key, value as written)` in the order reasons show them."""

    def __bool__(self) -> bool:
        return bool(self.written)

    @property
    def reads_age(self) -> bool:
        return self.older_than is not None or self.newer_than is not None

    def describe(self) -> str:
        """` older_than 90d larger_than 1 MB`, or `""` for no predicate."""
        return "".join(f" {key} {value}" for key, value in self.written)

    def holds(self, fingerprint: Fingerprint, now: float | None, *, absent: bool) -> bool:
        """Whether every predicate holds for a file; an unreadable attribute counts `absent`."""
        if self.reads_age:
            modified = parse_time(fingerprint.modification_time)
            if modified is None or now is None:
                if not absent:
                    return False
            else:
                age = now - modified
                if self.older_than is not None and not age > self.older_than:
                    return False
                if self.newer_than is not None and not age < self.newer_than:
                    return False
        if self.larger_than is not None or self.smaller_than is not None:
            size = fingerprint.size_bytes
            if size is None:
                if not absent:
                    return False
            else:
                if self.larger_than is not None and not size > self.larger_than:
                    return False
                if self.smaller_than is not None and not size < self.smaller_than:
                    return False
        return True


NO_PREDICATES = Predicates()
PREDICATE_KEYS = ("older_than", "newer_than", "larger_than", "smaller_than")
DURATION_KEYS = ("older_than", "newer_than")
SIZE_KEYS = ("larger_than", "smaller_than")


@lru_cache(maxsize=65536)
def parse_time(text: str | None) -> float | None:
    """Epoch seconds of an ISO-8601 time as SMH writes it; None when absent or unreadable."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def purge_chain(
    own: Sequence[Rule], own_unconditional: Rule | None, parent_chain: tuple[Rule, ...],
    parent_purge: Rule | None,
) -> tuple[Rule, ...]:
    """The purge entries that may target a path, in the order the rules weigh them.

    The entries matching the path itself come first (file order), then its nearest matched
    ancestor's; the chain ends at the first entry without predicates, which always holds.
    Empty when no entry with predicates is involved (then the context's `purge` decides).
    `own` are the entries with predicates that match the path itself.
    """
    if not own:
        return () if own_unconditional is not None else parent_chain
    level = sorted((*own, *([own_unconditional] if own_unconditional else [])),
                   key=lambda rule: rule.order)
    if own_unconditional is not None:
        return tuple(level[: level.index(own_unconditional) + 1])
    inherited = parent_chain or ((parent_purge,) if parent_purge is not None else ())
    return (*level, *(rule for rule in inherited if rule not in level))


def holds(rule: Rule, entry: RemoteEntry, now: float | None) -> bool:
    """Whether a delete entry's predicates hold for a file (an absent attribute: no)."""
    return rule.predicates.holds(entry.fingerprint, now, absent=False)


def guarded(guards: Iterable[Rule], entry: RemoteEntry, now: float | None) -> Rule | None:
    """The first protect entry with predicates that keeps a file (an absent attribute: yes)."""
    for rule in guards:
        if rule.predicates.holds(entry.fingerprint, now, absent=True):
            return rule
    return None


def spared_newest(
    files: Sequence[tuple[RemoteEntry, Sequence[Rule]]], now: float | None
) -> dict[str, frozenset[Rule]]:
    """For the files of one directory (each with the entries that may target it), the
    `keep_newest` entries that spare each file: of the files such an entry would delete, the
    `N` newest by modification time (ties by path) are not targeted by it. A file without a
    modification time is never deleted by a `keep_newest` entry, and does not count."""
    wanted: dict[Rule, list[tuple[float, str]]] = {}
    spared: dict[str, set[Rule]] = {}
    for entry, rules in files:
        for rule in dict.fromkeys(rules):
            if rule.keep_newest is None or not holds(rule, entry, now):
                continue
            modified = parse_time(entry.fingerprint.modification_time)
            if modified is None:
                spared.setdefault(entry.path, set()).add(rule)
            else:
                wanted.setdefault(rule, []).append((modified, entry.path))
    for rule, candidates in wanted.items():
        assert rule.keep_newest is not None
        for _, path in sorted(candidates, reverse=True)[: rule.keep_newest]:
            spared.setdefault(path, set()).add(rule)
    return {path: frozenset(rules) for path, rules in spared.items()}


def targeting(
    rules: Sequence[Rule], entry: RemoteEntry, now: float | None, spared: frozenset[Rule],
) -> Rule | None:
    """The first of `rules` (in precedence order) that targets a file."""
    for rule in rules:
        if rule in spared:
            continue
        if not rule.conditional or holds(rule, entry, now):
            return rule
    return None
