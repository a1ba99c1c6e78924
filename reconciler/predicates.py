"""Predicates that see a file's age and size: `older_than`, `newer_than`, `larger_than` and
`smaller_than` (README, "Age and size"), and whether they hold for one file. How entries with
predicates or `keep_newest` weigh the files of a directory is the rule engine's
(`reconciler.rules`).

Predicates judge files only. A file lacking an attribute a predicate reads (no
`modificationTime`, no `size`, or a listing without the server's time) never satisfies a
`purge`/`prune` entry's predicate, so it stays, and always satisfies a `protect` entry's,
so it is kept. Age is measured against the listing's time (`listed_at`, the server's `Date`),
never the local clock: one listing always gives the same plan.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from reconciler.listing import Fingerprint


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
