"""`smh-reconcile show PLANFILE`: render a saved plan in any format."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click

from reconciler.commands import NO_COLOR_ENV, epilog, no_color_option
from reconciler.commands.plan import emit
from reconciler.options import Format


def show(planfile: str, *, env: Mapping[str, str], cwd: Path = Path(),
         fmt: Format = Format.TEXT) -> int:
    """Render the plan saved in `planfile` (relative to `cwd`); the exit code."""
    from reconciler.files import located, read_plan_file

    emit(read_plan_file(located(planfile, cwd)).plan, fmt, env)
    return 0


@click.command("show", epilog=epilog(
    ["smh-reconcile show plan.json", "smh-reconcile show plan.json --format markdown"],
    ["0  shown", "1  an error (a usage error, a file that is not a plan)"],
    [NO_COLOR_ENV]))
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="text",
              show_default=True)
@no_color_option
def command(planfile: str, fmt: str) -> None:
    """Render a plan saved with `plan --out`."""
    show(planfile, env=os.environ, fmt=Format(fmt))
