"""One apply from start to report: `run_apply` takes what to apply (a `Source`: manifests,
planned now, or a saved plan file), a confirmation, a progress display and a stop signal, and
returns the report.

It shows the plan, checks the refusals and asks for the confirmation; then the journal (new, or
an unfinished one to finish) records the executor's work, held open for the run's life
(`holding`), and the report is built from what they recorded, written and summed up.

`prepare` decides which plan is applied: an unfinished journal of the library is finished
first, and only when it was started by the same command (the same manifests and spaces, or the
same plan file) and against the same endpoint; its recorded plan is then the one applied, with
every item re-checked, since time has passed since it was listed.

Every run's report is kept in the state folder, `reports/<run id>.json`, whatever `--report`
says, so the record of what can be restored is never lost; a plan file whose apply finished is
remembered there too (`finished/`), so that running it again sends nothing and writes nothing.

The first Ctrl-C (the stop signal) stops sending new batches and waits for those in flight; a
second abandons them (they stay unfinished in the journal; answers already back are settled
first): the report is written, and the process leaves at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TextIO

import click

from reconciler.apply.executor import Executor, Settings, bin_was_off, item_outcomes
from reconciler.apply.journal import Header, Journal, Replay, canonical_text, journal_path
from reconciler.apply.planfile import (
    check_manifests_unchanged,
    check_signature,
    narrow,
    unjustified,
)
from reconciler.apply.progress import ProgressSink
from reconciler.apply.report import (
    ApplyReport,
    ItemReport,
    Outcome,
    StepOutcome,
    render_summary,
)
from reconciler.clock import utc_now
from reconciler.collector import gc_frozen, gc_paused
from reconciler.desired import Mode
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import ReconcileError, UsageError
from reconciler.files import is_plan_file, located, read_json, read_plan_file, write_atomic
from reconciler.options import DEFAULT_STATE_DIR, MAX_BATCH_SIZE
from reconciler.plan import Plan, dumps
from reconciler.render import Format, render
from reconciler.targets import (
    Target,
    live_listing,
    live_plan,
    load_spec,
    make_target,
    plan_live,
    select_spaces,
)

EXIT_INTERRUPTED = 130
REPORTS_DIR = "reports"
FINISHED_DIR = "finished"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")


def new_run_id(started_at: str) -> str:
    """`20270101T000000Z-3f9a`: when the run started, and a few random digits."""
    stamp = re.sub(r"[-:]", "", started_at.split(".")[0].rstrip("Z")) + "Z"
    return f"{stamp}-{secrets.token_hex(2)}"


def stored_report_path(state_dir: Path, run_id: str) -> Path:
    return state_dir / REPORTS_DIR / f"{run_id}.json"


def keep_report(state_dir: Path, report: ApplyReport) -> str:
    """Write the run's report into the state folder (created when needed); the text written."""
    path = stored_report_path(state_dir, report.run_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReconcileError(f"cannot create {path.parent}: {error.strerror}") from None
    text = dumps(report.to_json())
    write_atomic(path, text)
    return text


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


def plan_digest(plan: Plan) -> str:
    """A digest of exactly what would be applied: the plan with its fingerprints."""
    return WrittenPlan.of(plan).digest


@dataclass(frozen=True, slots=True, eq=False)
class WrittenPlan:
    """A plan, its JSON with fingerprints, that JSON as canonical text and the text's digest:
    what `plan_digest` is of and the journal's first record holds, written once."""

    plan: Plan
    json: dict[str, Any] = field(repr=False)
    text: str = field(repr=False)
    digest: str

    @classmethod
    def of(cls, plan: Plan) -> WrittenPlan:
        plan_json = plan.to_json(fingerprints=True)
        text = canonical_text(plan_json)
        return cls(plan, plan_json, text, _text_digest(text))

    def of_same(self, plan: Plan) -> WrittenPlan:
        """`plan` written: this, when it is the same plan (equal values write equal JSON)."""
        return self if plan is self.plan or plan == self.plan else WrittenPlan.of(plan)


def _text_digest(text: str) -> str:
    """The digest of a plan's JSON written as compact canonical JSON (which the C encoder
    writes; an indented dump is ten times slower)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class SourceKind(StrEnum):
    """Whether an apply's plan is made from manifests now, or read from a saved plan file."""

    MANIFESTS = "manifests"
    PLAN_FILE = "planfile"


@dataclass(frozen=True, slots=True)
class Source:
    """What to apply: manifests, planned now, or one plan file saved by `plan --out`, applied
    exactly (checked against the manifests it was made from, `manifests` or where it recorded
    them). `spaces` narrows either to those spaces."""

    kind: SourceKind
    paths: tuple[str, ...]
    spaces: tuple[str, ...] = ()
    manifests: tuple[str, ...] = ()

    @classmethod
    def of(cls, paths: Sequence[str], *, spaces: Sequence[str] = (),
           manifests: Sequence[str] = (), cwd: Path = Path()) -> Source:
        """A plan file when `paths` is one saved plan, else manifests (`cwd`: where relative
        paths are)."""
        if len(paths) == 1 and is_plan_file(located(paths[0], cwd)):
            return cls(SourceKind.PLAN_FILE, tuple(paths), tuple(spaces), tuple(manifests))
        if manifests:
            raise UsageError("--manifests is for applying a plan file; the manifests to apply "
                             "are given as PATH")
        return cls(SourceKind.MANIFESTS, tuple(paths), tuple(spaces))


@dataclass(frozen=True, slots=True)
class Origin:
    """What an apply was started from, so that only the same command finishes it."""

    kind: SourceKind
    digest: str
    spaces: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "digest": self.digest, "spaces": sorted(self.spaces)}


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
    source: Origin,
    make_plan: Callable[[], Plan],
    *,
    started_at: str,
    written: WrittenPlan | None = None,
) -> Prepared:
    """The plan to apply: an unfinished one from the journal, else `make_plan()`'s.

    `written` is a plan written already (a plan file's): when `make_plan()` gives that same
    plan (the library is as it was planned), its JSON and digest are not written again.

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
    # Written once: the digest and the journal share it.
    made = WrittenPlan.of(plan) if written is None else written.of_same(plan)
    header = Header(library=library, endpoint=endpoint, source=source.to_json(),
                    plan_digest=made.digest, started_at=started_at, plan=made.json,
                    plan_text=made.text)
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


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How to apply: where (`endpoint` overrides the manifests' and `SMH_ENDPOINT`), the state
    folder and `--report` file (relative to `cwd`), `force`, batches, colour and output."""

    state_dir: Path = Path(DEFAULT_STATE_DIR)
    report_file: str | None = None
    endpoint: str | None = None
    force: bool = False
    batch_size: int = MAX_BATCH_SIZE
    concurrency: int = 4
    color: bool = False
    cwd: Path = Path()
    out: TextIO | None = field(default=None, compare=False)
    """Where the plan, the summary and the notes are written (None: standard output)."""

    @property
    def state(self) -> Path:
        return Path(located(self.state_dir, self.cwd))


@dataclass(frozen=True, slots=True)
class _Start:
    """Where to apply, what the apply is started from, how to get the plan, and whether its
    items must be re-checked (a saved plan was listed some time ago)."""

    target: Target
    origin: Origin
    make_plan: Callable[[], Plan]
    saved: bool
    justify: Callable[[], None] = lambda: None
    """Refuses a saved plan asking for changes its manifests do not give; `make_plan` does
    it too, so this is for a resumed apply, which does not plan again."""
    written: WrittenPlan | None = None
    """A saved plan, written for its digest."""


def run_apply(
    source: Source,
    options: ApplyOptions,
    *,
    env: Mapping[str, str],
    confirm: Callable[[str], None],
    progress: ProgressSink,
    stop: threading.Event,
) -> ApplyReport | None:
    """Apply `source` as `options` say: the report of the run (or of the run that applied
    this plan file to the end before), or None when there is nothing to apply.

    `confirm` is asked the question and raises to refuse; `stop`, once set, ends the run
    between batches (the first Ctrl-C sets it)."""
    with gc_paused():  # a plan file read: many small acyclic objects
        start = _start(source, options, env)
    unfinished = journal_path(options.state, start.target.spec.library).exists()
    if start.saved and not unfinished:
        finished = finished_run(options.state, start.origin.digest)
        if finished is not None:
            _say_already_finished(finished, options.out)
            return finished
    if not unfinished:
        refuse_existing_report(options.report_file, cwd=options.cwd)
    started_at = utc_now()
    run_id = new_run_id(started_at)
    with gc_paused():  # the plan made (or read from the journal) and digested
        prepared = prepare(options.state, start.target.spec.library, start.target.endpoint,
                           start.origin, start.make_plan, started_at=started_at,
                           written=start.written)
    with holding(prepared):
        if prepared.resuming:
            start.justify()
        if not _approved(prepared, start.target, options, confirm):
            return None
        journal = begin(prepared)
        return _execute(prepared, journal, start, options, progress=progress, stop=stop,
                        run_id=run_id)


def exit_code(report: ApplyReport | None) -> int:
    """0 when every planned item was carried out (or there was nothing to do), 130 when the
    run was interrupted, else 1."""
    if report is None:
        return 0
    if report.interrupted:
        return EXIT_INTERRUPTED
    return 0 if report.complete else 1


@contextmanager
def holding(prepared: Prepared) -> Iterator[Prepared]:
    """The journal's life: whatever happens in the run, it is let go of at the end (left in
    place, for the next apply to finish, unless the run finished it)."""
    try:
        yield prepared
    finally:
        release(prepared)


def _start(source: Source, options: ApplyOptions, env: Mapping[str, str]) -> _Start:
    if source.kind is SourceKind.PLAN_FILE:
        return _planfile_start(source, options, env)
    state, spec = load_spec(source.paths, spaces=source.spaces, cwd=options.cwd)
    target = make_target(spec, env, endpoint=options.endpoint)
    return _Start(target, Origin(SourceKind.MANIFESTS, state.digest, source.spaces),
                  lambda: live_plan(target), False)


def _planfile_start(source: Source, options: ApplyOptions, env: Mapping[str, str]) -> _Start:
    """A saved plan, checked against the manifests it was made from (`apply.planfile`)."""
    saved = read_plan_file(located(source.paths[0], options.cwd))
    check_signature(saved, env)
    spec = check_manifests_unchanged(saved, source.manifests or None, base=options.cwd)
    plan = saved.plan
    spaces = source.spaces
    if spaces:
        known = {report.space for report in plan.spaces}
        unknown = sorted(set(spaces) - known)
        if unknown:
            raise UsageError(f"--space {', '.join(unknown)}: not in the plan file "
                             f"(it has: {', '.join(sorted(known))})")
        plan = plan.select_spaces(spaces)
        spec = select_spaces(spec, spaces)
    endpoint = options.endpoint
    where = resolve_endpoint(spec, env, endpoint)
    if where != saved.endpoint.rstrip("/") and endpoint is None:
        raise ReconcileError(
            f"refusing to apply: the plan was made against {saved.endpoint}, and this apply "
            f"would write to {where}; pass --endpoint {where} to apply it there")
    target = make_target(spec, env, endpoint=endpoint)

    def planned_again() -> Plan:
        # Nothing is sent but listings until every change of the file is justified; the
        # fresh plan justifies each delete it makes too, without asking the rules again.
        listing = live_listing(target)
        fresh = plan_live(spec, listing)
        _refuse_unjustified(unjustified(spec, plan, fresh))
        return narrow(plan, fresh, listing, spec)

    written = WrittenPlan.of(plan)
    return _Start(target, Origin(SourceKind.PLAN_FILE, written.digest, spaces),
                  planned_again, True, lambda: _refuse_unjustified(unjustified(spec, plan)),
                  written)


def _refuse_unjustified(problems: list[str]) -> None:
    if problems:
        raise ReconcileError(
            "refusing to apply: the plan file asks for changes its manifests do not give "
            "(it was edited, or is not the plan of these manifests):\n  " + "\n  ".join(problems))


def refuse_existing_report(report_file: str | None, *, resuming: str | None = None,
                           cwd: Path = Path()) -> None:
    """A report is the record of what can be restored: never written over.

    The one exception is the report of an interrupted run of the apply being finished now
    (`resuming`: its plan digest): the finishing run's report holds all it recorded, and more.
    """
    if report_file is None:
        return
    path = Path(located(report_file, cwd))
    if not path.exists() or (path.is_file() and not path.stat().st_size):
        return
    if resuming is not None:
        try:
            earlier = ApplyReport.from_json(read_json(path, "apply report"))
        except ReconcileError:
            earlier = None
        if earlier is not None and earlier.interrupted and earlier.plan_digest == resuming:
            return
    raise UsageError(
        f"--report {report_file} already holds a report; a report is never overwritten (it "
        "is the record undo restores from): name a new file"
    )


def _approved(prepared: Prepared, target: Target, options: ApplyOptions,
              confirm: Callable[[str], None]) -> bool:
    """Show the plan, check its refusals and ask: whether there is anything to apply."""
    plan = prepared.plan
    if prepared.resuming:
        refuse_existing_report(options.report_file, cwd=options.cwd,
                               resuming=prepared.header.plan_digest)
        click.echo(_resume_note(prepared), file=options.out)
    with gc_paused():
        shown = render(plan, Format.TEXT, color=options.color, force=options.force)
    click.echo(shown, nl=False, file=options.out)
    refusals = plan.refusals(force=options.force)
    if refusals:
        raise ReconcileError("\n".join(f"Error: refusing to apply: {r}" for r in refusals))
    if not plan.changes:
        click.echo("\nNo changes: nothing to apply.", file=options.out)
        return False
    confirm(f"Do you want to apply this plan to library {plan.library} at "
            f"{target.endpoint}?")
    return True


def _execute(prepared: Prepared, journal: Journal, start: _Start, options: ApplyOptions, *,
             progress: ProgressSink, stop: threading.Event, run_id: str) -> ApplyReport:
    """Carry the approved plan out, then write the report (first: it is the record of what
    was deleted, whatever happens next) and finish the journal unless interrupted."""
    settings = Settings(batch_size=options.batch_size, concurrency=options.concurrency,
                        recheck=start.saved or prepared.resuming)
    with start.target.writer() as writer, _interruptible(stop):
        executor = Executor(prepared.plan, writer, journal, settings=settings,
                            progress=progress, stop=stop)
        try:
            # The plans stay alive to the end: no full collection rescans them while the
            # batches' answers come and go.
            with gc_frozen():
                executor.run(prepared.replay)
        except KeyboardInterrupt:
            _abandon(prepared, executor, options, run_id)
        except ReconcileError:
            # The run ended early (credentials refused, the server gone): the report records
            # what was done, and the journal stays for the same command to finish the job.
            journal.close()
            _finish(build_report(prepared, executor, finished_at=utc_now(), run_id=run_id),
                    options)
            raise
    with gc_paused():  # a report of every item
        report = build_report(prepared, executor, finished_at=utc_now(), run_id=run_id)
        _finish(report, options)
    if report.interrupted:
        return report
    journal.finish(report.finished_at)
    source_record = prepared.header.source
    if source_record.get("kind") == SourceKind.PLAN_FILE.value:
        mark_finished(options.state, str(source_record.get("digest")), report)
    return report


@contextmanager
def _interruptible(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C: stop sending; second: stop waiting (raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo("\nInterrupted: sending no new batches, waiting for those in flight "
                   "(Ctrl-C again to abandon them).", err=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _finish(report: ApplyReport, options: ApplyOptions) -> None:
    """Keep the report in the state folder, write it to `--report`, and sum it up."""
    kept_text = keep_report(options.state, report)
    report_file = options.report_file
    if report_file is not None:  # the same text: a large report is written out once
        write_atomic(located(report_file, options.cwd), kept_text)
    click.echo("\n" + render_summary(report), nl=False, file=options.out)
    if report_file is not None:
        click.echo(f"Report written to {report_file}.", file=options.out)
    kept = stored_report_path(options.state_dir, report.run_id)
    click.echo(f"Run {report.run_id}: its report is kept in {kept} "
               f"(`smh-reconcile undo {report.run_id}` restores what it recycled).",
               file=options.out)


def _say_already_finished(report: ApplyReport, out: TextIO | None) -> None:
    """A plan file applied to the end before: say so, send nothing, write no report."""
    click.echo(
        f"This plan was already applied to library {report.library}: run {report.run_id}, "
        f"finished {report.finished_at}. Nothing was sent and no report was written; plan "
        "again to see the library as it is now.", file=out
    )
    for line in report.advice():
        click.echo(f"That run: {line}", file=out)


def _resume_note(prepared: Prepared) -> str:
    total = len(prepared.plan.deletes)
    return (
        f"Finishing the unfinished apply recorded in {prepared.journal_file} (started "
        f"{prepared.header.started_at}): {prepared.settled()} of {total} item(s) "
        "already done; the rest are re-checked before anything is sent.\n"
    )


def _abandon(prepared: Prepared, executor: Executor, options: ApplyOptions,
             run_id: str) -> NoReturn:
    """A second Ctrl-C: report what is known and leave at once; calls still in flight stay
    unfinished in the journal for the next apply to settle."""
    report = build_report(prepared, executor, finished_at=utc_now(), run_id=run_id)
    if prepared.journal is not None:
        prepared.journal.close()
    _finish(report, options)
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads may be blocked in a request; only leaving the process ends them.
    os._exit(EXIT_INTERRUPTED)
