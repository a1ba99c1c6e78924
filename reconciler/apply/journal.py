"""The apply journal: an append-only JSONL record that lets a killed apply be finished.

One journal per library (`journal-<library>.jsonl` in the state directory) holds the plan being
applied, then, in order: each batch BEFORE it is sent (its items; a wave's batches are
journaled as many ahead as are in flight, so that calls need not wait for their records' fsync,
and one then not sent because the run stopped is marked unsent), the task id the moment a 202
arrives, and each batch's per-item outcomes when it returns; also items found stale or gone by
the fingerprint re-check, and the maintenance steps. Every record is flushed before the next
call is made, and every record that announces a call is fsynced before it (records written at
once by several threads share one fsync; an outcome, which announces none, goes to disk with
the next), so after a `kill -9` the journal says, for every item, either what became of it or
that a call about it may have reached the server.

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
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Final

from reconciler import wirejson
from reconciler.apply.decisions import ItemId
from reconciler.apply.report import Failure, ItemOutcome, StepReport
from reconciler.errors import ReconcileError
from reconciler.plan import Action

JOURNAL_VERSION: Final = 1


def canonical_text(data: Mapping[str, Any]) -> str:
    """Compact canonical JSON: sorted keys, no spaces, text as it is. A record's line is
    written so, and a plan's digest is of its JSON written so."""
    return wirejson.canonical(data)


_dumps = canonical_text


def journal_path(state_dir: Path, library: str) -> Path:
    return state_dir / f"journal-{_safe(library)}.jsonl"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"


class Phase(StrEnum):
    """Where a maintenance step, a directory creation or a bin delete is: about to be sent,
    started as a task, ended; a bin delete's per-item outcomes have a record of their own."""

    SENT = "sent"
    TASK = "task"
    DONE = "done"
    OUTCOMES = "outcomes"


@dataclass(frozen=True, slots=True)
class Header:
    """The journal's first record: the plan being applied, where, from what, since when.

    `source` says what the apply was started from (only the same command finishes it);
    `plan` is the plan's JSON with its fingerprints, and `plan_text` (when given) that JSON as
    `_dumps` writes it, already written for the plan's digest: the record's line holds it as
    it is instead of writing it again.
    """

    library: str
    endpoint: str = ""
    source: Mapping[str, Any] = field(default_factory=dict)
    plan_digest: str = ""
    started_at: str = ""
    plan: Mapping[str, Any] = field(default_factory=dict)
    plan_text: str | None = field(default=None, compare=False, repr=False)

    def line(self) -> str:
        """`to_json` as `_dumps` writes it (keys sorted: those before `plan`, it, the rest)."""
        data = self.to_json()
        if self.plan_text is None:
            return _dumps(data)
        del data["plan"]
        head = _dumps({key: value for key, value in data.items() if key < "plan"})
        tail = _dumps({key: value for key, value in data.items() if key > "plan"})
        return f'{head[:-1]},"plan":{self.plan_text},{tail[1:]}'

    def to_json(self) -> dict[str, Any]:
        return {"type": "start", "version": JOURNAL_VERSION, "library": self.library,
                "endpoint": self.endpoint, "source": dict(self.source),
                "plan_digest": self.plan_digest, "started_at": self.started_at,
                "plan": self.plan}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Header:
        return cls(library=str(data["library"]), endpoint=str(data.get("endpoint") or ""),
                   source=dict(data.get("source") or {}),
                   plan_digest=str(data.get("plan_digest") or ""),
                   started_at=str(data.get("started_at") or ""), plan=data.get("plan") or {})


def _ids(values: Iterable[Any]) -> tuple[ItemId, ...]:
    return tuple(ItemId(int(value)) for value in values)


@dataclass(frozen=True, slots=True)
class BatchSent:
    """A batch about to be sent: `resent` are its items an earlier call may already have
    deleted, `single` says the item goes through its single-item endpoint, `parent` is the
    batch it was split from."""

    batch: int
    space: str
    items: tuple[ItemId, ...]
    parent: int | None = None
    resent: tuple[ItemId, ...] = ()
    single: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": "batch", "batch": self.batch, "space": self.space,
                "items": list(self.items), "parent": self.parent, "resent": list(self.resent),
                "single": self.single}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchSent:
        parent = data.get("parent")
        return cls(int(data["batch"]), str(data["space"]), _ids(data["items"]),
                   None if parent is None else int(parent), _ids(data.get("resent", ())),
                   bool(data.get("single", False)))


@dataclass(frozen=True, slots=True)
class TaskStarted:
    """The task a batch became, before it is polled (`retried`: the call that started it was
    sent more than once)."""

    batch: int
    task_id: int
    retried: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": "task", "batch": self.batch, "task_id": self.task_id,
                "retried": self.retried}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskStarted:
        return cls(int(data["batch"]), int(data["task_id"]), bool(data.get("retried", False)))


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Items settled: by a batch's answer (`batch`), or before any was sent (None)."""

    batch: int | None
    items: Mapping[ItemId, ItemOutcome]

    def to_json(self) -> dict[str, Any]:
        return {"type": "outcome", "batch": self.batch,
                "items": {str(item): result.to_json() for item, result in self.items.items()}}

    def line(self) -> str:
        """`to_json` as `_dumps` writes it, each item's outcome from a template kept per kind
        of outcome (a batch's are mostly alike; only their recycledItemIds differ)."""
        parts = []
        last: ItemOutcome | None = None
        head = tail = ""
        for key, result in sorted((str(item), result) for item, result in self.items.items()):
            # A batch's outcomes mostly share their parts (the very same objects): the template
            # of the outcome before is then theirs too, found without hashing them again.
            if last is None or not _alike(result, last):
                head, tail = _template(result)
                last = result
            recycled = result.recycled_item_id
            parts.append(f'"{key}":{head}' if not tail or recycled is None
                         else f'"{key}":{head}{recycled}{tail}')
        batch = "null" if self.batch is None else self.batch
        return f'{{"batch":{batch},"items":{{{",".join(parts)}}},"type":"outcome"}}'

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outcomes:
        batch = data.get("batch")
        return cls(None if batch is None else int(batch),
                   {ItemId(int(key)): ItemOutcome.from_json(value)
                    for key, value in data["items"].items()})


_TEMPLATES: dict[tuple[object, ...], tuple[str, str]] = {}
_TEMPLATES_KEPT: Final = 256
_ID_KEY: Final = '"recycled_item_id":'


def _alike(result: ItemOutcome, other: ItemOutcome) -> bool:
    """Whether the two have one template: the same parts (the same objects), an id or none."""
    return (result.outcome is other.outcome and result.answer is other.answer
            and (result.recycled_item_id is None) is (other.recycled_item_id is None)
            and result.recycled_item_id_unknown is other.recycled_item_id_unknown)


def _template(result: ItemOutcome) -> tuple[str, str]:
    """`result.to_json()` as `_dumps` writes it, in two parts its recycled item id (if it has
    one) goes between; the second part is empty when it has none."""
    kind = (result.outcome, result.answer, result.recycled_item_id is None,
            result.recycled_item_id_unknown)
    template = _TEMPLATES.get(kind)
    if template is None:
        data = result.to_json()
        if "recycled_item_id" not in data or result.recycled_item_id is None:
            template = (_dumps(data), "")
        else:
            # Keys are sorted: only `recycled_item_id_unknown` and `status` follow the id.
            head, _, tail = _dumps({**data, "recycled_item_id": None}).rpartition(
                _ID_KEY + "null")
            template = (head + _ID_KEY, tail)
        if len(_TEMPLATES) < _TEMPLATES_KEPT:
            _TEMPLATES[kind] = template
    return template


@dataclass(frozen=True, slots=True)
class BatchFailed:
    """A batch that failed as a whole: its items stay "maybe applied"."""

    batch: int
    failure: Failure

    def to_json(self) -> dict[str, Any]:
        return {"type": "batch_failed", "batch": self.batch, **self.failure.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchFailed:
        return cls(int(data["batch"]), Failure.from_json(data))


@dataclass(frozen=True, slots=True)
class BatchUnsent:
    """A batch recorded ahead of its call and then not sent (the run stopped first): no call
    about its items was made, so those an earlier call had not left in doubt are in none."""

    batch: int

    def to_json(self) -> dict[str, Any]:
        return {"type": "batch_unsent", "batch": self.batch}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchUnsent:
        return cls(int(data["batch"]))


@dataclass(frozen=True, slots=True)
class Present:
    """Items the re-check found still there as planned: no earlier call deleted them."""

    items: tuple[ItemId, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": "present", "items": list(self.items)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Present:
        return cls(_ids(data["items"]))


StepKey = tuple[Action, str | None]


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A maintenance step about to be sent, its task, or (`report`) how it ended."""

    action: Action
    space: str | None
    phase: Phase
    task_id: int | None = None
    report: StepReport | None = None

    @property
    def key(self) -> StepKey:
        return (self.action, self.space)

    def to_json(self) -> dict[str, Any]:
        if self.report is not None:
            return {"type": "step", "phase": self.phase.value, **self.report.to_json()}
        return {"type": "step", "action": self.action.value, "space": self.space,
                "phase": self.phase.value, "task_id": self.task_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepRecord:
        phase = Phase(data["phase"])
        task_id = data.get("task_id")
        report = StepReport.from_json(data) if phase is Phase.DONE else None
        return cls(Action(data["action"]), data.get("space"), phase,
                   None if task_id is None else int(task_id), report)


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A directory creation (`path`) or a delete of bin items for good (`recycled_item_ids`)
    about to be sent or done, or the bin items' outcomes. Both are safe to repeat, so a
    resumed apply does them again rather than replaying them."""

    action: Action
    space: str
    phase: Phase
    path: str | None = None
    recycled_item_ids: tuple[int, ...] | None = None
    outcome: ItemOutcome | None = None
    outcomes: Mapping[int, ItemOutcome] | None = None

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": "change", "action": self.action.value,
                                  "space": self.space, "phase": self.phase.value}
        if self.path is not None:
            record["path"] = self.path
        if self.recycled_item_ids is not None:
            record["recycled_item_ids"] = list(self.recycled_item_ids)
        if self.outcomes is not None:
            record["items"] = {str(i): o.to_json() for i, o in self.outcomes.items()}
        if self.outcome is not None:
            record["outcome"] = self.outcome.to_json()
        return record


@dataclass(frozen=True, slots=True)
class End:
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "end", "at": self.at}


Record = (Header | BatchSent | TaskStarted | Outcomes | BatchFailed | BatchUnsent | Present
          | StepRecord | ChangeRecord | End)


@dataclass(frozen=True, slots=True)
class OpenTask:
    """A batch the server accepted as a task whose outcome was never recorded."""

    batch: int
    space: str
    task_id: int
    items: tuple[ItemId, ...]
    resent: tuple[ItemId, ...] = ()
    retried: bool = False


@dataclass(slots=True)
class Replay:
    """What a journal's records say.

    `results` holds the last recorded outcome of each item (by its id, its index in the
    plan's deletes); `maybe_applied` the items a call may have deleted without its answer
    being recorded (sent in a batch with no outcome, or in a batch that failed as a whole),
    and not since seen present; `open_tasks` the tasks to attach to; `steps` the last record
    of each maintenance step.
    """

    header: Header
    results: dict[ItemId, ItemOutcome] = field(default_factory=dict)
    maybe_applied: set[ItemId] = field(default_factory=set)
    open_tasks: list[OpenTask] = field(default_factory=list)
    steps: dict[StepKey, StepRecord] = field(default_factory=dict)
    next_batch: int = 1
    finished: bool = False


def replay(records: Iterable[Mapping[str, Any]]) -> Replay:
    """The state a sequence of journal records describes (pure)."""
    try:
        return _replay(records)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ReconcileError(f"the journal is damaged: {error!r}") from None


_READERS: Mapping[str, Any] = {
    "batch": BatchSent.from_json, "task": TaskStarted.from_json,
    "outcome": Outcomes.from_json, "batch_failed": BatchFailed.from_json,
    "batch_unsent": BatchUnsent.from_json,
    "present": Present.from_json, "step": StepRecord.from_json,
    "end": lambda data: End(str(data.get("at", ""))),
}


def _replay(records: Iterable[Mapping[str, Any]]) -> Replay:
    iterator = iter(records)
    first = next(iterator, None)
    if first is None or first.get("type") != "start":
        raise ReconcileError("the journal does not start with its plan")
    if first.get("version") != JOURNAL_VERSION:
        raise ReconcileError(f"journal version {first.get('version')!r} is not supported")
    state = Replay(header=Header.from_json(first))
    sent: dict[int, BatchSent] = {}
    tasks: dict[int, TaskStarted] = {}
    for data in iterator:
        reader = _READERS.get(str(data.get("type")))
        if reader is not None:
            _apply_record(state, reader(data), sent, tasks)
    state.open_tasks = [
        OpenTask(batch, sent[batch].space, task.task_id, sent[batch].items,
                 sent[batch].resent, task.retried)
        for batch, task in sorted(tasks.items()) if batch in sent
    ]
    return state


def _apply_record(state: Replay, record: Record, sent: dict[int, BatchSent],
                  tasks: dict[int, TaskStarted]) -> None:
    if isinstance(record, BatchSent):
        sent[record.batch] = record
        state.maybe_applied.update(record.items)
        state.next_batch = max(state.next_batch, record.batch + 1)
    elif isinstance(record, TaskStarted):
        tasks[record.batch] = record
    elif isinstance(record, Outcomes):
        state.results.update(record.items)
        state.maybe_applied.difference_update(record.items)
        if record.batch is not None:
            sent.pop(record.batch, None)
            tasks.pop(record.batch, None)
    elif isinstance(record, BatchFailed):
        # Its items stay "maybe applied"; halves of it come as batches of their own.
        sent.pop(record.batch, None)
        tasks.pop(record.batch, None)
    elif isinstance(record, BatchUnsent):
        unsent = sent.pop(record.batch, None)
        if unsent is not None:
            state.maybe_applied.difference_update(set(unsent.items) - set(unsent.resent))
    elif isinstance(record, Present):
        state.maybe_applied.difference_update(record.items)
    elif isinstance(record, StepRecord):
        state.steps[record.key] = record
    elif isinstance(record, End):
        state.finished = True


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
        """Held to write a record (and to number a batch)."""
        self._sync_lock = threading.Lock()
        """Held to fsync: one fsync at a time makes every record written before it durable."""
        self._written = 0
        self._synced = 0
        self._next_batch = next_batch

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, header: Header) -> Journal:
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
        journal.append(header)
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

    def append(self, *records: Record, durable: bool = True) -> None:
        """Write records, in one write; `durable`, return once they are on disk (else once the
        OS has them: the next durable record, or closing, puts them on disk)."""
        text = "".join((record.line() if isinstance(record, (Outcomes, Header))
                        else _dumps(record.to_json())) + "\n" for record in records)
        with self._lock:
            self._handle.write(text)
            self._handle.flush()
            self._written += 1
            mine = self._written
        if durable:
            self._sync(mine)

    def _sync(self, mine: int) -> None:
        # Group commit: the record is on disk once an fsync that began after it was written
        # has returned. Threads that wrote while another's fsync ran share the next one.
        with self._sync_lock:
            if self._synced >= mine:
                return
            with self._lock:
                upto = self._written
            os.fsync(self._handle.fileno())
            self._synced = upto

    def batch(self, space: str, items: Sequence[ItemId], *, parent: int | None = None,
              resent: Sequence[ItemId] = (), single: bool = False) -> int:
        """Record a batch about to be sent (`BatchSent`); returns its number."""
        with self._lock:
            number = self._next_batch
            self._next_batch += 1
        self.append(BatchSent(number, space, tuple(items), parent, tuple(resent), single))
        return number

    def batches(self, space: str,
                batches: Sequence[tuple[Sequence[ItemId], Sequence[ItemId]]]) -> list[int]:
        """Record batches about to be sent, each (its items, those of them resent), with one
        fsync for all of them; returns their numbers."""
        with self._lock:
            first = self._next_batch
            self._next_batch += len(batches)
        self.append(*(BatchSent(first + offset, space, tuple(items), None, tuple(resent))
                      for offset, (items, resent) in enumerate(batches)))
        return list(range(first, first + len(batches)))

    def unsent(self, batch: int) -> None:
        """Record that a batch recorded ahead of its call was not sent. It announces no call,
        so it is not waited onto disk: lost, the batch's items are re-checked, not re-sent."""
        self.append(BatchUnsent(batch), durable=False)

    def task(self, batch: int, task_id: int, *, retried: bool = False) -> None:
        """Record the task a batch became, before it is polled."""
        self.append(TaskStarted(batch, task_id, retried))

    def outcomes(self, batch: int | None, results: Mapping[ItemId, ItemOutcome]) -> None:
        """Record items settled. It announces no call, so it is not waited onto disk: should
        the machine stop before the next record is, the items are re-checked, not re-sent."""
        if results:
            self.append(Outcomes(batch, results), durable=False)

    def batch_failed(self, batch: int, failure: Failure) -> None:
        self.append(BatchFailed(batch, failure))

    def present(self, items: Iterable[ItemId]) -> None:
        listed = tuple(sorted(items))
        if listed:
            self.append(Present(listed))

    def step(self, action: Action, space: str | None, phase: Phase, *,
             task_id: int | None = None) -> None:
        """Record a maintenance step about to be sent (`SENT`) or its task (`TASK`)."""
        self.append(StepRecord(action, space, phase, task_id))

    def change(self, action: Action, space: str, phase: Phase, *, path: str | None = None,
               recycled_item_ids: Sequence[int] | None = None,
               outcome: ItemOutcome | None = None,
               outcomes: Mapping[int, ItemOutcome] | None = None) -> None:
        """Record a directory creation or a bin items' deletion about to be sent (`SENT`), or
        its outcome (`DONE`, `OUTCOMES`)."""
        ids = None if recycled_item_ids is None else tuple(recycled_item_ids)
        self.append(ChangeRecord(action, space, phase, path, ids, outcome, outcomes))

    def step_done(self, report: StepReport) -> None:
        self.append(StepRecord(report.action, report.space, Phase.DONE, report.task_id, report))

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the journal, leaving it in place for the next apply to finish."""
        with self._sync_lock, self._lock:
            if not self._handle.closed:
                if self._synced < self._written:
                    os.fsync(self._handle.fileno())
                self._handle.close()

    def finish(self, finished_at: str) -> Path:
        """Record the end, release the journal and move it to `archive/`; the archived path."""
        self.append(End(finished_at))
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
