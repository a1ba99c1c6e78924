"""The `smh-reconcile` command group: a thin parser around one call per command.

Each command lives in `reconciler.commands.<name>` and exposes a click command named
`command`, added here in the order `--help` lists them. Expected errors (`ReconcileError`)
print one clear line per problem to stderr and exit with their code; they never show a
traceback.
"""

from __future__ import annotations

from typing import Any

import click

from reconciler import __version__
from reconciler.collector import one_run_per_process
from reconciler.commands import (
    CREDENTIALS_ENV,
    ENDPOINT_ENV_HELP,
    NO_COLOR_ENV,
    apply,
    coverage,
    demo,
    emulator,
    epilog,
    explain,
    init,
    no_color_option,
    plan,
    print_error,
    show,
    snapshot,
    undo,
    validate,
)
from reconciler.errors import ReconcileError

# In the order `--help` lists them.
COMMANDS = (validate, plan, show, apply, undo, snapshot, explain, init, coverage, emulator,
            demo)


EXIT_USAGE = 1
"""A usage error exits 1 like any error: 2 is `--detailed-exitcode`'s "the plan has changes"."""


class _Group(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            error.show()
            raise click.exceptions.Exit(EXIT_USAGE) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            error.show()
            raise click.exceptions.Exit(EXIT_USAGE) from None
        except ReconcileError as error:
            print_error(error)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=epilog(
                 ["smh-reconcile plan prod.yaml --out plan.json",
                  "smh-reconcile apply plan.json --report report.json",
                  "smh-reconcile COMMAND --help"],
                 ["0    success (plan --detailed-exitcode: no changes)",
                  "1    an error, a usage error, a refusal, an item apply did not carry out",
                  "2    only with plan --detailed-exitcode: the plan has changes",
                  "130  interrupted"],
                 [CREDENTIALS_ENV, ENDPOINT_ENV_HELP, NO_COLOR_ENV]))
@click.version_option(__version__, prog_name="smh-reconcile")
@no_color_option
def main() -> None:
    """Declarative reconcile for Tencent Cloud Smart Media Hosting libraries."""


for _module in COMMANDS:
    main.add_command(_module.command)


def run() -> None:
    """The command line as a process runs it (`smh-reconcile`, `python -m reconciler`): one
    command, then the process ends."""
    one_run_per_process()
    main()
