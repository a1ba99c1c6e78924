"""`smh-reconcile plan`: list the library, diff it against the manifests, print the plan.

Read-only by construction: the client it uses can send nothing but GET. With
`--from-listing` it plans from a saved snapshot instead, with no credentials and no network.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
from reconciler.errors import ReconcileError
from reconciler.options import DEFAULT_CONCURRENCY, Format

if TYPE_CHECKING:
    from reconciler.desired import DesiredState, LibrarySpec
    from reconciler.listing import LibraryListing
    from reconciler.plan import Plan


def saved_listing(path: str, state: DesiredState, spec: LibrarySpec, *,
                  cwd: Path = Path()) -> LibraryListing:
    """The listing a `snapshot` saved (`path` relative to `cwd`), checked to be of the
    manifests' library."""
    from reconciler.files import located, read_json
    from reconciler.listing import listing_from_json

    try:
        listing, digest = listing_from_json(read_json(located(path, cwd), "listing"))
    except ValueError as error:
        raise ReconcileError(f"{path}: {error}") from None
    if listing.library != spec.library:
        raise ReconcileError(
            f"{path} lists library {listing.library}, the manifests describe {spec.library}"
        )
    if digest != state.digest:
        click.echo("Warning: the manifests changed since this listing was made; "
                   "directories the new rules need may be missing from it.", err=True)
    return listing


def plan_exit_code(plan: Plan, *, detailed: bool) -> int:
    """0, or 1 when a space could not be listed, or 2 for drift with --detailed-exitcode."""
    if plan.errors:
        return 1
    return 2 if detailed and plan.is_drifted() else 0


def emit(plan: Plan, fmt: Format, env: Mapping[str, str]) -> None:
    from reconciler.clock import utc_now
    from reconciler.render import render

    rendered = render(plan, fmt, color=colour(sys.stdout, env), now=utc_now())
    click.echo(rendered, nl=False)


def plan(paths: Sequence[str], *, env: Mapping[str, str], cwd: Path = Path(),
         spaces: Sequence[str] = (), fmt: Format = Format.TEXT, out: str | None = None,
         detailed_exitcode: bool = False, endpoint: str | None = None,
         from_listing: str | None = None, concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """Plan the manifests `paths` (relative to `cwd`) with the environment `env`, print the
    plan, save it to `out`; the exit code."""
    from reconciler.apply.planfile import sign
    from reconciler.clock import utc_now
    from reconciler.files import located, write_atomic
    from reconciler.plan import PlanFile, dumps
    from reconciler.planner import make_plan
    from reconciler.targets import live_plan, load_spec, make_target

    state, spec = load_spec(paths, spaces=spaces, cwd=cwd)
    if from_listing is not None:
        made = make_plan(spec, saved_listing(from_listing, state, spec, cwd=cwd))
        where = spec.default_endpoint
    else:
        target = make_target(spec, env, endpoint=endpoint)
        made = live_plan(target, concurrency=concurrency)
        where = target.endpoint
    if out is not None:
        saved = sign(PlanFile(
            plan=made, endpoint=where, manifest_digest=state.digest,
            manifest_files=spec.sources, created_at=utc_now(),
            manifest_digests={path: state.file_digests[path] for path in spec.sources},
        ), env)
        write_atomic(located(out, cwd), dumps(saved.to_json()))
    emit(made, fmt, env)
    if out is not None and fmt is Format.TEXT:
        click.echo(f"\nSaved the plan to {out}; apply exactly this plan with "
                   f"`smh-reconcile apply {out}`.")
    return plan_exit_code(made, detailed=detailed_exitcode)


@click.command("plan", epilog=epilog(
    ["smh-reconcile plan manifests/ --out plan.json",
     "smh-reconcile plan prod.yaml --format markdown > plan.md",
     "smh-reconcile plan prod.yaml --detailed-exitcode   # in a drift job"],
    ["0  the plan was made (with --detailed-exitcode: and it has no changes)",
     "1  an error: a usage error, a manifest problem, a space that could not be listed",
     "2  only with --detailed-exitcode: the plan has changes or missing paths"],
    [CREDENTIALS_ENV, ENDPOINT_ENV_HELP, SIGNING_ENV, NO_COLOR_ENV]))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--space", "spaces", multiple=True, metavar="ID",
              help="Plan only this space (repeatable).")
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="text",
              show_default=True, help="text for terminals, json for machines, markdown for PRs.")
@click.option("--out", type=click.Path(dir_okay=False), metavar="PLANFILE",
              help="Save the plan, with fingerprints, for `apply PLANFILE`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan has changes or missing paths, 0 when none.")
@click.option("--endpoint", metavar="URL", help="Override the manifest and SMH_ENDPOINT.")
@click.option("--from-listing", type=click.Path(dir_okay=False), metavar="LISTING",
              help="Plan offline from a listing saved by `smh-reconcile snapshot`.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Directories listed at once.")
@no_color_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    spaces: tuple[str, ...],
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    endpoint: str | None,
    from_listing: str | None,
    concurrency: int,
) -> None:
    """Show what apply would change. Sends only GET requests."""
    ctx.exit(plan(paths, env=os.environ, spaces=spaces, fmt=Format(fmt), out=out,
                  detailed_exitcode=detailed_exitcode, endpoint=endpoint,
                  from_listing=from_listing, concurrency=concurrency))
