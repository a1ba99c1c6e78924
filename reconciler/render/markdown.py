"""The plan as a pull-request comment: summary first, details collapsible, always short enough.

GitHub refuses comments over 65,536 characters; a plan of any size renders under
`LIMIT` characters, with a note of how many rows were cut and where the full plan is.
"""

from __future__ import annotations

from reconciler.plan import (
    ClearHistory,
    CreateDirectory,
    Delete,
    DeleteRecycled,
    EmptyRecycleBin,
    Plan,
)
from reconciler.render.common import (
    bin_item_label,
    count,
    display_path,
    grants_line,
    item_size,
    listing_note,
    mode_label,
    refusal_note,
    space_label,
    summary_line,
    warnings,
)

LIMIT = 60_000
MARKER = "<!-- smh-reconcile-plan -->"


def _cell(text: str) -> str:
    """Table-safe inline code: pipes escaped, backticks never closing the span."""
    text = text.replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _plain(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan, *, limit: int = LIMIT, now: str | None = None) -> str:
    head: list[str] = [MARKER, f"### smh-reconcile plan: library `{plan.library}`", ""]
    if plan.listed_at:
        head += [f"Planned offline from {listing_note(plan.listed_at, now)}.", ""]
    head += [f"**{summary_line(plan)}**", ""]
    notes = warnings(plan)
    if notes:
        refusal = refusal_note(plan)
        head += [f"> [!WARNING]\n> {refusal}" if refusal else "> [!WARNING]"]
        head += [f"> - {_plain(note)}" for note in notes]
        head += [""]

    reports = {report.space: report for report in plan.spaces}
    spaces = sorted(set(reports) | {c.space for c in plan.changes
                                    if not isinstance(c, ClearHistory)}
                    | {m.space for m in plan.missing})
    overview = ["| space | listed | delete | recycle | permanent | missing | bin |",
                "|---|---:|---:|---:|---:|---:|---|"]
    for space in spaces:
        deletes = [d for d in plan.deletes if d.space == space]
        report = reports.get(space)
        overview.append(
            f"| {_cell(space)} | {report.listed if report else '-'} | {len(deletes)} | "
            f"{sum(1 for d in deletes if d.final_mode.value == 'recycle')} | "
            f"{sum(1 for d in deletes if d.final_mode.value == 'permanent')} | "
            f"{sum(1 for m in plan.missing if m.space == space)} | "
            f"{'on' if report is None or report.recycle_bin else 'OFF'} |"
        )
    head += [*overview, ""]

    rows_by_space: list[tuple[str, list[str]]] = []
    for space in spaces:
        rows: list[str] = []
        for change in plan.changes:
            if isinstance(change, ClearHistory) or change.space != space:
                continue
            if isinstance(change, Delete):
                sigil = "🔴" if change.final_mode.value == "permanent" else "🟡"
                rows.append(f"| {sigil} delete | {_cell(display_path(change))} | "
                            f"{mode_label(change)} | {_plain(change.reason)} |")
            elif isinstance(change, EmptyRecycleBin):
                rows.append(f"| 🔵 empty bin | ({count(change.items, 'item')} now) | | "
                            f"{_plain(change.reason)} |")
            elif isinstance(change, CreateDirectory):
                rows.append(f"| 🟢 create | {_cell(change.path + '/')} | | "
                            f"{_plain(change.reason)} |")
            elif isinstance(change, DeleteRecycled):
                rows.append(f"| 🔴 delete from bin | {_cell(bin_item_label(change))} | "
                            f"permanent, {item_size(change)} | {_plain(change.reason)} |")
        rows.extend(f"| ⚪ missing | {_cell(m.path)} | | {_plain(m.reason)} |"
                    for m in plan.missing if m.space == space)
        rows_by_space.append((space, rows))

    tail: list[str] = []
    clear = plan.clear_history
    if clear is not None:
        state = "**blocked**: " if clear.blocked else ""
        tail += ["", f"Library maintenance: clear all earlier file versions ({state}"
                     f"{_plain(clear.reason)})."]
    grants = grants_line(plan)
    if grants:
        tail += ["", _plain(grants)]
    tail += ["", "<sub>Apply the saved plan file to carry out exactly this plan.</sub>"]

    budget = limit - len("\n".join(head + tail)) - 500
    body: list[str] = []
    shown = 0
    total = sum(len(rows) for _, rows in rows_by_space)
    for space, rows in rows_by_space:
        if not rows:
            continue
        summary = f"{space_label(space)}: {count(len(rows), 'item')}"
        section = ["<details>", f"<summary>{summary}</summary>",
                   "", "| | path | mode | reason |", "|---|---|---|---|"]
        cost = sum(len(line) + 1 for line in section) + 20
        if cost > budget:
            break
        budget -= cost
        for row in rows:
            if len(row) + 1 > budget:
                break
            section.append(row)
            budget -= len(row) + 1
            shown += 1
        body += [*section, "", "</details>", ""]
    if shown < total:
        body += [f"**{total - shown} of {total} rows are not shown** to keep this comment "
                 "under GitHub's size limit; the full plan is in the plan file and in "
                 "`smh-reconcile show PLANFILE`.", ""]
    return "\n".join(head + body + tail) + "\n"
