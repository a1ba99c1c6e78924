"""One undo from start to report, as `runner` owns an apply: `run_undo` reads the apply report
(a file, or the one kept in the state folder under its run id), shows what it will restore,
asks the confirmation, restores every recycled item of it (`reconciler.apply.undo`) with the
progress display, writes its own report when asked and sums it up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.apply.progress import ProgressSink
from reconciler.apply.report import ApplyReport, ItemReport
from reconciler.apply.runner import RUN_ID, refuse_existing_report, stored_report_path
from reconciler.apply.side_by_side import for_each_space
from reconciler.apply.undo import (
    RestoreResult,
    UndoReport,
    recycled_items,
    render_undo_preview,
    render_undo_summary,
    undo_space,
)
from reconciler.clock import utc_now
from reconciler.errors import ReconcileError
from reconciler.files import located, read_json, write_atomic
from reconciler.options import DEFAULT_STATE_DIR, MAX_RESTORE_ITEMS
from reconciler.plan import dumps
from reconciler.targets import Target, recorded_target


@dataclass(frozen=True, slots=True)
class UndoOptions:
    """Where to restore (`endpoint` overrides the report's and `SMH_ENDPOINT`), the state
    folder and `--report` file (relative to `cwd`), and the restore calls."""

    state_dir: Path = Path(DEFAULT_STATE_DIR)
    report_file: str | None = None
    endpoint: str | None = None
    batch_size: int = MAX_RESTORE_ITEMS
    concurrency: int = 4
    cwd: Path = Path()


def read_apply_report(given: str, state_dir: Path, *, cwd: Path = Path()) -> ApplyReport:
    """The apply report in the file `given`, or the one kept for run id `given`."""
    path = Path(located(given, cwd))
    if not path.exists() and RUN_ID.match(given):
        kept = stored_report_path(Path(located(state_dir, cwd)), given)
        if not kept.exists():
            raise ReconcileError(f"no report of run {given} in "
                                 f"{stored_report_path(state_dir, given).parent}")
        return ApplyReport.from_json(read_json(kept, "apply report"))
    if not path.exists():
        raise ReconcileError(f"{given}: no such report file, and not a run id (like "
                             "20270101T000000Z-3f9a)")
    return ApplyReport.from_json(read_json(path, "apply report"))


def run_undo(given: str, options: UndoOptions, *, env: Mapping[str, str],
             confirm: Callable[[str], None], progress: ProgressSink) -> UndoReport | None:
    """Undo the apply whose report (or run id) is `given`: the undo's report, or None when
    there is nothing to restore. `confirm` is asked the question and raises to refuse."""
    refuse_existing_report(options.report_file, cwd=options.cwd)
    applied = read_apply_report(given, options.state_dir, cwd=options.cwd)
    target = recorded_target(applied.library, applied.endpoint, options.endpoint, env)
    by_space = recycled_items(applied)
    click.echo(render_undo_preview(applied, target.endpoint), nl=False)
    total = sum(len(items) for items in by_space.values())
    if not total:
        click.echo("\nNothing to restore.")
        return None
    confirm(f"Do you want to restore these items to library {applied.library} at "
            f"{target.endpoint}?")
    started_at = utc_now()
    results = _restore(target, applied, by_space, options, progress)
    report = UndoReport(library=applied.library, endpoint=target.endpoint,
                        plan_digest=applied.plan_digest, started_at=started_at,
                        finished_at=utc_now(), items=tuple(results))
    if options.report_file is not None:
        write_atomic(located(options.report_file, options.cwd), dumps(report.to_json()))
    click.echo("\n" + render_undo_summary(report), nl=False)
    if options.report_file is not None:
        click.echo(f"Report written to {options.report_file}.")
    return report


def _restore(target: Target, applied: ApplyReport, by_space: Mapping[str, list[ItemReport]],
             options: UndoOptions, progress: ProgressSink) -> list[RestoreResult]:
    progress.start(sum(len(items) for items in by_space.values()), 0)
    try:
        # The spaces side by side, their restore calls `--concurrency` at a time in all.
        with target.writer() as writer, ThreadPoolExecutor(
                max_workers=options.concurrency, thread_name_prefix="smh-undo") as pool:

            def undo(space: str) -> list[RestoreResult]:
                return undo_space(writer, space, by_space[space], batch_size=options.batch_size,
                                  user_id=applied.user_ids.get(space),
                                  applied_at=applied.started_at,
                                  concurrency=options.concurrency, progress=progress, pool=pool)

            undone = for_each_space(undo, sorted(by_space), at_once=options.concurrency)
    finally:
        progress.stop()
    return [result for results in undone for result in results]
