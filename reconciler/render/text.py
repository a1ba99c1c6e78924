"""The plan for a terminal: grouped by space, one line per item with a sigil and its reason.

Sigils: `-` to the recycle bin, `!` permanent, `~` maintenance, `?` missing. Colour comes
from rich and only when the caller asks for it (a TTY without NO_COLOR); the words alone
say everything, so a log or a pipe loses nothing.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from reconciler.desired import Mode
from reconciler.plan import ClearHistory, Delete, EmptyRecycleBin, Missing, Plan
from reconciler.render.common import (
    count,
    display_path,
    listing_note,
    mode_label,
    refusal_note,
    space_label,
    summary_line,
    visible,
    warnings,
)


def _line(sigil: str, style: str, subject: str, detail: str, reason: str, width: int) -> Text:
    text = Text("  ")
    text.append(f"{sigil} {subject.ljust(width)}", style=style)
    text.append(f"  {detail.ljust(10)}  ", style=style if sigil == "!" else "")
    text.append(visible(reason), style="dim")
    return text


def _space_lines(space: str, plan: Plan) -> list[Text]:
    changes = [c for c in plan.changes if not isinstance(c, ClearHistory) and c.space == space]
    missing = [m for m in plan.missing if m.space == space]
    subjects: list[tuple[str, str, str, str, str]] = []
    for change in changes:
        if isinstance(change, Delete):
            permanent = change.final_mode is Mode.PERMANENT
            subjects.append((
                "!" if permanent else "-",
                "bold red" if permanent else "yellow",
                visible(display_path(change)),
                mode_label(change),
                change.reason,
            ))
        elif isinstance(change, EmptyRecycleBin):
            subject = f"empty the recycle bin ({count(change.items, 'item')} now)"
            subjects.append(("~", "cyan", subject, "", change.reason))
    subjects.extend(_missing_line(m) for m in missing)
    width = min(60, max((len(s[2]) for s in subjects), default=0))
    return [_line(*subject, width=width) for subject in subjects]


def _missing_line(missing: Missing) -> tuple[str, str, str, str, str]:
    return ("?", "magenta", visible(missing.path), "missing", missing.reason)


def render_text(plan: Plan, *, color: bool = False, now: str | None = None,
                force: bool = False) -> str:
    """The plan for a terminal; `force` (apply with `--force`) words the warnings for it."""
    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=200,
        soft_wrap=True,
        highlight=False,
        emoji=False,
    )
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
        facts = ""
        if report is not None:
            facts = (f"  (listed {report.listed} entries, recycle bin "
                     f"{'on' if report.recycle_bin else 'OFF'})")
        console.print()
        console.print(Text(space_label(space), style="bold") + Text(facts, style="dim"))
        lines = _space_lines(space, plan)
        if report is not None and report.errors:
            lines = [Text(f"  listing failed: {visible(e)}", style="bold red")
                     for e in report.errors]
        for line in lines or [Text("  no changes", style="dim")]:
            console.print(line)

    clear = plan.clear_history
    if clear is not None:
        console.print()
        console.print(Text("library", style="bold"))
        label = "clear all earlier file versions" + (" (BLOCKED)" if clear.blocked else "")
        console.print(_line("~", "bold red" if clear.blocked else "cyan", label, "maintenance",
                            clear.reason, width=len(label)))

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
    return out.getvalue()

