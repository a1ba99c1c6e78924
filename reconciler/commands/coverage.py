"""`smh-reconcile coverage`: what no manifest governs in the library, read-only.

The spaces of the library the manifests do not name (the space list), and in each named space
the top-level entries no exist, protect, purge or prune entry touches, each with its files and
bytes (directory stats, else a listing through it, as the plan counts). `--detailed-exitcode`
exits 2 when anything is uncovered, so a scheduled job can flag a new space or folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.commands import CREDENTIALS_ENV, ENDPOINT_ENV_HELP, epilog
from reconciler.errors import ReconcileError
from reconciler.options import DEFAULT_CONCURRENCY, Format

if TYPE_CHECKING:
    from reconciler.listing import RemoteEntry, Stats


@click.command("coverage", epilog=epilog(
    ["smh-reconcile coverage manifests/",
     "smh-reconcile coverage manifests/ --detailed-exitcode --format markdown  # scheduled"],
    ["0  shown (with --detailed-exitcode: and everything is covered)",
     "1  an error (a usage error, a manifest problem, a space that could not be listed)",
     "2  only with --detailed-exitcode: a space or a top-level entry is not covered"],
    [CREDENTIALS_ENV + "; listing every space needs admin", ENDPOINT_ENV_HELP]))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="text",
              show_default=True, help="text for terminals, json for machines, markdown for PRs.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when a space or top-level entry is not covered, 0 when all are.")
@click.option("--endpoint", metavar="URL", help="Override the manifest and SMH_ENDPOINT.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Requests sent at once.")
@click.pass_context
def command(ctx: click.Context, paths: tuple[str, ...], fmt: str, detailed_exitcode: bool,
            endpoint: str | None, concurrency: int) -> None:
    """Show the spaces and top-level entries no manifest governs (read-only)."""
    ctx.exit(show_coverage(paths, env=os.environ, fmt=Format(fmt),
                           detailed_exitcode=detailed_exitcode, endpoint=endpoint,
                           concurrency=concurrency))


def show_coverage(paths: Sequence[str], *, env: Mapping[str, str], cwd: Path = Path(),
                  fmt: Format = Format.TEXT, detailed_exitcode: bool = False,
                  endpoint: str | None = None, concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """Show what the manifests `paths` (relative to `cwd`) do not govern; the exit code."""
    from concurrent.futures import ThreadPoolExecutor

    from reconciler.adoption import (
        coverage,
        render_coverage_markdown,
        render_coverage_text,
        untouched,
    )
    from reconciler.counting import count_directory
    from reconciler.targets import load_spec, make_target

    _, spec = load_spec(paths, cwd=cwd)
    target = make_target(spec, env, endpoint=endpoint)
    errors: list[tuple[str, str]] = []
    found: dict[str, list[RemoteEntry]] = {}
    counts: dict[tuple[str, str], Stats | None] = {}
    with target.reader() as reader, ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="smh-coverage") as pool:
        spaces = reader.list_spaces()
        listings = {space.id: pool.submit(reader.list_directory, space.id, "",
                                          user_id=space.user_id) for space in spec.spaces}
        for space in spec.spaces:
            try:
                found[space.id] = untouched(spec, space.id, listings[space.id].result())
            except ReconcileError as error:
                errors.append((space.id, error.message))
        pending = {(space.id, entry.path): pool.submit(
            count_directory, reader, space.id, entry.path, user_id=space.user_id)
            for space in spec.spaces for entry in found.get(space.id, ()) if entry.is_dir}
        for key, future in pending.items():
            try:
                counts[key] = future.result()
            except ReconcileError as error:
                counts[key] = None
                errors.append((key[0], f"counting {key[1]}/: {error.message}"))
    report = coverage(spec, spaces, found, counts, errors)
    if fmt is Format.JSON:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    elif fmt is Format.MARKDOWN:
        click.echo(render_coverage_markdown(report), nl=False)
    else:
        click.echo(render_coverage_text(report), nl=False)
    if report.errors:
        return 1
    return 2 if detailed_exitcode and report.uncovered else 0
