"""The plan as a pull-request comment: summary first, every space's heading, always short enough.

GitHub refuses comments over 65,536 characters; a plan of any size renders under `LIMIT`
characters. Every space with changes keeps its heading and counts however many rows are cut;
rows are cut recycle deletes first, then maintenance and missing paths, permanent deletes last,
and when any permanent delete is cut the comment's first lines say how many, per space.

Nothing a manifest or a server name holds can change the rendering: every path, pattern and
reason is an inline code span (fenced with more backticks than it holds, pipes escaped inside
tables, invisible characters written as escapes), and the few words of prose that quote such
values have every Markdown character backslash-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from reconciler.desired import Mode
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
    summary_line,
    totals_line,
    visible,
    warnings,
)
from reconciler.units import format_size

LIMIT: Final = 60_000
MARKER: Final = "<!-- smh-reconcile-plan -->"
# Room kept for the per-space "not shown" lines and the opening note, written after the rows
# are chosen.
NOTE_ROOM: Final = 400

# Characters that mean something to CommonMark or GitHub (`$` is math) where prose quotes a value.
_PROSE_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~!#$])")

# The rows' columns, in order: a row is one cell per column.
COLUMNS: Final = ("", "path", "files", "size", "mode", "reason")


class Rank:
    """Which rows are cut first when the comment is too long: the highest rank."""

    PERMANENT = 0
    OTHER = 1  # emptying a recycle bin, a missing path
    RECYCLE = 2


def code(text: str, *, in_table: bool = True) -> str:
    """`text` as an inline code span that shows exactly `text`, whatever it holds."""
    text = visible(text)
    if not text:
        return ""
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = text.strip(" ") != "" and (
        text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ")
    )
    return f"{fence} {text} {fence}" if pad else f"{fence}{text}{fence}"


def prose(text: str) -> str:
    """`text` as Markdown prose that renders as written (no emphasis, links, HTML or math)."""
    return _PROSE_SPECIAL.sub(r"\\\1", visible(text))


def table_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_head(columns: Sequence[str], align: Sequence[str] | None = None) -> list[str]:
    """The header and delimiter lines; `align` is each column's delimiter (default `---`)."""
    return ["| " + " | ".join(columns) + " |",
            "|" + "|".join(align or ["---"] * len(columns)) + "|"]


@dataclass(frozen=True, slots=True)
class Row:
    rank: int
    cells: tuple[str, ...]

    @property
    def line(self) -> str:
        return table_row(self.cells)


def delete_row(delete: Delete) -> Row:
    permanent = delete.final_mode is Mode.PERMANENT
    return Row(
        Rank.PERMANENT if permanent else Rank.RECYCLE,
        ("🔴 delete" if permanent else "🟡 delete", code(display_path(delete)),
         item_files(delete), item_size(delete), mode_label(delete), code(delete.reason)),
    )


def empty_bin_row(change: EmptyRecycleBin) -> Row:
    return Row(Rank.OTHER, ("🔵 empty bin", f"({count(change.items, 'item')} now)", "", "", "",
                            code(change.reason)))


def create_row(change: CreateDirectory) -> Row:
    return Row(Rank.OTHER, ("🟢 create", code(change.path + "/"), "", "", "",
                            code(change.reason)))


def bin_delete_row(change: DeleteRecycled) -> Row:
    """A recycle-bin item deleted for good: a permanent delete, by its original path."""
    return Row(Rank.PERMANENT, ("🔴 delete from bin", code(bin_item_label(change)), "",
                                item_size(change), "permanent", code(change.reason)))


def missing_row(missing: Missing) -> Row:
    return Row(Rank.OTHER, ("⚪ missing", code(missing.path), "", "", "",
                            code(missing.reason)))


@dataclass(frozen=True, slots=True)
class Section:
    """One space's part of the comment: its heading (always shown) and its rows."""

    space: str
    heading: tuple[str, ...]
    rows: tuple[Row, ...]


def space_title(space: str) -> str:
    if space == "-":
        return "space `-` (single-tenant)"
    return f"space {code(space, in_table=False)}"


def _space_counts(plan: Plan, space: str) -> str:
    part = plan.of_space(space)
    deletes = part.deletes
    permanent = sum(1 for d in deletes if d.final_mode is Mode.PERMANENT)
    parts = []
    if deletes:
        detail = [f"{permanent} permanently"] if permanent else []
        if len(deletes) - permanent:
            detail.append(f"{len(deletes) - permanent} to the recycle bin")
        parts.append(f"{len(deletes)} to delete ({', '.join(detail)})")
    if any(isinstance(c, EmptyRecycleBin) for c in part.changes):
        parts.append("recycle bin to empty")
    created = sum(1 for c in part.changes if isinstance(c, CreateDirectory))
    if created:
        parts.append(f"{count(created, 'directory', 'directories')} to create")
    binned = sum(1 for c in part.changes if isinstance(c, DeleteRecycled))
    if binned:
        parts.append(f"{count(binned, 'recycle-bin item')} to delete permanently")
    missing = len(part.missing)
    if missing:
        parts.append(count(missing, "missing path"))
    return ", ".join(parts)


# A space that could not be listed shows this many of its errors (each in a code span).
SHOWN_ERRORS: Final = 5


def _listing_errors(plan: Plan, space: str) -> tuple[str, ...]:
    errors = [error for where, error in plan.errors if where == space]
    if not errors:
        return ()
    lines = [f"Listing failed, so no deletes are planned here ({count(len(errors), 'error')}):",
             ""]
    lines += [f"- {code(error[:500], in_table=False)}" for error in errors[:SHOWN_ERRORS]]
    if len(errors) > SHOWN_ERRORS:
        lines.append(f"- and {len(errors) - SHOWN_ERRORS} more")
    return (*lines, "")


def sections(plan: Plan, spaces: Sequence[str]) -> list[Section]:
    """Each space with rows or listing errors; within one, permanent deletes first, then the
    plan's order."""
    result = []
    for space in spaces:
        rows: list[Row] = []
        part = plan.of_space(space)
        for change in part.changes:
            if isinstance(change, Delete):
                rows.append(delete_row(change))
            elif isinstance(change, EmptyRecycleBin):
                rows.append(empty_bin_row(change))
            elif isinstance(change, CreateDirectory):
                rows.append(create_row(change))
            else:
                rows.append(bin_delete_row(change))
        rows.extend(missing_row(m) for m in part.missing)
        errors = _listing_errors(plan, space)
        if not rows and not errors:
            continue
        ordered = sorted(rows, key=lambda row: row.rank != Rank.PERMANENT)
        counts = _space_counts(plan, space) or "listing failed"
        deletes = part.deletes
        totals = (prose(removal_totals(deletes)[0].upper() + removal_totals(deletes)[1:]) + ".",
                  "") if deletes else ()
        heading = (f"#### {space_title(space)}: {counts}", "", *totals, *errors)
        result.append(Section(space, heading, tuple(ordered)))
    return result


def choose_rows(all_sections: Sequence[Section], budget: int) -> list[set[int]]:
    """Which rows of each section fit in `budget` characters.

    Rank by rank, one row per section at a time (so no space crowds the others out); once a
    row of a rank does not fit, no row of a later rank is shown, so that a recycle row is never
    shown while a permanent delete is cut.
    """
    shown: list[set[int]] = [set() for _ in all_sections]
    header_cost = sum(len(line) + 1 for line in table_head(COLUMNS)) + len(
        "<details open>\n<summary></summary>\n\n\n</details>\n") + 40
    opened: set[int] = set()
    for rank in (Rank.PERMANENT, Rank.OTHER, Rank.RECYCLE):
        queues = [[i for i, row in enumerate(section.rows) if row.rank == rank]
                  for section in all_sections]
        full = False
        active = [s for s, queue in enumerate(queues) if queue]
        while active:
            still = []
            for s in active:
                row = queues[s].pop(0)
                cost = len(all_sections[s].rows[row].line) + 1
                cost += 0 if s in opened else header_cost
                if cost > budget:
                    full = True
                    continue
                budget -= cost
                opened.add(s)
                shown[s].add(row)
                if queues[s]:
                    still.append(s)
            active = still
        if full:
            break
    return shown


def _cut_note(all_sections: Sequence[Section], shown: Sequence[set[int]]) -> list[str]:
    """The opening lines when permanent deletes are cut: how many, per space."""
    cut: list[tuple[str, int, int]] = []
    for section, rows in zip(all_sections, shown, strict=True):
        permanent = [i for i, row in enumerate(section.rows) if row.rank == Rank.PERMANENT]
        hidden = sum(1 for i in permanent if i not in rows)
        if hidden:
            cut.append((space_title(section.space), hidden, len(permanent)))
    if not cut:
        return []
    total = sum(hidden for _, hidden, _ in cut)
    per_space = "; ".join(f"{title}: {hidden} of {of}" for title, hidden, of in cut)
    return ["> [!CAUTION]",
            f"> **{count(total, 'permanent delete')} not shown** to keep this comment under "
            f"GitHub's size limit: {per_space}. The full plan is in the plan file "
            "and in `smh-reconcile show PLANFILE`.", ""]


def _section_lines(section: Section, rows: set[int]) -> list[str]:
    lines = list(section.heading)
    if rows:
        has_permanent = any(section.rows[i].rank == Rank.PERMANENT for i in rows)
        lines += ["<details open>" if has_permanent else "<details>",
                  f"<summary>{count(len(rows), 'row')} of {len(section.rows)}</summary>"
                  if len(rows) < len(section.rows) else
                  f"<summary>{count(len(section.rows), 'item')}</summary>",
                  "", *table_head(COLUMNS)]
        lines += [row.line for i, row in enumerate(section.rows) if i in rows]
        lines += ["", "</details>", ""]
    hidden = len(section.rows) - len(rows)
    if hidden:
        ranks = [row.rank for i, row in enumerate(section.rows) if i not in rows]
        kinds = [f"{ranks.count(Rank.RECYCLE)} to the recycle bin"] if Rank.RECYCLE in ranks \
            else []
        if Rank.PERMANENT in ranks:
            kinds.insert(0, f"{ranks.count(Rank.PERMANENT)} permanent")
        if Rank.OTHER in ranks:
            kinds.append(f"{ranks.count(Rank.OTHER)} other")
        lines += [f"*{hidden} of {count(len(section.rows), 'row')} not shown "
                  f"({', '.join(kinds)}); the full plan is in the plan file.*", ""]
    return lines


def render_markdown(plan: Plan, *, limit: int = LIMIT, now: str | None = None) -> str:
    head: list[str] = [f"### smh-reconcile plan: library {code(plan.library, in_table=False)}",
                       ""]
    if plan.listed_at:
        head += [f"Planned offline from {prose(listing_note(plan.listed_at, now))}.", ""]
    head += [f"**{summary_line(plan)}**", ""]
    totals = totals_line(plan)
    if totals:
        head += [totals, ""]
    notes = warnings(plan)
    if notes:
        refusal = refusal_note(plan)
        head += [f"> [!WARNING]\n> {refusal}" if refusal else "> [!WARNING]"]
        head += [f"> - {prose(note)}" for note in notes]
        head += [""]

    reports = {report.space: report for report in plan.spaces}
    spaces = sorted(set(reports) | {c.space for c in plan.changes
                                    if not isinstance(c, ClearHistory)}
                    | {m.space for m in plan.missing})
    overview = table_head(["space", "files", "delete", "recycle", "permanent", "removes",
                           "missing", "bin"],
                          ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---"])
    for space in spaces:
        deletes = plan.of_space(space).deletes
        report = reports.get(space)
        files = sum(d.files for d in deletes)
        overview.append(table_row([
            code(space),
            f"{report.files:,}{'+' if report.files_estimated else ''}" if report else "-",
            str(len(deletes)),
            str(sum(1 for d in deletes if d.final_mode is Mode.RECYCLE)),
            str(sum(1 for d in deletes if d.final_mode is Mode.PERMANENT)),
            f"{files:,} {'file' if files == 1 else 'files'}, "
            f"{format_size(sum(d.bytes or 0 for d in deletes))}" if deletes else "",
            str(len(plan.of_space(space).missing)),
            "on" if report is None or report.recycle_bin else "OFF",
        ]))
    head += [*overview, ""]

    tail: list[str] = []
    clear = plan.clear_history
    if clear is not None:
        state = "**blocked**: " if clear.blocked else ""
        tail += [f"Library maintenance: clear all earlier file versions ({state}"
                 f"{code(clear.reason, in_table=False)}).", ""]
    grants = grants_line(plan)
    if grants:
        tail += [prose(grants), ""]
    tail += ["<sub>Apply the saved plan file to carry out exactly this plan.</sub>"]

    parts = sections(plan, spaces)
    fixed = len("\n".join([MARKER, *head, *tail])) + sum(
        len(line) + 1 for section in parts for line in section.heading)
    budget = limit - fixed - NOTE_ROOM * (len(parts) + 1)
    shown = choose_rows(parts, budget)
    body = [line for section, rows in zip(parts, shown, strict=True)
            for line in _section_lines(section, rows)]
    return "\n".join([MARKER, *_cut_note(parts, shown), *head, *body, *tail]) + "\n"
