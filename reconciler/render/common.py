"""Wording shared by the text and Markdown renders, so both say the same thing."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence

from reconciler.auth import apply_grants
from reconciler.desired import PERMANENT, RECYCLE, Mode
from reconciler.listing import DIR, FILE, Counted
from reconciler.plan import Delete, DeleteRecycled, Plan, SpaceReport
from reconciler.units import format_size

# Characters that draw nothing, or change how the characters around them are drawn: controls,
# format characters (the bidi embeddings, overrides, isolates and marks among them, zero-width
# joiners, the byte-order mark) and line or paragraph separators.
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if unicodedata.category(char) not in _UNSEEN_CATEGORIES:
        return char
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def visible(text: str) -> str:
    """`text` with every control, bidi and other invisible character written as an escape
    (`\\x1b`, `\\u202e`), so that a name reads as what it is and never reorders or hides
    its neighbours. The text and Markdown renders show every name, path, pattern and reason
    through this; JSON keeps them exact."""
    if text.isprintable():
        return text
    return "".join(_escape_char(char) for char in text)


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 item`, `3 items`."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def display_path(delete: Delete) -> str:
    """A delete's path as people read it: directories end in `/`."""
    return delete.path + "/" if delete.type is DIR else delete.path


def item_files(delete: Delete) -> str:
    """`48,112 files` for a directory item (counted by listing where the server gave no
    stats); empty for a file, whose size says it all."""
    if delete.type is FILE:
        return ""
    text = f"{delete.files:,} {'file' if delete.files == 1 else 'files'}"
    return text + " (listed)" if delete.counted is Counted.LISTING else text


def bin_item_label(item: DeleteRecycled) -> str:
    """`tmp/old.log (recycle bin #7, removed 400d ago)`: a bin item by its original path."""
    path = item.original_path + ("/" if item.type is DIR else "")
    return f"{path} (recycle bin #{item.recycled_item_id}, removed {item.age or '?'} ago)"


def item_size(delete: Delete | DeleteRecycled) -> str:
    return format_size(delete.bytes)


def removal_totals(deletes: Sequence[Delete]) -> str:
    """`removes 48,120 files, 3.1 GB: 2.9 GB to the recycle bin, 0.2 GB permanently`."""
    files = sum(delete.files for delete in deletes)
    by_mode = {mode: sum(d.bytes or 0 for d in deletes if d.final_mode is mode) for mode in Mode}
    parts = []
    if any(d.final_mode is RECYCLE for d in deletes):
        parts.append(f"{format_size(by_mode[RECYCLE])} to the recycle bin")
    if any(d.final_mode is PERMANENT for d in deletes):
        parts.append(f"{format_size(by_mode[PERMANENT])} permanently")
    unknown = sum(1 for d in deletes if d.bytes is None)
    total = format_size(sum(by_mode.values()))
    text = f"removes {files:,} {'file' if files == 1 else 'files'}, {total}: {', '.join(parts)}"
    return text + (f" ({unknown} of unknown size)" if unknown else "")


def totals_line(plan: Plan) -> str | None:
    """`Removes 97 files, 774.3 MB: ...` for a plan with deletes."""
    if not plan.deletes:
        return None
    text = removal_totals(plan.deletes)
    return text[0].upper() + text[1:] + "."


def space_facts(report: SpaceReport) -> str:
    """`holds 184 files, listed 23 entries, recycle bin on`."""
    holds = f"{report.files:,}{'+' if report.files_estimated else ''}"
    return (f"holds {holds} {'file' if report.files == 1 else 'files'}, listed "
            f"{report.listed} entries, recycle bin {'on' if report.recycle_bin else 'OFF'}")


def mode_label(delete: Delete) -> str:
    if delete.final_mode is not delete.mode:
        return f"{delete.mode.value} -> {delete.final_mode.value} (no recycle bin)"
    return delete.mode.value


def space_label(space: str) -> str:
    return "space - (single-tenant)" if space == "-" else f"space {space}"


def summary_line(plan: Plan) -> str:
    """`Plan: 3 to delete (2 to the recycle bin, 1 permanently), ...` or `No changes.`"""
    summary = plan.summary()
    parts: list[str] = []
    if summary["delete"]:
        recycle = sum(1 for d in plan.deletes if d.final_mode is RECYCLE)
        permanent = summary["delete"] - recycle
        detail = []
        if recycle:
            detail.append(f"{recycle} to the recycle bin")
        if permanent:
            detail.append(f"{permanent} permanently")
        parts.append(f"{summary['delete']} to delete ({', '.join(detail)})")
    if summary["create_directory"]:
        parts.append(f"{count(summary['create_directory'], 'directory', 'directories')} "
                     "to create")
    if summary["delete_recycled"]:
        parts.append(f"{count(summary['delete_recycled'], 'recycle-bin item')} to delete "
                     "permanently")
    if summary["empty_recycle_bin"]:
        parts.append(f"{count(summary['empty_recycle_bin'], 'recycle bin')} to empty")
    if summary["clear_history"]:
        parts.append("earlier file versions to clear")
    if summary["missing"]:
        parts.append(f"{count(summary['missing'], 'missing path')} apply cannot create")
    if summary["errors"]:
        parts.append(count(summary["errors"], "listing error"))
    if plan.errors:
        return "Plan INCOMPLETE: no deletes are planned in a space that could not be listed; " + (
            ", ".join(parts) + "."
        )
    if not plan.has_changes():
        head = "No changes. The library matches the manifests"
        return head + ("; " + "; ".join(parts) + "." if parts else ".")
    return "Plan: " + ", ".join(parts) + "."


FORCE_HINT = " (use --force to apply anyway)"


def warnings(plan: Plan, *, force: bool = False) -> list[str]:
    """What apply will refuse, one line each: the plan's own refusals, never a second list;
    then what the plan left alone for its reviewer to look at (`Plan.warnings`).

    With `force` (an apply run with `--force`), the limits it passes are still listed, without
    the hint to use `--force`."""
    notes = plan.refusals(force=False)
    if force:
        notes = [note.removesuffix(FORCE_HINT) for note in notes]
    return [*notes, *(warning.describe() for warning in plan.warnings)]


def refusal_note(plan: Plan, *, force: bool = False) -> str | None:
    if plan.refusals(force=True):
        return "apply will refuse this plan"
    if plan.refusals(force=False):
        return ("--force: apply goes ahead despite these" if force
                else "apply will refuse this plan unless run with --force")
    return None


def listing_note(listed_at: str, now: str | None) -> str:
    """`a listing made 2026-11-23T09:00:00.000Z, 2 h 5 min old` (the age when `now` is known)."""
    note = f"a listing made {listed_at}"
    try:
        made = dt.datetime.fromisoformat(listed_at.replace("Z", "+00:00"))
        seconds = int((dt.datetime.fromisoformat(now.replace("Z", "+00:00")) - made)
                      .total_seconds()) if now else None
    except ValueError:
        seconds = None
    if seconds is None:
        return note
    if seconds < 0:
        return note + " (in the future: check the clocks)"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    parts.append(f"{minutes} min")
    return f"{note}, {' '.join(parts)} old"


def grants_line(plan: Plan) -> str | None:
    """`Apply needs a token granting delete_directory, delete_file (space -).`: the plan is
    made with a read-only token; this is what the one for apply must grant."""
    grants = apply_grants(plan)
    if not grants:
        return None
    by_grants: dict[tuple[str, ...], list[str]] = {}
    library: tuple[str, ...] = ()
    for space, names in grants:
        if space is None:
            library = names
        elif names:
            by_grants.setdefault(names, []).append(space)
    parts = [f"{', '.join(names)} ({'space' if len(spaces) == 1 else 'spaces'} "
             f"{', '.join(spaces)})" for names, spaces in by_grants.items()]
    if library:
        parts.append(f"{', '.join(library)} (the library, for the history clear)")
    return "Apply needs a token granting " + "; ".join(parts) + "." if parts else None
