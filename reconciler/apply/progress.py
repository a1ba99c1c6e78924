"""How apply shows progress: a rich bar on a terminal, one plain line per batch elsewhere.

The bar (items done of total, rate, failures) is for people; the lines are for CI logs, where
a redrawn bar is noise. Under `NO_COLOR` nothing fancy is drawn: plain lines it is.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

FAILED = "failed"


class Settled(Protocol):
    """An item's result: an apply's outcome, or an undo's."""

    @property
    def outcome(self) -> StrEnum: ...


class ProgressSink(Protocol):
    def start(self, total: int, done: int) -> None:
        """`total` items in the plan, `done` of them already settled (a resumed apply)."""

    def batch(self, space: str, outcomes: Mapping[Any, Settled], *,
              task_id: int | None = None) -> None:
        """A batch (or a re-check) settled these items."""

    def phase(self, label: str, detail: str | None = None, *, space: str | None = None) -> None:
        """What the items settled from now on are settled by (`apply`, `re-check`, `undo`):
        those of `space` where given (spaces are applied side by side), else all."""

    def note(self, message: str) -> None:
        """A line worth showing between batches (maintenance steps, recovery)."""

    def stop(self) -> None: ...


def _counts(outcomes: Mapping[Any, Settled]) -> str:
    counts = Counter(result.outcome for result in outcomes.values())  # by member: no `.value`
    return ", ".join(f"{number} {outcome.value.replace('_', ' ')}"
                     for outcome, number in counts.items())


def _line_label(label: str) -> str:
    return "batch" if label == "apply" else label


class LineProgress:
    """One line per batch: what it settled, and how far the whole apply is."""

    def __init__(self, stream: TextIO, label: str = "apply") -> None:
        self._stream = stream
        self._total = 0
        self._done = 0
        self._batches = 0
        self._label = _line_label(label)
        self._labels: dict[str, str] = {}
        self._lock = threading.Lock()  # batches settle in several threads

    def start(self, total: int, done: int) -> None:
        self._total, self._done = total, done
        if done:
            self._write(f"resuming: {done} of {total} item(s) already settled")

    def batch(self, space: str, outcomes: Mapping[Any, Settled], *,
              task_id: int | None = None) -> None:
        task = f" (task {task_id})" if task_id is not None else ""
        with self._lock:
            self._batches += 1
            self._done += len(outcomes)
            self._write(
                f"{self._labels.get(space, self._label)} {self._batches} [space {space}]"
                f"{task}: {_counts(outcomes)}; {self._done}/{self._total} item(s) settled"
            )

    def phase(self, label: str, detail: str | None = None, *, space: str | None = None) -> None:
        with self._lock:
            if space is None:
                self._label = _line_label(label)
                self._labels.clear()
            else:
                self._labels[space] = _line_label(label)
            if detail:
                self._write(detail)

    def note(self, message: str) -> None:
        with self._lock:
            self._write(message)

    def stop(self) -> None:
        self._stream.flush()

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()


class BarProgress:
    """A live bar: items settled of total, items per second, failures so far."""

    def __init__(self, stream: TextIO, label: str = "apply") -> None:
        self._label = label
        self._console = Console(file=stream)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} items/s"),
            TextColumn("[red]{task.fields[failures]} failed"),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._failures = 0
        self._lock = threading.Lock()  # batches settle in several threads

    def start(self, total: int, done: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._label, total=total, completed=done,
                                             rate="-", failures=0)

    def batch(self, space: str, outcomes: Mapping[Any, Settled], *,
              task_id: int | None = None) -> None:
        if self._task is None:
            return
        with self._lock:
            self._failures += sum(1 for r in outcomes.values() if r.outcome.value == FAILED)
            self._progress.advance(self._task, len(outcomes))
            speed = self._progress.tasks[0].speed
            self._progress.update(self._task, failures=self._failures,
                                  rate=f"{speed:.0f}" if speed else "-")

    def note(self, message: str) -> None:
        self._progress.console.print(message, markup=False, highlight=False)

    def phase(self, label: str, detail: str | None = None, *, space: str | None = None) -> None:
        self._label = label
        if self._task is not None:
            self._progress.update(self._task, description=label)

    def stop(self) -> None:
        self._progress.stop()


class NoProgress:
    def start(self, total: int, done: int) -> None:
        pass

    def batch(self, space: str, outcomes: Mapping[Any, Settled], *,
              task_id: int | None = None) -> None:
        pass

    def phase(self, label: str, detail: str | None = None, *, space: str | None = None) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def stop(self) -> None:
        pass


def progress_for(stream: TextIO, env: Mapping[str, str] = os.environ, *,
                 label: str = "apply", color: bool = True) -> ProgressSink:
    """A bar on a terminal without NO_COLOR (or `--no-color`); plain lines otherwise."""
    if stream.isatty() and color and not env.get("NO_COLOR"):
        return BarProgress(stream, label)
    return LineProgress(stream, label)
