"""`smh-reconcile undo REPORT|RUN_ID`: restore from the recycle bin what an apply recycled.

Reads the JSON report `apply --report` wrote, or the one apply kept in its state folder under
the run id; shows what it will restore, asks for `yes` on a terminal as `apply` does (refusing
to run unattended without `--auto-approve`), restores every recycled item of it (see
`reconciler.apply.undo`) with a progress display, prints a summary and, with `--report FILE`,
writes its own report. Exits 1 when any item could not be restored; an item an earlier undo
already put back is `already_restored`, not a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from reconciler.apply.journal import DEFAULT_STATE_DIR
from reconciler.apply.progress import progress_for
from reconciler.apply.report import ApplyReport
from reconciler.apply.runner import RUN_ID, recorded_target, stored_report_path
from reconciler.apply.undo import (
    MAX_RESTORE_ITEMS,
    UndoReport,
    recycled_items,
    render_undo_preview,
    render_undo_summary,
    undo_space,
)
from reconciler.commands import (
    CREDENTIALS_ENV,
    ENDPOINT_ENV_HELP,
    NO_COLOR_ENV,
    colour,
    epilog,
    no_color_option,
)
from reconciler.commands.apply import confirm, refuse_existing_report
from reconciler.errors import ReconcileError
from reconciler.pipeline import read_json, utc_now, write_atomic
from reconciler.plan import dumps


def read_apply_report(given: str, state_dir: Path) -> ApplyReport:
    """The apply report in the file `given`, or the one kept for run id `given`."""
    if not Path(given).exists() and RUN_ID.match(given):
        kept = stored_report_path(state_dir, given)
        if not kept.exists():
            raise ReconcileError(f"no report of run {given} in {kept.parent}")
        return ApplyReport.from_json(read_json(kept, "apply report"))
    if not Path(given).exists():
        raise ReconcileError(f"{given}: no such report file, and not a run id (like "
                             "20270101T000000Z-3f9a)")
    return ApplyReport.from_json(read_json(given, "apply report"))


@click.command("undo", epilog=epilog(
    ["smh-reconcile undo report.json   # shows what it restores, asks for yes",
     "smh-reconcile undo 20270101T090000Z-3f9a --auto-approve   # a run id: its kept report"],
    ["0    every item restored (or already restored)",
     "1    an error, a refusal, or an item that could not be restored",
     "130  interrupted"],
    [CREDENTIALS_ENV, ENDPOINT_ENV_HELP, NO_COLOR_ENV]))
@click.argument("apply_report", metavar="REPORT|RUN_ID")
@click.option("--endpoint", metavar="URL", help="Override the report's endpoint and "
                                                "SMH_ENDPOINT.")
@click.option("--auto-approve", is_flag=True, help="Restore without asking (for pipelines).")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the JSON report of the restore (never over an existing file).")
@click.option("--batch-size", type=click.IntRange(1, MAX_RESTORE_ITEMS),
              default=MAX_RESTORE_ITEMS, show_default=True, help="Items per restore call.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Restore calls in flight at once.")
@click.option("--state-dir", type=click.Path(file_okay=False), default=DEFAULT_STATE_DIR,
              show_default=True, help="Where apply keeps each run's report (for RUN_ID).")
@no_color_option
@click.pass_context
def command(ctx: click.Context, apply_report: str, endpoint: str | None, auto_approve: bool,
            report_file: str | None, batch_size: int, concurrency: int, state_dir: str) -> None:
    """Restore the items an apply moved to the recycle bin, from its REPORT or RUN_ID."""
    refuse_existing_report(report_file)
    applied = read_apply_report(apply_report, Path(state_dir))
    target = recorded_target(applied.library, applied.endpoint, endpoint, os.environ)
    by_space = recycled_items(applied)
    click.echo(render_undo_preview(applied, target.endpoint), nl=False)
    total = sum(len(items) for items in by_space.values())
    if not total:
        click.echo("\nNothing to restore.")
        return
    confirm(f"Do you want to restore these items to library {applied.library} at "
            f"{target.endpoint}?", auto_approve=auto_approve, verb="undo")
    started_at = utc_now()
    progress = progress_for(sys.stderr, label="undo", color=colour(sys.stderr))
    results = []
    progress.start(total, 0)
    try:
        with target.writer() as writer:
            for space, items in sorted(by_space.items()):
                results.extend(undo_space(writer, space, items, batch_size=batch_size,
                                          user_id=applied.user_ids.get(space),
                                          applied_at=applied.started_at,
                                          concurrency=concurrency, progress=progress))
    finally:
        progress.stop()
    report = UndoReport(library=applied.library, endpoint=target.endpoint,
                        plan_digest=applied.plan_digest, started_at=started_at,
                        finished_at=utc_now(), items=tuple(results))
    if report_file is not None:
        write_atomic(report_file, dumps(report.to_json()))
    click.echo("\n" + render_undo_summary(report), nl=False)
    if report_file is not None:
        click.echo(f"Report written to {report_file}.")
    ctx.exit(1 if report.failed else 0)
