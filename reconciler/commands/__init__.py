"""One module per command; each exposes a click command named `command`, a thin parser around
a plain typed function that does the work (taking the environment as a mapping).

Also what the commands share on the command line: the `--no-color` flag (on the group and on
each command that draws colour), whether colour is wanted, and the help epilog every command
ends with (examples, exit codes, environment).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO, TypeVar

import click

from reconciler.errors import ReconcileError
from reconciler.terminal import color_wanted

_F = TypeVar("_F", bound=Callable[..., Any])

NO_COLOR_KEY = "smh_reconcile.no_color"

CREDENTIALS_ENV = ("SMH_ACCESS_TOKEN or SMH_LIBRARY_SECRET (credentials; from the secret, tokens "
                   "with just the grants needed are minted)")
ENDPOINT_ENV_HELP = "SMH_ENDPOINT (overrides the manifest's endpoint; --endpoint overrides it)"
NO_COLOR_ENV = "NO_COLOR (or --no-color: no colour, no progress bar)"
SIGNING_ENV = ("SMH_PLAN_SIGNING_KEY (plan --out signs the plan file with it; apply refuses a "
               "plan file whose signature is missing or wrong)")


def _remember_no_color(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta[NO_COLOR_KEY] = True


def no_color_option(function: _F) -> _F:
    """`--no-color`: as NO_COLOR, for this run."""
    return click.option("--no-color", is_flag=True, expose_value=False, is_eager=True,
                        callback=_remember_no_color,
                        help="No colour and no progress bar (as NO_COLOR).")(function)


def colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour (and a live progress bar) on `stream`: a terminal, no NO_COLOR in `env`, no
    --no-color."""
    context = click.get_current_context(silent=True)
    if context is not None and context.find_root().meta.get(NO_COLOR_KEY):
        return False
    return color_wanted(stream, env)


def print_error(error: ReconcileError) -> None:
    """An expected error as the command line shows it: one line per problem, on stderr."""
    for line in error.message.splitlines() or ["error"]:
        click.echo(f"Error: {line}" if not line.startswith(("Error", " ")) else line, err=True)


def epilog(examples: Sequence[str], exit_codes: Sequence[str],
           environment: Sequence[str] = ()) -> str:
    """The end of a command's `--help`: examples, exit codes and environment, kept as laid out."""
    lines = ["\b", "Examples:", *(f"  {example}" for example in examples), "",
             "\b", "Exit codes:", *(f"  {code}" for code in exit_codes)]
    if environment:
        lines += ["", "\b", "Environment:", *(f"  {name}" for name in environment)]
    return "\n".join(lines)
