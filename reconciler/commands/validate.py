"""`smh-reconcile validate PATH...`: schema and semantic checks of manifests, no network.

Exit 0 with a one-line summary when the manifests are valid; exit 1 with one line per problem
(`FILE:LINE:COL: where: message`) on stderr otherwise. `--format json` prints the problems as a
JSON list on stdout instead (empty when valid), for editors and CI, with the same exit codes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from reconciler.commands import epilog
from reconciler.manifest import check_manifests


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def validate(paths: Sequence[str], *, output_format: str = "text", cwd: Path = Path()) -> int:
    """Check the manifests `paths` (relative to `cwd`) name, report, and return the exit
    code."""
    checked = check_manifests(paths, base=cwd)
    if output_format == "json":
        problems = [problem.to_json() for problem in checked.problems]
        click.echo(json.dumps(problems, indent=2, sort_keys=True, ensure_ascii=False))
        return 0 if checked.ok else 1
    if not checked.ok:
        for problem in checked.problems:
            click.echo(str(problem), err=True)
        return 1
    libraries = "; ".join(
        f"library {library}, {_plural(len(spaces), 'space')}"
        for library, spaces in checked.spaces_by_library().items()
    )
    click.echo(f"{_plural(len(checked.files), 'manifest')} valid: {libraries}")
    return 0


@click.command(name="validate", epilog=epilog(
    ["smh-reconcile validate manifests/", "smh-reconcile validate prod.yaml --format json"],
    ["0  the manifests are valid", "1  a problem in a manifest, or a usage error"]))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per problem on stderr; json: a list of problems on stdout.",
)
@click.pass_context
def command(ctx: click.Context, paths: tuple[str, ...], output_format: str) -> None:
    """Check manifests (files or directories of *.yaml/*.yml) without any network call."""
    ctx.exit(validate(paths, output_format=output_format))
