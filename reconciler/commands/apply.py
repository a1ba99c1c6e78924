"""`smh-reconcile apply`: carry a plan out, from manifests (planned live) or a saved plan file.

The command shows the plan, checks the refusals, asks for `yes` on a terminal, naming the
library and endpoint (and refuses to run unattended without `--auto-approve`), then hands the
plan to the executor with a journal, and ends with the report: a text summary always, the
JSON report kept in the state folder under the run id, and written to `--report FILE` too
(never over an existing report). An unfinished apply of the same library, killed or
interrupted, is finished first; a plan file applied to the end before is not applied again.
It exits 1 when any planned item was not carried out. The run is `reconciler.apply.runner`'s.

Ctrl-C stops sending new batches and waits for those in flight; a second Ctrl-C abandons
them (they stay unfinished in the journal). Either way the report is written and the exit
code is 130.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TextIO

import click

from reconciler.commands import (
    CREDENTIALS_ENV,
    ENDPOINT_ENV_HELP,
    NO_COLOR_ENV,
    SIGNING_ENV,
    colour,
    epilog,
    no_color_option,
)
from reconciler.options import DEFAULT_STATE_DIR, MAX_BATCH_SIZE
from reconciler.terminal import confirm


def apply(paths: Sequence[str], *, env: Mapping[str, str], cwd: Path = Path(),
          spaces: Sequence[str] = (), endpoint: str | None = None,
          manifests: Sequence[str] = (), auto_approve: bool = False, force: bool = False,
          report_file: str | None = None, batch_size: int = MAX_BATCH_SIZE,
          concurrency: int = 4, state_dir: str = DEFAULT_STATE_DIR,
          out: TextIO | None = None) -> int:
    """Apply `paths` (relative to `cwd`) with the environment `env`, writing to `out` (else
    standard output); the exit code."""
    import threading

    from reconciler.apply.progress import progress_for
    from reconciler.apply.runner import ApplyOptions, Source, exit_code, run_apply

    source = Source.of(paths, spaces=spaces, manifests=manifests, cwd=cwd)
    options = ApplyOptions(state_dir=Path(state_dir), report_file=report_file, endpoint=endpoint,
                      force=force, batch_size=batch_size, concurrency=concurrency,
                      color=colour(out or sys.stdout, env), cwd=cwd, out=out)
    return exit_code(run_apply(
        source, options, env=env, confirm=partial(confirm, auto_approve=auto_approve),
        progress=progress_for(sys.stderr, env, color=colour(sys.stderr, env)),
        stop=threading.Event()))


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
              help="Batch calls in flight at once; also the spaces carried out at once, "
                   "and the directories listed at once to re-check items before they are "
                   "sent.")
@click.option("--state-dir", type=click.Path(file_okay=False), default=DEFAULT_STATE_DIR,
              show_default=True, help="Where the journal of an apply in progress is kept.")
@no_color_option
@click.pass_context
def command(ctx: click.Context, paths: tuple[str, ...], spaces: tuple[str, ...],
            endpoint: str | None, manifests: tuple[str, ...], auto_approve: bool, force: bool,
            report_file: str | None, batch_size: int, concurrency: int, state_dir: str) -> None:
    """Apply the manifests' plan (planned now), or exactly a plan saved with `plan --out`."""
    ctx.exit(apply(paths, env=os.environ, spaces=spaces, endpoint=endpoint,
                   manifests=manifests, auto_approve=auto_approve, force=force,
                   report_file=report_file, batch_size=batch_size, concurrency=concurrency,
                   state_dir=state_dir))
