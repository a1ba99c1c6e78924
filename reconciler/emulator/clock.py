"""The emulator's clock: the one place the emulator reads the time.

Token expiry, recycle-bin retention, the history-clear rate limit and the fault token bucket all
read `Clock.now()`, so a test can freeze or advance time instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock:
    """Epoch seconds: the wall clock (or a fixed `start`) plus whatever `advance` added."""

    def __init__(self, start: float | None = None,
                 source: Callable[[], float] | None = None) -> None:
        self._start = start
        self._source = source if source is not None else time.time
        self._offset = 0.0

    def now(self) -> float:
        base = self._start if self._start is not None else self._source()
        return base + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def __call__(self) -> float:
        return self.now()


class SupportsNow(Protocol):
    def now(self) -> float: ...


ClockLike = Clock | SupportsNow | Callable[[], float]


def as_clock(value: ClockLike | None) -> Clock:
    """Accept a `Clock`, any object with `now()`, a bare callable, or None (the wall clock)."""
    if value is None:
        return Clock()
    if isinstance(value, Clock):
        return value
    now = getattr(value, "now", None)
    if callable(now):
        return Clock(source=now)
    if callable(value):
        return Clock(source=value)
    raise TypeError(f"not a clock: {value!r}")
