"""`smh-reconcile init`: write a starter manifest from a live library, proven to plan to no changes.

It lists the library's spaces (the space list; `-` for a single-tenant library) and the top
level of each, a few spaces at a time with progress on a terminal, writes the manifest
`reconciler.adoption.starter_manifest` makes of them, plans that manifest against the library
and fails unless the plan has no changes. Read-only: only GET requests reach the server.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from reconciler.commands import CREDENTIALS_ENV, NO_COLOR_ENV, colour, epilog, no_color_option
from reconciler.errors import ReconcileError, UsageError
from reconciler.options import DEFAULT_CONCURRENCY, ENDPOINT_ENV

if TYPE_CHECKING:
    from reconciler.client import SmhReadClient
    from reconciler.listing import RemoteEntry


class _Progress:
    """`listing the top level of each space: 120/300` on one line of a terminal (not under
    NO_COLOR or --no-color); nothing elsewhere."""

    def __init__(self, stream: TextIO, total: int, env: Mapping[str, str]) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.enabled = colour(stream, env)

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            self.stream.write(f"\rlisting the top level of each space: {self.done}/{self.total}")
            self.stream.flush()

    def end(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def list_top_levels(reader: SmhReadClient, spaces: Sequence[str], *, concurrency: int,
                    stream: TextIO, env: Mapping[str, str]) -> dict[str, list[RemoteEntry]]:
    """The top-level entries of each space, listed `concurrency` spaces at a time (with
    progress on `stream`, when `env` allows)."""
    from concurrent.futures import ThreadPoolExecutor

    progress = _Progress(stream, len(spaces), env)

    def one(space: str) -> list[RemoteEntry]:
        try:
            return reader.list_directory(space, "")
        finally:
            progress.step()

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="smh-init") as pool:
            listed = dict(zip(spaces, pool.map(one, spaces), strict=True))
    finally:
        progress.end()
    return listed


def library_spaces(reader: SmhReadClient, wanted: Sequence[str]) -> list[str]:
    """The library's spaces, or those of `wanted` (each must be one of them)."""
    found = reader.list_spaces()
    if not wanted:
        return sorted(found)
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        raise UsageError(f"--space {', '.join(unknown)}: not a space of library "
                         f"{reader.library} (it has {len(found)} space(s))")
    return sorted(set(wanted))


@click.command("init", epilog=epilog(
    ["smh-reconcile init --library smhdemo --out manifests/smhdemo.yaml",
     "smh-reconcile init --library smhdemo --space marketing --space archive > two.yaml"],
    ["0  written, and its plan has no changes",
     "1  an error (a usage error, a listing that failed, a plan with changes: run it again)"],
    [CREDENTIALS_ENV + "; listing every space needs admin",
     "SMH_ENDPOINT (the endpoint when --endpoint is not given)", NO_COLOR_ENV]))
@click.option("--library", required=True, metavar="ID", help="The LibraryId to adopt.")
@click.option("--endpoint", metavar="URL",
              help=f"The API base URL (else {ENDPOINT_ENV}, else https://ID.api.tencentsmh.cn);"
                   " written into the manifest when given.")
@click.option("--space", "spaces", multiple=True, metavar="ID",
              help="Adopt only this space (repeatable; default every space).")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the manifest here (never over an existing file); default stdout.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Spaces listed at once.")
@no_color_option
def command(library: str, endpoint: str | None, spaces: tuple[str, ...], out: str | None,
            concurrency: int) -> None:
    """Write a starter manifest that declares what the library holds (read-only)."""
    init(library, env=os.environ, endpoint=endpoint, spaces=spaces, out=out,
         concurrency=concurrency)


def init(library: str, *, env: Mapping[str, str], cwd: Path = Path(),
         endpoint: str | None = None, spaces: Sequence[str] = (), out: str | None = None,
         concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """Write a starter manifest of `library` to `out` (relative to `cwd`; else stdout), proven
    to plan to no changes; the exit code."""
    from reconciler.adoption import starter_manifest
    from reconciler.auth import Credentials
    from reconciler.client import SmhReadClient
    from reconciler.clock import utc_now
    from reconciler.endpoints import check_endpoint
    from reconciler.files import located, write_atomic

    if out is not None and Path(located(out, cwd)).exists():
        raise UsageError(f"{out} exists already; init never overwrites a file")
    where = check_endpoint(endpoint or env.get(ENDPOINT_ENV)
                           or f"https://{library}.api.tencentsmh.cn")
    with SmhReadClient(endpoint=where, library=library,
                       credentials=Credentials.from_env(env)) as reader:
        chosen = library_spaces(reader, spaces)
        listed = list_top_levels(reader, chosen, concurrency=concurrency, stream=sys.stderr,
                                 env=env)
    text = starter_manifest(library, listed, endpoint=endpoint, generated_at=utc_now())
    _check_plans_clean(text, where, concurrency, env)
    if out is None:
        click.echo(text, nl=False)
        return 0
    write_atomic(located(out, cwd), text)
    entries = sum(len(entries) for entries in listed.values())
    click.echo(f"Wrote {out}: {len(listed)} space(s), {entries} top-level entries, "
               "and its plan has no changes.", err=True)
    return 0


def _check_plans_clean(text: str, endpoint: str, concurrency: int,
                       env: Mapping[str, str]) -> None:
    """Plan the manifest against the library; fail unless the plan has no changes."""
    import tempfile

    from reconciler.render.common import summary_line
    from reconciler.targets import live_plan, load_spec, make_target

    with tempfile.TemporaryDirectory(prefix="smh-init-") as folder:
        path = Path(folder) / "starter.yaml"
        path.write_text(text, encoding="utf-8")
        _, spec = load_spec([path])
        target = make_target(spec, env, endpoint=endpoint)
        plan = live_plan(target, concurrency=concurrency)
    if plan.is_drifted() or plan.errors:
        raise ReconcileError(
            "the starter manifest does not plan to no changes (the library changed while it "
            f"was listed, or could not be listed): {summary_line(plan)} Run init again.")
