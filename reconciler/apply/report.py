"""What an apply did: every item's outcome, the maintenance steps, totals; JSON and text.

The JSON report (`apply --report FILE`) is the record `undo` restores from: every recycled
item carries its `recycled_item_id`, or `recycled_item_id_unknown` when the server's answer
that recycled it was lost (a retried call, or a run that was killed) and undo has to find it
in the recycle bin by its original path. A report never holds a credential.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.desired import PERMANENT, Mode
from reconciler.errors import ReconcileError
from reconciler.listing import DIR, EntryType
from reconciler.plan import Action
from reconciler.render.common import visible
from reconciler.retry import SmhRequestError

REPORT_KIND = "smh-reconcile-apply-report"
REPORT_VERSION = 1
RECYCLE_BIN_OFF = "RecycleBinNotEnabled"
"""The code of an item a recycle delete removed permanently (the server answered 204, without
a `recycledItemId`: the space has no recycle bin after all), and of the space's recycle
deletes apply then did not send."""


class Outcome(StrEnum):
    RECYCLED = "recycled"
    DELETED = "deleted"
    CREATED = "created"
    ALREADY_GONE = "already_gone"
    FAILED = "failed"
    STALE = "stale"
    UNANSWERED = "unanswered"
    NOT_ATTEMPTED = "not_attempted"

    @property
    def done(self) -> bool:
        """The item is no longer in the library, as the plan wanted."""
        return self in (Outcome.RECYCLED, Outcome.DELETED, Outcome.ALREADY_GONE, Outcome.CREATED)


@dataclass(frozen=True, slots=True)
class Failure:
    """What an answer said: its HTTP status, error code and message (each None when
    unknown), or what the error that ended an attempt said. Every report holds one."""

    status: int | None = None
    code: str | None = None
    message: str | None = None

    @classmethod
    def of(cls, error: ReconcileError, *, whole: bool = False) -> Failure:
        """What `error` says; its message is the server's own (`detail`) unless `whole`
        asks for the error's full line (the call and what came back)."""
        if isinstance(error, SmhRequestError):
            message = error.message if whole else (error.detail or error.message)
            return cls(error.status, error.code, message)
        return cls(message=error.message)

    @property
    def refused(self) -> bool:
        """A refusal for the credentials (401, 403): no smaller call escapes it."""
        return self.status in AUTH_STATUSES

    def describe(self) -> str:
        return describe_error(self.status, self.code, self.message)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Failure:
        status = data.get("status")
        return cls(None if status is None else int(status), data.get("code"),
                   data.get("message"))


AUTH_STATUSES = frozenset({401, 403})
NO_FAILURE = Failure()


class Answered:
    """A report's row that holds what an answer said (`answer`), read through its parts."""

    __slots__ = ()
    answer: Failure

    @property
    def status(self) -> int | None:
        return self.answer.status

    @property
    def code(self) -> str | None:
        return self.answer.code

    @property
    def message(self) -> str | None:
        return self.answer.message


@dataclass(frozen=True, slots=True)
class ItemOutcome(Answered):
    """What became of one delete item.

    `answer` is the server's per-item answer (or what the error that ended the attempt
    said); a recycled item has `recycled_item_id`, unless it is unknown.
    """

    outcome: Outcome
    answer: Failure = NO_FAILURE
    recycled_item_id: int | None = None
    recycled_item_id_unknown: bool = False

    def to_json(self) -> dict[str, Any]:
        # `_value_`, the value `.value` reads through a descriptor: a report of a million
        # items reads it millions of times.
        answer = self.answer
        data: dict[str, Any] = {"outcome": self.outcome._value_, "status": answer.status,
                                "code": answer.code, "message": answer.message}
        if self.outcome is Outcome.RECYCLED:
            data["recycled_item_id"] = self.recycled_item_id
            if self.recycled_item_id_unknown:
                data["recycled_item_id_unknown"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemOutcome:
        recycled = data.get("recycled_item_id")
        return cls(
            outcome=Outcome(data["outcome"]),
            answer=Failure.from_json(data),
            recycled_item_id=None if recycled is None else int(recycled),
            recycled_item_id_unknown=bool(data.get("recycled_item_id_unknown", False)),
        )


ITEM_ACTIONS = (Action.DELETE, Action.CREATE_DIRECTORY, Action.DELETE_RECYCLED)


@dataclass(frozen=True, slots=True)
class ItemReport:
    """One item of the plan and its outcome; `mode` is the mode the server applied.

    `action` is `delete` for a delete item, `create_directory` for a directory created
    (`create_missing`), `delete_recycled` for a recycle-bin item deleted for good, whose
    `path` is its original path and `bin_item_id` its recycledItemId.
    """

    space: str
    path: str
    type: EntryType
    mode: Mode | None
    """None for a directory created."""
    result: ItemOutcome
    action: Action = Action.DELETE
    bin_item_id: int | None = None

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome

    @property
    def needs_attention(self) -> bool:
        """Not carried out as planned: not done, or deleted permanently instead of recycled."""
        return self.outcome in _ATTENTION or self.result.code == RECYCLE_BIN_OFF

    def to_json(self) -> dict[str, Any]:
        data = self.result.to_json()
        data["space"] = self.space
        data["path"] = self.path
        data["type"] = self.type._value_
        data["mode"] = None if self.mode is None else self.mode._value_
        if self.action is not Action.DELETE:
            data["action"] = self.action._value_
        if self.bin_item_id is not None:
            data["bin_item_id"] = self.bin_item_id
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemReport:
        action = str(data.get("action", "delete"))
        if action not in ITEM_ACTIONS:
            raise ValueError(f"unknown item action {action!r}")
        bin_item = data.get("bin_item_id")
        return cls(
            space=str(data["space"]),
            path=str(data["path"]),
            type=EntryType(data["type"]),
            mode=None if data.get("mode") is None else Mode(data["mode"]),
            result=ItemOutcome.from_json(data),
            action=Action(action),
            bin_item_id=None if bin_item is None else int(bin_item),
        )


class StepOutcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    NOT_ATTEMPTED = "not_attempted"


@dataclass(frozen=True, slots=True)
class StepReport(Answered):
    """One maintenance step: emptying a space's recycle bin, or clearing history."""

    action: Action
    space: str | None
    outcome: StepOutcome
    answer: Failure = NO_FAILURE
    task_id: int | None = None

    @property
    def title(self) -> str:
        if self.space is None:
            return self.action.replace("_", " ")
        return f"{self.action.replace('_', ' ')} (space {self.space})"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "space": self.space,
            "outcome": self.outcome.value,
            **self.answer.to_json(),
            "task_id": self.task_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepReport:
        task_id = data.get("task_id")
        return cls(
            action=Action(data["action"]),
            space=data.get("space"),
            outcome=StepOutcome(data["outcome"]),
            answer=Failure.from_json(data),
            task_id=None if task_id is None else int(task_id),
        )


@dataclass(frozen=True, slots=True)
class ApplyReport:
    library: str
    endpoint: str
    plan_digest: str
    started_at: str
    finished_at: str
    items: tuple[ItemReport, ...]
    maintenance: tuple[StepReport, ...] = ()
    interrupted: bool = False
    user_ids: Mapping[str, str] = field(default_factory=dict)
    """The `user_id` each space was applied as, for spaces the manifest gives one."""
    run_id: str = ""
    """The run that wrote this report; `undo RUN_ID` finds it in the state folder."""

    def totals(self) -> dict[str, int]:
        counts = Counter(item.outcome for item in self.items)
        totals = {outcome.value: counts.get(outcome, 0) for outcome in Outcome}
        totals["items"] = len(self.items)
        totals["maintenance_failed"] = sum(
            1 for step in self.maintenance if step.outcome is StepOutcome.FAILED
        )
        return totals

    @property
    def failed(self) -> bool:
        """Whether apply must exit 1: an item or a maintenance step failed, or an item meant
        for the recycle bin was deleted permanently (the space had no bin after all)."""
        return any(item.outcome is Outcome.FAILED or item.result.code == RECYCLE_BIN_OFF
                   for item in self.items) or any(
            step.outcome is StepOutcome.FAILED for step in self.maintenance
        )

    @property
    def complete(self) -> bool:
        """Whether every planned item and step was carried out (else apply exits 1)."""
        return not any(item.needs_attention for item in self.items) and all(
            step.outcome is StepOutcome.DONE for step in self.maintenance
        )

    def advice(self) -> list[str]:
        """What to do about what was not carried out, one line per kind of outcome."""
        totals = self.totals()
        lines = []
        if self.interrupted:
            left = totals["unanswered"] + totals["not_attempted"] + sum(
                1 for step in self.maintenance if step.outcome is StepOutcome.NOT_ATTEMPTED)
            lines.append(f"{_items(left)} not finished: run the same command again to finish.")
        bin_off = sum(1 for item in self.items
                      if item.outcome is Outcome.DELETED and item.result.code == RECYCLE_BIN_OFF)
        if bin_off:
            lines.append(f"{_items(bin_off)} meant for the recycle bin deleted permanently: the "
                         "space has no recycle bin; plan again.")
        if totals["stale"]:
            lines.append(f"{_items(totals['stale'])} changed since the plan: plan again.")
        if totals["failed"] or totals["maintenance_failed"]:
            what = _items(totals["failed"]) if totals["failed"] else ""
            if totals["maintenance_failed"]:
                steps = f"{totals['maintenance_failed']} maintenance step(s)"
                what = f"{what} and {steps}" if what else steps
            where = "every error is in the report" if self.interrupted else (
                "see above; every item's error is in the report")
            lines.append(f"{what} failed ({where}): fix the cause, then plan again.")
        if not self.interrupted and (totals["unanswered"] or totals["not_attempted"]):
            lines.append(f"{_items(totals['unanswered'] + totals['not_attempted'])} not "
                         "carried out: run the same command again to finish.")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": REPORT_KIND,
            "format_version": REPORT_VERSION,
            "library": self.library,
            "endpoint": self.endpoint,
            "plan_digest": self.plan_digest,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "interrupted": self.interrupted,
            "user_ids": dict(sorted(self.user_ids.items())),
            "run_id": self.run_id,
            "items": [item.to_json() for item in self.items],
            "maintenance": [step.to_json() for step in self.maintenance],
            "totals": self.totals(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApplyReport:
        if not isinstance(data, Mapping) or data.get("kind") != REPORT_KIND:
            raise ReconcileError("not an apply report (write one with `apply --report FILE`)")
        if data.get("format_version") != REPORT_VERSION:
            raise ReconcileError(
                f"apply report format {data.get('format_version')!r} is not supported "
                f"(this version reads format {REPORT_VERSION})"
            )
        try:
            return cls(
                library=str(data["library"]),
                endpoint=str(data["endpoint"]),
                plan_digest=str(data["plan_digest"]),
                started_at=str(data["started_at"]),
                finished_at=str(data["finished_at"]),
                items=tuple(ItemReport.from_json(item) for item in data["items"]),
                maintenance=tuple(StepReport.from_json(s) for s in data.get("maintenance", ())),
                interrupted=bool(data.get("interrupted", False)),
                user_ids={str(k): str(v) for k, v in (data.get("user_ids") or {}).items()},
                run_id=str(data.get("run_id") or ""),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ReconcileError(f"not a valid apply report: {error!r}") from None


_ATTENTION = (Outcome.FAILED, Outcome.STALE, Outcome.UNANSWERED, Outcome.NOT_ATTEMPTED)


NO_PERMISSION = "NoPermission"
STEP_GRANTS: Mapping[Action, str] = {Action.EMPTY_RECYCLE_BIN: "delete_recycled",
                                     Action.CLEAR_HISTORY: "admin"}


def needed_grant(item: ItemReport) -> str:
    """The grant a token needs to delete this item in its mode (SMH's `grant` names), or to
    create it, or to delete it from the recycle bin."""
    if item.action is not Action.DELETE:
        return item.action.value
    kind = "directory" if item.type is DIR else "file"
    return f"delete_{kind}" + ("_permanent" if item.mode is PERMANENT else "")


def grant_advice(grants: Iterable[str], refused: int) -> str:
    """One line for everything a missing grant refused."""
    names = ", ".join(sorted(set(grants)))
    return (f"{_items(refused)} refused for a missing grant (403 {NO_PERMISSION}): the token "
            f"needs {names}; export an SMH_ACCESS_TOKEN that has them, or set "
            "SMH_LIBRARY_SECRET so that tokens are minted with the grants each call needs.")


def _items(number: int) -> str:
    return f"{number} item" if number == 1 else f"{number} items"


# An apply of thousands of items that all fail the same way needs a handful of examples, not
# thousands of lines: the report holds every item.
SHOWN_ITEMS = 20


def describe_error(status: int | None, code: str | None, message: str | None) -> str:
    """`HTTP 403 NoPermission: message`, leaving out what is unknown."""
    parts = []
    if status is not None:
        parts.append(f"HTTP {status}")
    if code:
        parts.append(code)
    head = " ".join(parts)
    if message:
        return f"{head}: {message}" if head else message
    return head or "no detail"


def _count_line(totals: Mapping[str, int], names: Iterable[Outcome]) -> str:
    return ", ".join(
        f"{totals[outcome.value]} {outcome.value.replace('_', ' ')}"
        for outcome in names
        if totals[outcome.value] or outcome in (Outcome.RECYCLED, Outcome.DELETED)
    )


def render_summary(report: ApplyReport) -> str:
    """The text summary apply prints: totals, then items and steps that need attention (only
    totals when interrupted: the report has every item), then what to do about them."""
    totals = report.totals()
    head = "Apply interrupted" if report.interrupted else "Apply finished"
    lines = [
        f"{head} for library {report.library}: {totals['items']} item(s): "
        + _count_line(totals, Outcome)
        + "."
    ]
    if not report.interrupted:
        lines += _item_lines(report)
    unknown = sum(1 for item in report.items if item.result.recycled_item_id_unknown)
    if unknown:
        lines.append(
            f"  {unknown} recycled item(s) have no recorded recycle-bin id; undo finds them "
            "by their original path"
        )
    lines += _step_lines(report)
    refused = [needed_grant(item) for item in report.items
               if item.outcome is Outcome.FAILED and item.result.code == NO_PERMISSION]
    refused += [STEP_GRANTS.get(step.action, "admin") for step in report.maintenance
                if step.outcome is StepOutcome.FAILED and step.code == NO_PERMISSION]
    if refused:
        lines.append(grant_advice(refused, len(refused)))
    lines.extend(report.advice())
    return "\n".join(lines) + "\n"


def _where(item: ItemReport) -> str:
    return visible(f"{item.space}:{item.path}" if item.space != "-" else item.path)


def _capped(lines: list[str], total: int) -> list[str]:
    if total > SHOWN_ITEMS:
        lines.append(f"  ... and {total - SHOWN_ITEMS} more (every item is in the report)")
    return lines


def _item_lines(report: ApplyReport) -> list[str]:
    """Items other than deletes that went well, then every item that needs attention."""
    done_other = [item for item in report.items
                  if item.action is not Action.DELETE and not item.needs_attention]
    lines = []
    for item in done_other[:SHOWN_ITEMS]:
        what = ("created" if item.action is Action.CREATE_DIRECTORY
                else f"deleted from the recycle bin (#{item.bin_item_id})")
        lines.append(f"  {item.outcome.value:<13} {_where(item)}  ({what})")
    _capped(lines, len(done_other))
    attention = [item for item in report.items if item.needs_attention]
    for item in attention[:SHOWN_ITEMS]:
        detail = item.result.answer.describe()
        if item.result.code == NO_PERMISSION:
            detail += f"; needs grant {needed_grant(item)}"
        lines.append(f"  {item.outcome.value:<13} {_where(item)}  ({visible(detail)})")
    return _capped(lines, len(attention))


def _step_lines(report: ApplyReport) -> list[str]:
    lines = []
    for step in report.maintenance:
        line = f"Maintenance: {step.title}: {step.outcome.value.replace('_', ' ')}"
        if step.outcome is StepOutcome.FAILED:
            detail = step.answer.describe()
            if step.code == NO_PERMISSION:
                detail += f"; needs grant {STEP_GRANTS.get(step.action, 'admin')}"
            line += f" ({visible(detail)})"
        lines.append(line)
    return lines
