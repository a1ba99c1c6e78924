"""`smh-reconcile undo REPORT`: restore from the recycle bin what an apply recycled.

Reads the JSON report `apply --report` wrote, restores every recycled item of it (see
`reconciler.apply.undo`), prints a summary and, with `--report FILE`, writes its own report.
Exits 1 when any item could not be restored.
"""

from __future__ import annotations

import os

import click

from reconciler.apply.report import ApplyReport
from reconciler.apply.runner import recorded_target
from reconciler.apply.undo import (
    MAX_RESTORE_ITEMS,
    UndoReport,
    recycled_items,
    render_undo_summary,
    undo_space,
)
from reconciler.pipeline import read_json, utc_now, write_atomic
from reconciler.plan import dumps


@click.command("undo")
@click.argument("apply_report", type=click.Path(dir_okay=False), metavar="REPORT")
@click.option("--endpoint", metavar="URL", help="Override the report's endpoint and "
                                                "SMH_ENDPOINT.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the JSON report of the restore.")
@click.option("--batch-size", type=click.IntRange(1, MAX_RESTORE_ITEMS),
              default=MAX_RESTORE_ITEMS, show_default=True, help="Items per restore call.")
@click.pass_context
def command(ctx: click.Context, apply_report: str, endpoint: str | None,
            report_file: str | None, batch_size: int) -> None:
    """Restore the items an apply moved to the recycle bin, from its REPORT."""
    applied = ApplyReport.from_json(read_json(apply_report, "apply report"))
    target = recorded_target(applied.library, applied.endpoint, endpoint, os.environ)
    started_at = utc_now()
    by_space = recycled_items(applied)
    results = []
    with target.writer() as writer:
        for space, items in sorted(by_space.items()):
            results.extend(undo_space(writer, space, items, batch_size=batch_size,
                                      user_id=applied.user_ids.get(space),
                                      applied_at=applied.started_at))
    report = UndoReport(library=applied.library, endpoint=target.endpoint,
                        plan_digest=applied.plan_digest, started_at=started_at,
                        finished_at=utc_now(), items=tuple(results))
    if report_file is not None:
        write_atomic(report_file, dumps(report.to_json()))
    click.echo(render_undo_summary(report), nl=False)
    if report_file is not None:
        click.echo(f"Report written to {report_file}.")
    ctx.exit(1 if report.failed else 0)
