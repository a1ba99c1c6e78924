"""`smh-reconcile explain`: why each remote path is kept, deleted or left alone.

It lists the library as `plan` does (or reads a saved listing), plans, and explains each path
from that plan and the planner's rules (`reconciler.explain`). Read-only: only GET requests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.commands import CREDENTIALS_ENV, ENDPOINT_ENV_HELP, epilog
from reconciler.commands.plan import saved_listing
from reconciler.errors import ReconcileError
from reconciler.options import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from reconciler.desired import LibrarySpec
    from reconciler.listing import LibraryListing, RemoteEntry
    from reconciler.targets import Target


def explain_paths(paths: Sequence[str], remote: Sequence[str], *, env: Mapping[str, str],
                  cwd: Path = Path(), spaces: Sequence[str] = (), fmt: str = "text",
                  endpoint: str | None = None, from_listing: str | None = None,
                  concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """Explain each of `remote` under the manifests `paths` (relative to `cwd`); the exit
    code."""
    from reconciler.explain import explain, to_json, to_text
    from reconciler.planner import make_plan
    from reconciler.targets import load_spec, make_target

    found: dict[tuple[str, str], RemoteEntry | None] = {}
    listing: LibraryListing
    state, spec = load_spec(paths, spaces=spaces, cwd=cwd)
    if from_listing is not None:
        listing = saved_listing(from_listing, state, spec, cwd=cwd)
    else:
        target = make_target(spec, env, endpoint=endpoint)
        listing = _listed(target, spec, remote, found, concurrency=concurrency)
    plan = make_plan(spec, listing)
    explanations = explain(spec, listing, plan, remote, found)
    if fmt == "json":
        click.echo(to_json(spec.library, listing.listed_at, explanations), nl=False)
    else:
        click.echo(to_text(explanations, spaces=len(spec.spaces)), nl=False)
    return 0


def _listed(target: Target, spec: LibrarySpec, remote: Sequence[str],
            found: dict[tuple[str, str], RemoteEntry | None], *,
            concurrency: int) -> LibraryListing:
    """The library listed now; each path the listing did not reach is asked of the server
    (into `found`)."""
    from reconciler.planner import deleted_directories, plan_listed
    from reconciler.walker import walk_library

    with target.reader() as reader:
        listing = walk_library(spec, reader, to_count=deleted_directories,
                               plan_ahead=plan_listed, concurrency=concurrency)
        for space in spec.spaces:
            listed = listing.spaces.get(space.id)
            for raw in remote:
                path = raw.strip("/")
                parent = path.rsplit("/", 1)[0] if "/" in path else ""
                if path and (listed is None or parent not in listed.children):
                    # Not reached by the listing: ask the server whether it is there.
                    try:
                        found[(space.id, path)] = reader.info(space.id, path,
                                                              user_id=space.user_id)
                    except ReconcileError:
                        continue
    return listing


@click.command("explain", epilog=epilog(
    ["smh-reconcile explain manifests/ --path tmp/keep/contract.pdf",
     "smh-reconcile explain prod.yaml --space media --path a.jpg --path b/ --format json",
     "smh-reconcile explain prod.yaml --from-listing listing.json --path logs/app.log"],
    ["0  every path was explained",
     "1  an error: a usage error, a manifest problem, a library that could not be reached"],
    [CREDENTIALS_ENV, ENDPOINT_ENV_HELP]))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--path", "remote", multiple=True, required=True, metavar="REMOTE",
              help="A path in the space, relative to its root (repeatable).")
@click.option("--space", "spaces", multiple=True, metavar="ID",
              help="Explain in this space only (repeatable; default: every space).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people, json for machines.")
@click.option("--endpoint", metavar="URL", help="Override the manifest and SMH_ENDPOINT.")
@click.option("--from-listing", type=click.Path(dir_okay=False), metavar="LISTING",
              help="Explain offline from a listing saved by `smh-reconcile snapshot`.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Directories listed at once.")
def command(
    paths: tuple[str, ...], remote: tuple[str, ...], spaces: tuple[str, ...], fmt: str,
    endpoint: str | None, from_listing: str | None, concurrency: int,
) -> None:
    """Say why each --path is deleted, kept, untouched, missing or absent, with every
    manifest entry that matched it or a directory holding it (file:line), in the order the
    rules weigh them. Sends only GET requests."""
    explain_paths(paths, remote, env=os.environ, spaces=spaces, fmt=fmt, endpoint=endpoint,
                  from_listing=from_listing, concurrency=concurrency)
