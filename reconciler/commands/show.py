"""`smh-reconcile show PLANFILE`: render a saved plan in any format."""

from __future__ import annotations

import click

from reconciler.commands.plan import emit
from reconciler.pipeline import read_plan_file
from reconciler.render import Format


@click.command("show")
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="text",
              show_default=True)
def command(planfile: str, fmt: str) -> None:
    """Render a plan saved with `plan --out`."""
    emit(read_plan_file(planfile).plan, Format(fmt))
