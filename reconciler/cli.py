"""The `smh-reconcile` command group: a thin parser around one call per command.

Each command lives in `reconciler.commands.<name>` and exposes a click command named
`command`. Expected errors (`ReconcileError`) print one clear line per problem to stderr and
exit with their code; they never show a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import ReconcileError

# Command modules, in the order `--help` lists them.
COMMANDS = (
    "validate",
    "plan",
    "show",
    "apply",
    "undo",
    "snapshot",
    "init",
    "coverage",
    "emulator",
    "demo",
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReconcileError as error:
            for line in error.message.splitlines() or ["error"]:
                click.echo(f"Error: {line}" if not line.startswith(("Error", " ")) else line,
                           err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="smh-reconcile")
def main() -> None:
    """Declarative reconcile for Tencent Cloud Smart Media Hosting libraries."""


def _register() -> None:
    for name in COMMANDS:
        main.add_command(importlib.import_module(f"reconciler.commands.{name}").command)


_register()
