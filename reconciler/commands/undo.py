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
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import click

from reconciler.commands import (
    CREDENTIALS_ENV,
    ENDPOINT_ENV_HELP,
    NO_COLOR_ENV,
    colour,
    epilog,
    no_color_option,
)
from reconciler.options import DEFAULT_STATE_DIR, MAX_RESTORE_ITEMS
from reconciler.terminal import confirm


def undo(given: str, *, env: Mapping[str, str], cwd: Path = Path(),
         endpoint: str | None = None, auto_approve: bool = False,
         report_file: str | None = None, batch_size: int = MAX_RESTORE_ITEMS,
         concurrency: int = 4, state_dir: str = DEFAULT_STATE_DIR) -> int:
    """Undo the apply of the report (or run id) `given`, with the environment `env`; the exit
    code."""
    from reconciler.apply.progress import progress_for
    from reconciler.apply.undo_runner import UndoOptions, run_undo

    options = UndoOptions(state_dir=Path(state_dir), report_file=report_file,
                          endpoint=endpoint, batch_size=batch_size, concurrency=concurrency,
                          cwd=cwd)
    report = run_undo(
        given, options, env=env, confirm=partial(confirm, auto_approve=auto_approve,
                                                 verb="undo"),
        progress=progress_for(sys.stderr, env, label="undo", color=colour(sys.stderr, env)))
    return 1 if report is not None and report.failed else 0


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
              help="Restore calls in flight at once; also the spaces restored at once.")
@click.option("--state-dir", type=click.Path(file_okay=False), default=DEFAULT_STATE_DIR,
              show_default=True, help="Where apply keeps each run's report (for RUN_ID).")
@no_color_option
@click.pass_context
def command(ctx: click.Context, apply_report: str, endpoint: str | None, auto_approve: bool,
            report_file: str | None, batch_size: int, concurrency: int, state_dir: str) -> None:
    """Restore the items an apply moved to the recycle bin, from its REPORT or RUN_ID."""
    ctx.exit(undo(apply_report, env=os.environ, endpoint=endpoint, auto_approve=auto_approve,
                  report_file=report_file, batch_size=batch_size, concurrency=concurrency,
                  state_dir=state_dir))
