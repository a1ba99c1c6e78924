"""The apply journal: an append-only JSONL record that lets a killed apply be finished.

One journal per library (`journal-<library>.jsonl` in the state directory) holds the plan being
applied, then, in order: each batch BEFORE it is sent (its items), the task id the moment a 202
arrives, and each batch's per-item outcomes when it returns; also items found stale or gone by
the fingerprint re-check, and the maintenance steps. Every record is flushed and fsynced before
the call it announces is made, so after a `kill -9` the journal says, for every item, either
what became of it or that a call about it may have reached the server.

`replay` turns the records back into that knowledge; the executor uses it to attach to tasks
still running instead of re-sending their batches, and to re-check rather than re-send items
whose outcome never arrived. A finished apply moves its journal to `archive/`. The journal is
locked while an apply holds it, so two applies of one library cannot interleave.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from reconciler.apply.report import ItemOutcome, StepReport
from reconciler.errors import ReconcileError

JOURNAL_VERSION: Final = 1


def journal_path(state_dir: Path, library: str) -> Path:
    return state_dir / f"journal-{_safe(library)}.jsonl"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"


@dataclass(frozen=True, slots=True)
class OpenTask:
    """A batch the server accepted as a task whose outcome was never recorded."""

    batch: int
    space: str
    task_id: int
    items: tuple[int, ...]
    resent: tuple[int, ...] = ()
    retried: bool = False


@dataclass(slots=True)
class Replay:
    """What a journal's records say.

    `results` holds the last recorded outcome of each item (by its index in the plan's
    deletes); `maybe_applied` the items a call may have deleted without its answer being
    recorded (sent in a batch with no outcome, or in a batch that failed as a whole), and not
    since seen present; `open_tasks` the tasks to attach to; `steps` the last record of each
    maintenance step, keyed by (action, space).
    """

    header: dict[str, Any]
    results: dict[int, ItemOutcome] = field(default_factory=dict)
    maybe_applied: set[int] = field(default_factory=set)
    open_tasks: list[OpenTask] = field(default_factory=list)
    steps: dict[tuple[str, str | None], dict[str, Any]] = field(default_factory=dict)
    next_batch: int = 1
    finished: bool = False


def replay(records: Iterable[Mapping[str, Any]]) -> Replay:
    """The state a sequence of journal records describes (pure)."""
    try:
        return _replay(records)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ReconcileError(f"the journal is damaged: {error!r}") from None


def _replay(records: Iterable[Mapping[str, Any]]) -> Replay:
    iterator = iter(records)
    header = next(iterator, None)
    if header is None or header.get("type") != "start":
        raise ReconcileError("the journal does not start with its plan")
    if header.get("version") != JOURNAL_VERSION:
        raise ReconcileError(f"journal version {header.get('version')!r} is not supported")
    state = Replay(header=dict(header))
    sent: dict[int, Mapping[str, Any]] = {}
    tasks: dict[int, Mapping[str, Any]] = {}
    for record in iterator:
        kind = record.get("type")
        batch: Any = record.get("batch")
        if kind == "batch":
            sent[int(batch)] = record
            state.maybe_applied.update(int(i) for i in record["items"])
            state.next_batch = max(state.next_batch, int(batch) + 1)
        elif kind == "task":
            tasks[int(batch)] = record
        elif kind == "outcome":
            for key, data in record["items"].items():
                item = int(key)
                state.results[item] = ItemOutcome.from_json(data)
                state.maybe_applied.discard(item)
            if batch is not None:
                sent.pop(int(batch), None)
                tasks.pop(int(batch), None)
        elif kind == "batch_failed":
            # Its items stay "maybe applied"; halves of it come as batches of their own.
            sent.pop(int(batch), None)
            tasks.pop(int(batch), None)
        elif kind == "present":
            state.maybe_applied.difference_update(int(i) for i in record["items"])
        elif kind == "step":
            state.steps[(str(record["action"]), record.get("space"))] = dict(record)
        elif kind == "end":
            state.finished = True
    state.open_tasks = [
        OpenTask(
            batch=batch,
            space=str(sent[batch]["space"]),
            task_id=int(task["task_id"]),
            items=tuple(int(i) for i in sent[batch]["items"]),
            resent=tuple(int(i) for i in sent[batch].get("resent", ())),
            retried=bool(task.get("retried", False)),
        )
        for batch, task in sorted(tasks.items())
        if batch in sent
    ]
    return state


def read_records(path: Path) -> list[dict[str, Any]]:
    """The journal's records; a torn last line (the process died writing it) is dropped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ReconcileError(f"cannot read the journal {path}: {error.strerror}") from None
    lines = text.split("\n")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):
                break
            raise ReconcileError(f"{path}:{number}: the journal is damaged") from None
        if not isinstance(record, dict):
            raise ReconcileError(f"{path}:{number}: the journal is damaged")
        records.append(record)
    return records


class Journal:
    """An open, locked journal that records are appended to (thread-safe)."""

    def __init__(self, path: Path, handle: IO[str], *, next_batch: int = 1) -> None:
        self.path = path
        self._handle = handle
        self._lock = threading.Lock()
        self._next_batch = next_batch

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, header: Mapping[str, Any]) -> Journal:
        """A new journal whose first record is `header` (the plan and where it goes)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "x", encoding="utf-8")  # noqa: SIM115 - held until close()
        except FileExistsError:
            raise ReconcileError(f"an unfinished apply is already recorded in {path}") from None
        except OSError as error:
            raise ReconcileError(f"cannot create the journal {path}: {error.strerror}") from None
        _lock_file(handle, path)
        journal = cls(path, handle)
        journal.append({"type": "start", "version": JOURNAL_VERSION, **header})
        return journal

    @classmethod
    def resume(cls, path: Path) -> tuple[Journal, Replay]:
        """Reopen an unfinished journal to append to, with what it records so far."""
        try:
            handle = open(path, "r+", encoding="utf-8")  # noqa: SIM115 - held until close()
        except OSError as error:
            raise ReconcileError(f"cannot open the journal {path}: {error.strerror}") from None
        _lock_file(handle, path)
        state = replay(read_records(path))
        # Cut a torn last line off, so that the next record starts on a line of its own.
        text = handle.read()
        keep = text.rfind("\n") + 1
        handle.seek(0)
        handle.truncate(len(text[:keep].encode("utf-8")))
        handle.seek(0, os.SEEK_END)
        journal = cls(path, handle, next_batch=state.next_batch)
        return journal, state

    # -- records -------------------------------------------------------------------------------

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def batch(self, space: str, items: Sequence[int], *, parent: int | None = None,
              resent: Sequence[int] = (), single: bool = False) -> int:
        """Record a batch about to be sent; returns its number.

        `resent` are its items that an earlier call may already have deleted; `single` says
        the item goes through its own single-item endpoint; `parent` is the batch it was
        split from.
        """
        with self._lock:
            number = self._next_batch
            self._next_batch += 1
        self.append(
            {"type": "batch", "batch": number, "space": space, "items": list(items),
             "parent": parent, "resent": list(resent), "single": single}
        )
        return number

    def task(self, batch: int, task_id: int, *, retried: bool = False) -> None:
        """Record the task a batch became, before it is polled (`retried`: the call that
        started it was sent more than once)."""
        self.append({"type": "task", "batch": batch, "task_id": task_id, "retried": retried})

    def outcomes(self, batch: int | None, results: Mapping[int, ItemOutcome]) -> None:
        if results:
            self.append(
                {"type": "outcome", "batch": batch,
                 "items": {str(item): result.to_json() for item, result in results.items()}}
            )

    def batch_failed(self, batch: int, status: int | None, code: str | None,
                     message: str) -> None:
        self.append({"type": "batch_failed", "batch": batch, "status": status, "code": code,
                     "message": message})

    def present(self, items: Iterable[int]) -> None:
        listed = sorted(items)
        if listed:
            self.append({"type": "present", "items": listed})

    def step(self, action: str, space: str | None, phase: str, *,
             task_id: int | None = None) -> None:
        """Record a maintenance step about to be sent (`sent`) or its task (`task`)."""
        self.append({"type": "step", "action": action, "space": space, "phase": phase,
                     "task_id": task_id})

    def change(self, action: str, space: str, phase: str, item: Mapping[str, Any],
               outcome: ItemOutcome | None = None) -> None:
        """Record a directory creation or a bin item's deletion about to be sent (`sent`) or
        its outcome (`done`). Both are safe to repeat, so a resumed apply does them again
        (finding a directory there, or an item gone from the bin) rather than replaying them."""
        record: dict[str, Any] = {"type": "change", "action": action, "space": space,
                                  "phase": phase, **item}
        if outcome is not None:
            record["outcome"] = outcome.to_json()
        self.append(record)

    def step_done(self, report: StepReport) -> None:
        self.append({"type": "step", "phase": "done", **report.to_json()})

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the journal, leaving it in place for the next apply to finish."""
        with self._lock:
            if not self._handle.closed:
                self._handle.close()

    def finish(self, finished_at: str) -> Path:
        """Record the end, release the journal and move it to `archive/`; the archived path."""
        self.append({"type": "end", "at": finished_at})
        self.close()
        archive = self.path.parent / "archive"
        stem = f"{self.path.stem}-{_safe(finished_at)}"
        target = archive / f"{stem}.jsonl"
        counter = 1
        try:
            archive.mkdir(exist_ok=True)
            while target.exists():
                counter += 1
                target = archive / f"{stem}-{counter}.jsonl"
            os.replace(self.path, target)
        except OSError as error:
            raise ReconcileError(
                f"the apply finished but its journal {self.path} could not be archived "
                f"({error.strerror}); move it away before the next apply"
            ) from None
        return target


def _lock_file(handle: IO[str], path: Path) -> None:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ReconcileError(
            f"another apply is running with the journal {path}; wait for it to finish"
        ) from None
