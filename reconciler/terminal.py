"""The terminal a command talks to: whether it wants colour, whether a person can answer, and
asking that person for `yes`."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

import click

from reconciler.errors import ReconcileError


def color_wanted(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never under NO_COLOR (https://no-color.org)."""
    return stream.isatty() and not env.get("NO_COLOR")


def interactive() -> bool:
    """Whether a person can answer the confirmation prompt."""
    return sys.stdin.isatty()


def confirm(question: str, *, auto_approve: bool, verb: str = "apply") -> None:
    """Ask for `yes` on a terminal; without one, refuse unless `--auto-approve` was given."""
    if auto_approve:
        return
    if not interactive():
        raise ReconcileError(
            f"refusing to {verb} without confirmation: not running in a terminal; review the "
            f"{'plan' if verb == 'apply' else 'preview'} and pass --auto-approve to {verb} "
            "unattended"
        )
    answer = click.prompt(f"\n{question} Only 'yes' will be accepted", default="",
                          show_default=False)
    if answer.strip() != "yes":
        raise ReconcileError(f"{verb} cancelled; nothing was changed")
