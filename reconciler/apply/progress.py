"""How apply shows progress: a rich bar on a terminal, one plain line per batch elsewhere.

The bar (items done of total, rate, failures) is for people; the lines are for CI logs, where
a redrawn bar is noise. Under `NO_COLOR` nothing fancy is drawn: plain lines it is.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from reconciler.apply.report import ItemOutcome, Outcome


class ProgressSink(Protocol):
    def start(self, total: int, done: int) -> None:
        """`total` items in the plan, `done` of them already settled (a resumed apply)."""

    def batch(self, space: str, outcomes: Mapping[int, ItemOutcome], *,
              task_id: int | None = None) -> None:
        """A batch (or a re-check) settled these items."""

    def note(self, message: str) -> None:
        """A line worth showing between batches (maintenance steps, recovery)."""

    def stop(self) -> None: ...


def _counts(outcomes: Mapping[int, ItemOutcome]) -> str:
    counts = Counter(result.outcome for result in outcomes.values())
    return ", ".join(
        f"{counts[outcome]} {outcome.value.replace('_', ' ')}" for outcome in Outcome
        if counts[outcome]
    )


class LineProgress:
    """One line per batch: what it settled, and how far the whole apply is."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._total = 0
        self._done = 0
        self._batches = 0

    def start(self, total: int, done: int) -> None:
        self._total, self._done = total, done
        if done:
            self._write(f"resuming: {done} of {total} item(s) already settled")

    def batch(self, space: str, outcomes: Mapping[int, ItemOutcome], *,
              task_id: int | None = None) -> None:
        self._batches += 1
        self._done += len(outcomes)
        task = f" (task {task_id})" if task_id is not None else ""
        self._write(
            f"batch {self._batches} [space {space}]{task}: {_counts(outcomes)}; "
            f"{self._done}/{self._total} item(s) settled"
        )

    def note(self, message: str) -> None:
        self._write(message)

    def stop(self) -> None:
        self._stream.flush()

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()


class BarProgress:
    """A live bar: items settled of total, items per second, failures so far."""

    def __init__(self, stream: TextIO) -> None:
        self._console = Console(file=stream)
        self._progress = Progress(
            TextColumn("[bold]apply"),
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

    def start(self, total: int, done: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("apply", total=total, completed=done,
                                             rate="-", failures=0)

    def batch(self, space: str, outcomes: Mapping[int, ItemOutcome], *,
              task_id: int | None = None) -> None:
        if self._task is None:
            return
        self._failures += sum(1 for r in outcomes.values() if r.outcome is Outcome.FAILED)
        self._progress.advance(self._task, len(outcomes))
        speed = self._progress.tasks[0].speed
        self._progress.update(self._task, failures=self._failures,
                              rate=f"{speed:.0f}" if speed else "-")

    def note(self, message: str) -> None:
        self._progress.console.print(message, markup=False, highlight=False)

    def stop(self) -> None:
        self._progress.stop()


class NoProgress:
    def start(self, total: int, done: int) -> None:
        pass

    def batch(self, space: str, outcomes: Mapping[int, ItemOutcome], *,
              task_id: int | None = None) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def stop(self) -> None:
        pass


def progress_for(stream: TextIO, env: Mapping[str, str] = os.environ) -> ProgressSink:
    """A bar on a terminal without NO_COLOR; plain lines otherwise."""
    if stream.isatty() and not env.get("NO_COLOR"):
        return BarProgress(stream)
    return LineProgress(stream)
