"""`smh-reconcile apply`: carry a plan out, from manifests (planned live) or a saved plan file.

The command shows the plan, checks the refusals, asks for `yes` on a terminal (and refuses to
run unattended without `--auto-approve`), then hands the plan to the executor with a journal,
and ends with the report: a text summary always, JSON with `--report FILE`. An unfinished
apply of the same library, killed or interrupted, is finished first.

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
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

from reconciler.apply.executor import MAX_BATCH_SIZE, Executor, Settings
from reconciler.apply.journal import DEFAULT_STATE_DIR
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
    plan_digest,
    prepare,
    release,
)
from reconciler.auth import Credentials
from reconciler.errors import ReconcileError, UsageError
from reconciler.pipeline import (
    Target,
    color_wanted,
    is_plan_file,
    live_listing,
    live_plan,
    load_target,
    read_plan_file,
    resolve_endpoint,
    select_spaces,
    utc_now,
    write_atomic,
)
from reconciler.plan import Plan, dumps
from reconciler.planner import make_plan
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
        fresh = make_plan(spec, replace(listing, listed_at=None), now=listing.listed_at)
        return narrow(plan, fresh, listing, spec)

    return target, Source("planfile", plan_digest(plan), spaces), planned_again, True


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not interactive():
        raise ReconcileError(
            "refusing to apply without confirmation: not running in a terminal; review the "
            "plan and pass --auto-approve to apply it unattended"
        )
    answer = click.prompt(
        "\nDo you want to apply this plan? Only 'yes' will be accepted", default="",
        show_default=False,
    )
    if answer.strip() != "yes":
        raise ReconcileError("apply cancelled; nothing was changed")


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


def _finish(report: ApplyReport, report_file: str | None) -> None:
    if report_file is not None:
        write_atomic(report_file, dumps(report.to_json()))
    click.echo("\n" + render_summary(report), nl=False)
    if report_file is not None:
        click.echo(f"Report written to {report_file}.")


def _resume_note(prepared: Prepared) -> str:
    total = len(prepared.plan.deletes)
    return (
        f"Finishing the unfinished apply recorded in {prepared.journal_file} (started "
        f"{prepared.header.get('started_at')}): {prepared.settled()} of {total} item(s) "
        "already done; the rest are re-checked before anything is sent.\n"
    )


@click.command("apply")
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
    target, source, get_plan, saved = _targets(paths, spaces, endpoint, manifests)
    prepared = prepare(Path(state_dir), target.spec.library, target.endpoint, source,
                       get_plan, started_at=utc_now())
    try:
        plan = prepared.plan
        if prepared.resuming:
            click.echo(_resume_note(prepared))
        click.echo(render(plan, Format.TEXT, color=color_wanted(sys.stdout)), nl=False)
        refusals = plan.refusals(force=force)
        if refusals:
            raise ReconcileError("\n".join(f"Error: refusing to apply: {r}" for r in refusals))
        if not plan.changes:
            click.echo("\nNo changes: nothing to apply.")
            release(prepared)
            return
        _confirm(auto_approve)
        journal = begin(prepared)
    except BaseException:
        release(prepared)
        raise

    stop = threading.Event()
    progress = progress_for(sys.stderr)
    settings = Settings(batch_size=batch_size, concurrency=concurrency,
                        recheck=saved or prepared.resuming)
    with target.writer() as writer, _interruptible(stop):
        executor = Executor(plan, writer, journal, settings=settings, progress=progress,
                            stop=stop)
        try:
            executor.run(prepared.replay)
        except KeyboardInterrupt:
            _abandon(prepared, executor, report_file)
        except BaseException:
            journal.close()  # it stays in place: the next apply finishes the job
            raise
    report = build_report(prepared, executor, finished_at=utc_now())
    # The report first: it is the record of what was deleted, whatever happens next.
    _finish(report, report_file)
    if report.interrupted:
        journal.close()
        ctx.exit(EXIT_INTERRUPTED)
    journal.finish(report.finished_at)
    ctx.exit(1 if report.failed else 0)


def _abandon(prepared: Prepared, executor: Executor, report_file: str | None) -> NoReturn:
    """A second Ctrl-C: report what is known and leave at once; calls still in flight stay
    unfinished in the journal for the next apply to settle."""
    report = build_report(prepared, executor, finished_at=utc_now())
    if prepared.journal is not None:
        prepared.journal.close()
    _finish(report, report_file)
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads may be blocked in a request; only leaving the process ends them.
    os._exit(EXIT_INTERRUPTED)
