"""`smh-reconcile apply`: carry a plan out, from manifests (planned live) or a saved plan file.

The command shows the plan, checks the refusals, asks for `yes` on a terminal, naming the
library and endpoint (and refuses to run unattended without `--auto-approve`), then hands the
plan to the executor with a journal, and ends with the report: a text summary always, the
JSON report kept in the state folder under the run id, and written to `--report FILE` too
(never over an existing report). An unfinished apply of the same library, killed or
interrupted, is finished first; a plan file applied to the end before is not applied again.
It exits 1 when any planned item was not carried out.

Ctrl-C stops sending new batches and waits for those in flight; a second Ctrl-C abandons
them (they stay unfinished in the journal). Either way the report is written and the exit
code is 130.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

from reconciler.apply.executor import MAX_BATCH_SIZE, Executor, Settings
from reconciler.apply.journal import DEFAULT_STATE_DIR, journal_path
from reconciler.apply.planfile import (
    check_manifests_unchanged,
    check_signature,
    narrow,
    unjustified,
)
from reconciler.apply.progress import progress_for
from reconciler.apply.report import ApplyReport, render_summary
from reconciler.apply.runner import (
    Prepared,
    Source,
    begin,
    build_report,
    finished_run,
    keep_report,
    mark_finished,
    new_run_id,
    plan_digest,
    prepare,
    release,
)
from reconciler.auth import Credentials
from reconciler.commands import (
    CREDENTIALS_ENV,
    ENDPOINT_ENV_HELP,
    NO_COLOR_ENV,
    SIGNING_ENV,
    colour,
    epilog,
    no_color_option,
)
from reconciler.errors import ReconcileError, UsageError
from reconciler.pipeline import (
    Target,
    is_plan_file,
    live_listing,
    live_plan,
    load_target,
    plan_live,
    read_json,
    read_plan_file,
    resolve_endpoint,
    select_spaces,
    utc_now,
    write_atomic,
)
from reconciler.plan import Plan
from reconciler.render import Format, render

EXIT_INTERRUPTED = 130


def interactive() -> bool:
    """Whether a person can answer the confirmation prompt."""
    return sys.stdin.isatty()


def _targets(
    paths: tuple[str, ...], spaces: tuple[str, ...], endpoint: str | None,
    manifests: tuple[str, ...],
) -> tuple[Target, Source, Callable[[], Plan], bool]:
    """Where to apply, what the apply is started from, how to get the plan, and whether its
    items must be re-checked (a saved plan was listed some time ago)."""
    env = os.environ
    if len(paths) == 1 and is_plan_file(paths[0]):
        return _planfile_target(paths[0], spaces, endpoint, manifests)
    if manifests:
        raise UsageError("--manifests is for applying a plan file; the manifests to apply "
                         "are given as PATH")
    state, live_target, _ = load_target(paths, env=env, spaces=spaces, endpoint=endpoint)
    assert live_target is not None
    return live_target, Source("manifests", state.digest, spaces), lambda: live_plan(
        live_target), False


def _planfile_target(
    path: str, spaces: tuple[str, ...], endpoint: str | None, manifests: tuple[str, ...]
) -> tuple[Target, Source, Callable[[], Plan], bool]:
    """A saved plan, checked against the manifests it was made from (`apply.planfile`)."""
    env = os.environ
    saved = read_plan_file(path)
    check_signature(saved, env)
    spec = check_manifests_unchanged(saved, manifests or None)
    plan = saved.plan
    if spaces:
        known = {report.space for report in plan.spaces}
        unknown = sorted(set(spaces) - known)
        if unknown:
            raise UsageError(f"--space {', '.join(unknown)}: not in the plan file "
                             f"(it has: {', '.join(sorted(known))})")
        plan = plan.select_spaces(spaces)
        spec = select_spaces(spec, spaces)
    problems = unjustified(spec, plan)
    if problems:
        raise ReconcileError(
            "refusing to apply: the plan file asks for changes its manifests do not give "
            "(it was edited, or is not the plan of these manifests):\n  " + "\n  ".join(problems))
    where = resolve_endpoint(spec, env, endpoint)
    if where != saved.endpoint.rstrip("/") and endpoint is None:
        raise ReconcileError(
            f"refusing to apply: the plan was made against {saved.endpoint}, and this apply "
            f"would write to {where}; pass --endpoint {where} to apply it there")
    target = Target(spec=spec, endpoint=where, credentials=Credentials.from_env(env))

    def planned_again() -> Plan:
        listing = live_listing(target)
        return narrow(plan, plan_live(spec, listing), listing, spec)

    return target, Source("planfile", plan_digest(plan), spaces), planned_again, True


def confirm(question: str, *, auto_approve: bool, verb: str = "apply") -> None:
    """Ask for `yes` on a terminal; without one, refuse unless `--auto-approve` was given."""
    if auto_approve:
        return
    if not interactive():
        raise ReconcileError(
            f"refusing to {verb} without confirmation: not running in a terminal; review the "
            f"{'plan' if verb == 'apply' else 'preview'} and pass --auto-approve to {verb} "
            "unattended"
        )
    answer = click.prompt(f"\n{question} Only 'yes' will be accepted", default="",
                          show_default=False)
    if answer.strip() != "yes":
        raise ReconcileError(f"{verb} cancelled; nothing was changed")


def refuse_existing_report(report_file: str | None, *, resuming: str | None = None) -> None:
    """A report is the record of what can be restored: never written over.

    The one exception is the report of an interrupted run of the apply being finished now
    (`resuming`: its plan digest): the finishing run's report holds all it recorded, and more.
    """
    if report_file is None:
        return
    path = Path(report_file)
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


def _finish(report: ApplyReport, report_file: str | None, state_dir: Path) -> None:
    kept = keep_report(state_dir, report)
    if report_file is not None:  # the same text: a large report is written out once
        write_atomic(report_file, kept.read_text(encoding="utf-8"))
    click.echo("\n" + render_summary(report), nl=False)
    if report_file is not None:
        click.echo(f"Report written to {report_file}.")
    click.echo(f"Run {report.run_id}: its report is kept in {kept} "
               f"(`smh-reconcile undo {report.run_id}` restores what it recycled).")


def _already_finished(report: ApplyReport) -> int:
    """A plan file applied to the end before: say so, send nothing, write no report."""
    click.echo(
        f"This plan was already applied to library {report.library}: run {report.run_id}, "
        f"finished {report.finished_at}. Nothing was sent and no report was written; plan "
        "again to see the library as it is now."
    )
    for line in report.advice():
        click.echo(f"That run: {line}")
    return 0 if report.complete else 1


def _resume_note(prepared: Prepared) -> str:
    total = len(prepared.plan.deletes)
    return (
        f"Finishing the unfinished apply recorded in {prepared.journal_file} (started "
        f"{prepared.header.started_at}): {prepared.settled()} of {total} item(s) "
        "already done; the rest are re-checked before anything is sent.\n"
    )


@click.command("apply", epilog=epilog(
    ["smh-reconcile apply plan.json --report report.json   # asks for yes",
     "smh-reconcile apply plan.json --auto-approve --report report.json   # in a pipeline",
     "smh-reconcile apply prod.yaml --space photos"],
    ["0    every planned item was carried out (or there was nothing to do)",
     "1    an error, a refusal, or an item not carried out (failed, stale, unanswered)",
     "130  interrupted: run the same command again to finish"],
    [CREDENTIALS_ENV, ENDPOINT_ENV_HELP, SIGNING_ENV, NO_COLOR_ENV]))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--space", "spaces", multiple=True, metavar="ID",
              help="Apply only this space (repeatable).")
@click.option("--endpoint", metavar="URL", help="Override the manifests' endpoint and "
              "SMH_ENDPOINT (and name it to apply a plan file to another endpoint).")
@click.option("--manifests", "manifests", multiple=True, type=click.Path(), metavar="PATH",
              help="Where the manifests a plan file was made from are (default: where the plan "
                   "recorded them, relative to the working directory). Repeatable.")
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for pipelines).")
@click.option("--force", is_flag=True,
              help="Apply despite the safety limits and recycle deletes into a space "
                   "without a recycle bin.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the JSON report (every item's outcome; input for `undo`).")
@click.option("--batch-size", type=click.IntRange(1, MAX_BATCH_SIZE), default=MAX_BATCH_SIZE,
              show_default=True, help="Items per batch delete call.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Batch calls in flight at once.")
@click.option("--state-dir", type=click.Path(file_okay=False), default=DEFAULT_STATE_DIR,
              show_default=True, help="Where the journal of an apply in progress is kept.")
@no_color_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    spaces: tuple[str, ...],
    endpoint: str | None,
    manifests: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    report_file: str | None,
    batch_size: int,
    concurrency: int,
    state_dir: str,
) -> None:
    """Apply the manifests' plan (planned now), or exactly a plan saved with `plan --out`."""
    state = Path(state_dir)
    target, source, get_plan, saved = _targets(paths, spaces, endpoint, manifests)
    unfinished = journal_path(state, target.spec.library).exists()
    if saved and not unfinished:
        finished = finished_run(state, source.digest)
        if finished is not None:
            ctx.exit(_already_finished(finished))
    if not unfinished:
        refuse_existing_report(report_file)
    started_at = utc_now()
    run_id = new_run_id(started_at)
    prepared = prepare(state, target.spec.library, target.endpoint, source,
                       get_plan, started_at=started_at)
    try:
        plan = prepared.plan
        if prepared.resuming:
            refuse_existing_report(report_file, resuming=prepared.header.plan_digest)
            click.echo(_resume_note(prepared))
        click.echo(render(plan, Format.TEXT, color=colour(sys.stdout), force=force),
                   nl=False)
        refusals = plan.refusals(force=force)
        if refusals:
            raise ReconcileError("\n".join(f"Error: refusing to apply: {r}" for r in refusals))
        if not plan.changes:
            click.echo("\nNo changes: nothing to apply.")
            release(prepared)
            return
        confirm(f"Do you want to apply this plan to library {plan.library} at "
                f"{target.endpoint}?", auto_approve=auto_approve)
        journal = begin(prepared)
    except BaseException:
        release(prepared)
        raise

    stop = threading.Event()
    progress = progress_for(sys.stderr, color=colour(sys.stderr))
    settings = Settings(batch_size=batch_size, concurrency=concurrency,
                        recheck=saved or prepared.resuming)
    with target.writer() as writer, _interruptible(stop):
        executor = Executor(plan, writer, journal, settings=settings, progress=progress,
                            stop=stop)
        try:
            executor.run(prepared.replay)
        except KeyboardInterrupt:
            _abandon(prepared, executor, report_file, state, run_id)
        except ReconcileError:
            # The run ended early (credentials refused, the server gone): the report records
            # what was done, and the journal stays for the same command to finish the job.
            journal.close()
            _finish(build_report(prepared, executor, finished_at=utc_now(), run_id=run_id),
                    report_file, state)
            raise
        except BaseException:
            journal.close()  # it stays in place: the next apply finishes the job
            raise
    report = build_report(prepared, executor, finished_at=utc_now(), run_id=run_id)
    # The report first: it is the record of what was deleted, whatever happens next.
    _finish(report, report_file, state)
    if report.interrupted:
        journal.close()
        ctx.exit(EXIT_INTERRUPTED)
    journal.finish(report.finished_at)
    source_record = prepared.header.source
    if source_record.get("kind") == "planfile":
        mark_finished(state, str(source_record.get("digest")), report)
    ctx.exit(0 if report.complete else 1)


def _abandon(prepared: Prepared, executor: Executor, report_file: str | None,
             state_dir: Path, run_id: str) -> NoReturn:
    """A second Ctrl-C: report what is known and leave at once; calls still in flight stay
    unfinished in the journal for the next apply to settle."""
    report = build_report(prepared, executor, finished_at=utc_now(), run_id=run_id)
    if prepared.journal is not None:
        prepared.journal.close()
    _finish(report, report_file, state_dir)
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads may be blocked in a request; only leaving the process ends them.
    os._exit(EXIT_INTERRUPTED)
