"""One apply from start to report: the journal (new, or an unfinished one to finish), the
executor, and the report built from what they recorded.

`prepare` decides which plan is applied: an unfinished journal of the library is finished
first, and only when it was started by the same command (the same manifests and spaces, or the
same plan file) and against the same endpoint; its recorded plan is then the one applied, with
every item re-checked, since time has passed since it was listed.

Every run's report is kept in the state folder, `reports/<run id>.json`, whatever `--report`
says, so the record of what can be restored is never lost; a plan file whose apply finished is
remembered there too (`finished/`), so that running it again sends nothing and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.apply.executor import Executor, bin_was_off, item_outcomes
from reconciler.apply.journal import Header, Journal, Replay, journal_path
from reconciler.apply.report import ApplyReport, ItemReport, Outcome, StepOutcome
from reconciler.auth import Credentials
from reconciler.desired import LibrarySpec, Mode
from reconciler.errors import ReconcileError
from reconciler.pipeline import Target, read_json, resolve_endpoint, write_atomic
from reconciler.plan import Plan, dumps

REPORTS_DIR = "reports"
FINISHED_DIR = "finished"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")


def new_run_id(started_at: str) -> str:
    """`20270101T000000Z-3f9a`: when the run started, and a few random digits."""
    stamp = re.sub(r"[-:]", "", started_at.split(".")[0].rstrip("Z")) + "Z"
    return f"{stamp}-{secrets.token_hex(2)}"


def stored_report_path(state_dir: Path, run_id: str) -> Path:
    return state_dir / REPORTS_DIR / f"{run_id}.json"


def keep_report(state_dir: Path, report: ApplyReport) -> Path:
    """Write the run's report into the state folder (created when needed); its path."""
    path = stored_report_path(state_dir, report.run_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReconcileError(f"cannot create {path.parent}: {error.strerror}") from None
    write_atomic(path, dumps(report.to_json()))
    return path


def _finished_path(state_dir: Path, digest: str) -> Path:
    return state_dir / FINISHED_DIR / f"{digest.removeprefix('sha256:')}.json"


def mark_finished(state_dir: Path, digest: str, report: ApplyReport) -> None:
    """Remember that the plan file with this digest was applied to the end, by which run."""
    path = _finished_path(state_dir, digest)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReconcileError(f"cannot create {path.parent}: {error.strerror}") from None
    write_atomic(path, json.dumps({"run_id": report.run_id,
                                   "finished_at": report.finished_at}) + "\n")


def finished_run(state_dir: Path, digest: str) -> ApplyReport | None:
    """The report of the run that finished applying the plan file with this digest."""
    path = _finished_path(state_dir, digest)
    if not path.exists():
        return None
    record = read_json(path, "record of a finished apply")
    return ApplyReport.from_json(read_json(
        stored_report_path(state_dir, str(record.get("run_id"))), "apply report"))


def recorded_target(library: str, endpoint: str, override: str | None,
                    env: Mapping[str, str]) -> Target:
    """Where to apply a saved plan, or undo a report: `--endpoint`, else `SMH_ENDPOINT`, else
    the endpoint the document recorded (else the library's default)."""
    spec = LibrarySpec(library=library, spaces=(), endpoint=endpoint or None)
    return Target(spec=spec, endpoint=resolve_endpoint(spec, env, override),
                  credentials=Credentials.from_env(env))


def plan_digest(plan: Plan) -> str:
    """A digest of exactly what would be applied: the plan with its fingerprints."""
    return _digest(plan.to_json(fingerprints=True))


def _digest(plan_json: Mapping[str, Any]) -> str:
    """The digest of a plan's JSON, as compact canonical JSON (which the C encoder writes; an
    indented dump is ten times slower)."""
    text = json.dumps(plan_json, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Source:
    """What an apply was started from, so that only the same command finishes it."""

    kind: str  # "manifests" or "planfile"
    digest: str
    spaces: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "digest": self.digest, "spaces": sorted(self.spaces)}


@dataclass(slots=True)
class Prepared:
    """The plan to apply and the open journal recording it (`replay` set when resuming)."""

    plan: Plan
    journal_file: Path
    header: Header
    replay: Replay | None = None
    journal: Journal | None = field(default=None, repr=False)

    @property
    def resuming(self) -> bool:
        return self.replay is not None

    def settled(self) -> int:
        if self.replay is None:
            return 0
        return sum(1 for result in self.replay.results.values() if result.outcome.done)


def prepare(
    state_dir: Path,
    library: str,
    endpoint: str,
    source: Source,
    make_plan: Callable[[], Plan],
    *,
    started_at: str,
) -> Prepared:
    """The plan to apply: an unfinished one from the journal, else `make_plan()`'s.

    A resumed journal is held (locked) from here on; a new one is only created by `begin`,
    once the plan was approved.
    """
    path = journal_path(state_dir, library)
    if path.exists():
        journal, replay = Journal.resume(path)
        header = replay.header
        if header.source != source.to_json() or header.endpoint != endpoint:
            journal.close()
            raise ReconcileError(
                f"an unfinished apply of library {library} (started {header.started_at} "
                f"from {_describe(header)}) is recorded in {path}; run that same command "
                "again to finish it, or move the journal away to start over (it records what "
                "that apply deleted)"
            )
        try:
            plan = Plan.from_json(header.plan)
        except (KeyError, TypeError) as error:
            journal.close()
            raise ReconcileError(f"{path}: the journal's plan is unreadable ({error})") from None
        return Prepared(plan, path, header, replay, journal)
    plan = make_plan()
    plan_json = plan.to_json(fingerprints=True)  # once: the digest and the journal share it
    header = Header(library=library, endpoint=endpoint, source=source.to_json(),
                    plan_digest=_digest(plan_json), started_at=started_at, plan=plan_json)
    return Prepared(plan, path, header)


def _describe(header: Header) -> str:
    kind = "a plan file" if header.source.get("kind") == "planfile" else "manifests"
    return f"{kind} at {header.endpoint}"


def begin(prepared: Prepared) -> Journal:
    """The journal to record into: the resumed one, or a new one holding the plan."""
    if prepared.journal is None:
        prepared.journal = Journal.create(prepared.journal_file, prepared.header)
    return prepared.journal


def release(prepared: Prepared) -> None:
    """Let go of a resumed journal that will not be applied now (it stays for next time)."""
    if prepared.journal is not None:
        prepared.journal.close()


def build_report(prepared: Prepared, executor: Executor, *, finished_at: str,
                 run_id: str = "") -> ApplyReport:
    header = prepared.header
    items = tuple(
        ItemReport(delete.space, delete.path, delete.type,
                   Mode.PERMANENT if bin_was_off(result) else delete.final_mode, result)
        for delete, result in item_outcomes(prepared.plan.deletes, executor.results,
                                            executor.unanswered)
    ) + tuple(executor.other_items)
    steps = tuple(executor.steps)
    interrupted = any(
        item.outcome in (Outcome.NOT_ATTEMPTED, Outcome.UNANSWERED) for item in items
    ) or any(
        step.outcome is StepOutcome.NOT_ATTEMPTED for step in steps
    )
    return ApplyReport(
        library=header.library,
        endpoint=header.endpoint,
        plan_digest=header.plan_digest,
        started_at=header.started_at,
        finished_at=finished_at,
        items=items,
        maintenance=steps,
        interrupted=interrupted,
        run_id=run_id,
        user_ids={
            space.space: space.user_id for space in prepared.plan.spaces
            if space.user_id is not None
        },
    )
