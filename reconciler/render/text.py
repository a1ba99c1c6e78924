"""The plan for a terminal: grouped by space, one line per item with a sigil and its reason.

Sigils: `-` to the recycle bin, `!` permanent (recycle-bin items too), `+` a directory to
create, `~` maintenance, `?` missing. Colour comes
from rich and only when the caller asks for it (a TTY without NO_COLOR); the words alone
say everything, so a log or a pipe loses nothing.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, NamedTuple

from rich.control import strip_control_codes
from rich.text import Text

from reconciler.desired import PERMANENT
from reconciler.plan import (
    ClearHistory,
    CreateDirectory,
    Delete,
    DeleteRecycled,
    EmptyRecycleBin,
    Missing,
    Plan,
)
from reconciler.render.common import (
    bin_item_label,
    count,
    display_path,
    grants_line,
    item_files,
    item_size,
    listing_note,
    mode_label,
    refusal_note,
    removal_totals,
    space_facts,
    space_label,
    summary_line,
    totals_line,
    visible,
    warnings,
)

if TYPE_CHECKING:
    from rich.console import Console


class _Row(NamedTuple):  # one per item: a tuple is quicker to make than a frozen dataclass
    sigil: str
    style: str
    subject: str
    detail: str
    reason: str
    files: str = ""
    size: str = ""


def _line(row: _Row, width: int, files_width: int, size_width: int) -> Text:
    text = Text("  ")
    text.append(f"{row.sigil} {row.subject.ljust(width)}", style=row.style)
    if files_width or size_width:
        text.append(f"  {row.files.rjust(files_width)}  {row.size.rjust(size_width)}",
                    style="dim")
    text.append(f"  {row.detail.ljust(10)}  ", style=row.style if row.sigil == "!" else "")
    text.append(visible(row.reason), style="dim")
    return text


class _Printer:
    """Lines to a rich console when colour is wanted; otherwise plain text, without rich's
    per-line rendering, which is most of the cost of a plan of a million items (and without
    importing rich's console, about 15 ms)."""

    def __init__(self, color: bool) -> None:
        self._plain: list[str] = []
        self._out = io.StringIO()
        self._console: Console | None = None
        if color:
            from rich.console import Console

            self._console = Console(
                file=self._out,
                force_terminal=True,
                color_system="standard",
                width=200,
                soft_wrap=True,
                highlight=False,
                emoji=False,
            )

    def print(self, text: Text | None = None) -> None:
        if self._console is None:
            self._plain.append("" if text is None else text.plain)
        else:
            self._console.print("" if text is None else text)

    def rows(self, rows: list[_Row]) -> None:
        """One line per row, aligned; plain text is written straight, as `Text.plain` of the
        line would read (the control codes rich strips, stripped)."""
        width = min(60, max((len(row.subject) for row in rows), default=0))
        files_width = max((len(row.files) for row in rows), default=0)
        size_width = max((len(row.size) for row in rows), default=0)
        if self._console is not None:
            for row in rows:
                self._console.print(_line(row, width, files_width, size_width))
            return
        counts = files_width or size_width
        reasons = {reason: visible(reason) for reason in {row.reason for row in rows}}
        lines = (f"  {row.sigil} {row.subject.ljust(width)}"
                 + (f"  {row.files.rjust(files_width)}  {row.size.rjust(size_width)}"
                    if counts else "")
                 + f"  {row.detail.ljust(10)}  {reasons[row.reason]}" for row in rows)
        # A printable line holds none of the codes to strip.
        self._plain.extend(line if line.isprintable() else strip_control_codes(line)
                           for line in lines)

    def value(self) -> str:
        if self._console is None:
            return "".join(line + "\n" for line in self._plain)
        return self._out.getvalue()


def _space_rows(space: str, plan: Plan) -> list[_Row]:
    part = plan.of_space(space)
    changes, missing = part.changes, part.missing
    rows: list[_Row] = []
    for change in changes:
        if isinstance(change, Delete):
            permanent = change.final_mode is PERMANENT
            rows.append(_Row(
                "!" if permanent else "-",
                "bold red" if permanent else "yellow",
                visible(display_path(change)),
                mode_label(change),
                change.reason,
                item_files(change),
                item_size(change),
            ))
        elif isinstance(change, EmptyRecycleBin):
            subject = f"empty the recycle bin ({count(change.items, 'item')} now)"
            rows.append(_Row("~", "cyan", subject, "", change.reason))
        elif isinstance(change, CreateDirectory):
            rows.append(_Row("+", "green", visible(change.path + "/"), "create", change.reason))
        elif isinstance(change, DeleteRecycled):
            rows.append(_Row("!", "bold red", bin_item_label(change), "permanent",
                             change.reason, "", item_size(change)))
    rows.extend(_missing_row(m) for m in missing)
    return rows


def _missing_row(missing: Missing) -> _Row:
    return _Row("?", "magenta", visible(missing.path), "missing", missing.reason)


def render_text(plan: Plan, *, color: bool = False, now: str | None = None,
                force: bool = False) -> str:
    """The plan for a terminal; `force` (apply with `--force`) words the warnings for it."""
    console = _Printer(color)
    title = f"smh-reconcile plan for library {plan.library}"
    if plan.listed_at:
        title += f" (from {listing_note(plan.listed_at, now)})"
    console.print(Text(title, style="bold"))

    spaces = {report.space: report for report in plan.spaces}
    involved = sorted(
        set(spaces)
        | {c.space for c in plan.changes if not isinstance(c, ClearHistory)}
        | {m.space for m in plan.missing}
    )
    for space in involved:
        report = spaces.get(space)
        facts = f"  ({space_facts(report)})" if report is not None else ""
        console.print()
        console.print(Text(space_label(space), style="bold") + Text(facts, style="dim"))
        if report is not None and report.errors:
            for error in report.errors:
                console.print(Text(f"  listing failed: {visible(error)}", style="bold red"))
            continue
        rows = _space_rows(space, plan)
        if not rows:
            console.print(Text("  no changes", style="dim"))
            continue
        console.rows(rows)
        deletes = plan.of_space(space).deletes
        if deletes:
            console.print(Text(f"  = {removal_totals(deletes)}", style="bold"))

    clear = plan.clear_history
    if clear is not None:
        console.print()
        console.print(Text("library", style="bold"))
        label = "clear all earlier file versions"
        if clear.versions is not None:
            label += f" ({clear.versions:,} now)"
        label += " (BLOCKED)" if clear.blocked else ""
        row = _Row("~", "bold red" if clear.blocked else "cyan", label, "maintenance",
                   clear.reason)
        console.print(_line(row, len(label), 0, 0))

    notes = warnings(plan, force=force)
    if notes:
        console.print()
        for note in notes:
            console.print(Text(f"WARNING: {visible(note)}", style="bold red"))
        refusal = refusal_note(plan, force=force)
        if refusal:
            console.print(Text(f"WARNING: {refusal}", style="bold red"))
    console.print()
    console.print(Text(summary_line(plan), style="bold"))
    totals = totals_line(plan)
    if totals:
        console.print(Text(totals, style="bold"))
    grants = grants_line(plan)
    if grants:
        console.print(Text(grants, style="dim"))
    return console.value()

