"""`smh-reconcile snapshot`: save the listing a plan needs, for planning offline.

Pull requests from forks get no secrets; a trusted job saves a snapshot, and the fork's
job runs `plan --from-listing` on it with no credentials and no network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from reconciler.commands import CREDENTIALS_ENV, ENDPOINT_ENV_HELP, epilog
from reconciler.options import DEFAULT_CONCURRENCY


def snapshot(paths: Sequence[str], *, out: str, env: Mapping[str, str], cwd: Path = Path(),
             spaces: Sequence[str] = (), endpoint: str | None = None,
             concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """Save the listing the manifests `paths` (relative to `cwd`) need to `out`; the exit
    code."""
    from reconciler.files import located, write_atomic
    from reconciler.listing import listing_to_json
    from reconciler.plan import dumps
    from reconciler.targets import live_listing, load_spec, make_target

    state, spec = load_spec(paths, spaces=spaces, cwd=cwd)
    target = make_target(spec, env, endpoint=endpoint)
    listing = live_listing(target, concurrency=concurrency)
    write_atomic(located(out, cwd), dumps(listing_to_json(listing, digest=state.digest)))
    entries = sum(space.entry_count() for space in listing.spaces.values())
    click.echo(f"Saved {entries} entries of {len(listing.spaces)} space(s) of library "
               f"{spec.library} to {out} (listed {listing.listed_at}).")
    return 0


@click.command("snapshot", epilog=epilog(
    ["smh-reconcile snapshot prod.yaml --out listing.json",
     "smh-reconcile plan prod.yaml --from-listing listing.json   # offline, no credentials"],
    ["0  saved", "1  an error (a usage error, a manifest problem, a listing that failed)"],
    [CREDENTIALS_ENV, ENDPOINT_ENV_HELP]))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="LISTING",
              help="Where to save the listing (JSON), for `plan --from-listing`.")
@click.option("--space", "spaces", multiple=True, metavar="ID",
              help="List only this space (repeatable).")
@click.option("--endpoint", metavar="URL", help="Override the manifest and SMH_ENDPOINT.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Directories listed at once.")
def command(
    paths: tuple[str, ...], out: str, spaces: tuple[str, ...], endpoint: str | None,
    concurrency: int,
) -> None:
    """Save what the manifests' plan needs of the library (read-only)."""
    snapshot(paths, out=out, env=os.environ, spaces=spaces, endpoint=endpoint,
             concurrency=concurrency)
