"""Adopting a live library: the starter manifest `init` writes, and what `coverage` finds that
no manifest governs. Pure: the commands list the library and hand the results in.

The starter manifest declares what is there and nothing more: an `exist` entry for each
top-level entry of each space (a directory with its trailing `/`), the safety defaults spelled
out, and commented examples of `purge` and `prune`. It never holds a `purge`, `prune` or
`mode: permanent` entry, so its plan has no changes: a team starts from a manifest that agrees
with the library and adds its first rule in a reviewed change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.desired import LibrarySpec, Safety
from reconciler.listing import EntryType, RemoteEntry, Stats
from reconciler.matching import literal_pattern
from reconciler.rules import SpaceRules
from reconciler.units import format_size

_EXAMPLES = """\
    # purge:                    # must not exist: deleted wherever found (to the recycle bin)
    #   - tmp/
    #   - "**/*.part"
    # prune:                    # under the root, everything no exist/protect entry keeps goes
    #   - { root: photos/ }
"""


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def exist_entry(entry: RemoteEntry) -> str:
    """The `exist` entry that declares one top-level entry: a directory ends in `/`."""
    pattern = literal_pattern(entry.name)
    return pattern + "/" if entry.is_dir else pattern


def starter_manifest(library: str, spaces: Mapping[str, Sequence[RemoteEntry]], *,
                     endpoint: str | None = None, generated_at: str | None = None) -> str:
    """The manifest `init` writes for `spaces` (space id -> its top-level entries)."""
    safety = Safety()
    lines = [
        "# Written by `smh-reconcile init`"
        + (f" on {generated_at}" if generated_at else "")
        + ": it declares what the library holds,",
        "# so its plan has no changes. Add purge and prune rules in reviewed changes; run",
        "# `smh-reconcile coverage` on a schedule to see spaces and entries no rule governs.",
        "version: 1",
        f"library: {_quoted(library)}",
    ]
    if endpoint is not None:
        lines.append(f"endpoint: {_quoted(endpoint)}")
    lines += [
        "mode: recycle",
        "safety:",
        f"  max_deletes: {'null' if safety.max_deletes is None else safety.max_deletes}",
        f"  max_delete_percent: {safety.max_delete_percent:g}",
        f"  min_existing: {safety.min_existing}",
        "  max_delete_bytes: null",
        "spaces:",
    ]
    for index, (space, entries) in enumerate(sorted(spaces.items())):
        lines.append(f"  - id: {_quoted(space)}")
        declared = sorted(exist_entry(entry) for entry in entries)
        if declared:
            lines.append("    exist:")
            lines += [f"      - {_quoted(text)}" for text in declared]
        else:
            lines.append("    exist: []")
        if index == 0:
            lines.append(_EXAMPLES.rstrip("\n"))
    return "\n".join(lines) + "\n"


# -- coverage ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Uncovered:
    """A top-level entry of a named space that no manifest entry touches."""

    space: str
    path: str
    type: EntryType
    files: int | None
    bytes: int | None

    def to_json(self) -> dict[str, Any]:
        return {"space": self.space, "path": self.path, "type": self.type.value,
                "files": self.files, "bytes": self.bytes}


@dataclass(frozen=True, slots=True)
class Coverage:
    """What no manifest governs: spaces the manifests do not name, and top-level entries of
    the named spaces that no exist, protect, purge or prune entry touches."""

    library: str
    unnamed_spaces: tuple[str, ...]
    entries: tuple[Uncovered, ...]
    errors: tuple[tuple[str, str], ...] = ()

    @property
    def uncovered(self) -> bool:
        return bool(self.unnamed_spaces or self.entries)

    def to_json(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "unnamed_spaces": list(self.unnamed_spaces),
            "uncovered": [entry.to_json() for entry in self.entries],
            "errors": [{"space": space, "error": error} for space, error in self.errors],
            "summary": {"unnamed_spaces": len(self.unnamed_spaces),
                        "uncovered": len(self.entries),
                        "files": sum(e.files or 0 for e in self.entries),
                        "bytes": sum(e.bytes or 0 for e in self.entries)},
        }


def untouched(spec: LibrarySpec, space: str, entries: Sequence[RemoteEntry]) -> list[RemoteEntry]:
    """The top-level `entries` of `space` that no manifest entry touches."""
    rules = SpaceRules(spec.space(space))
    return [entry for entry in entries
            if not rules.touches(entry.path, is_dir=entry.is_dir)]


def coverage(spec: LibrarySpec, library_spaces: Sequence[str],
             untouched_entries: Mapping[str, Sequence[RemoteEntry]],
             counts: Mapping[tuple[str, str], Stats | None],
             errors: Sequence[tuple[str, str]] = ()) -> Coverage:
    named = {space.id for space in spec.spaces}
    found: list[Uncovered] = []
    for space, entries in sorted(untouched_entries.items()):
        for entry in sorted(entries, key=lambda e: e.path):
            if entry.is_dir:
                stats = counts.get((space, entry.path))
                files, size = (stats.files, stats.bytes) if stats else (None, None)
            else:
                files, size = 1, entry.fingerprint.size_bytes
            found.append(Uncovered(space, entry.path, entry.type, files, size))
    return Coverage(library=spec.library,
                    unnamed_spaces=tuple(sorted(set(library_spaces) - named)),
                    entries=tuple(found), errors=tuple(sorted(errors)))


def _figures(entry: Uncovered) -> str:
    files = "? files" if entry.files is None else (
        f"{entry.files:,} {'file' if entry.files == 1 else 'files'}")
    return f"{files}, {format_size(entry.bytes)}"


def _where(entry: Uncovered) -> str:
    name = entry.path + ("/" if entry.type is EntryType.DIR else "")
    return name if entry.space == "-" else f"{entry.space}:{name}"


def render_coverage_text(report: Coverage) -> str:
    lines = [f"smh-reconcile coverage for library {report.library}"]
    if report.unnamed_spaces:
        lines += ["", f"Spaces no manifest names ({len(report.unnamed_spaces)}):"]
        lines += [f"  {space}" for space in report.unnamed_spaces]
    if report.entries:
        lines += ["", f"Top-level entries no rule touches ({len(report.entries)}):"]
        lines += [f"  {_where(entry)}  ({_figures(entry)})" for entry in report.entries]
    for space, error in report.errors:
        lines += [f"  listing failed in space {space}: {error}"]
    lines.append("")
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def _summary(report: Coverage) -> str:
    if not report.uncovered:
        return "Everything is covered: every space is named and every top-level entry governed."
    files = sum(entry.files or 0 for entry in report.entries)
    size = sum(entry.bytes or 0 for entry in report.entries)
    return (f"Not covered: {len(report.unnamed_spaces)} space(s), {len(report.entries)} "
            f"top-level entr{'y' if len(report.entries) == 1 else 'ies'} "
            f"({files:,} files, {format_size(size)}).")


def render_coverage_markdown(report: Coverage) -> str:
    lines = [f"### smh-reconcile coverage: library `{report.library}`", "",
             f"**{_summary(report)}**", ""]
    if report.unnamed_spaces:
        lines += ["Spaces no manifest names:", ""]
        lines += [f"- `{space}`" for space in report.unnamed_spaces]
        lines.append("")
    if report.entries:
        lines += ["| space | entry | files | bytes |", "|---|---|---:|---:|"]
        for entry in report.entries:
            name = (entry.path + ("/" if entry.type is EntryType.DIR else "")).replace(
                "|", "\\|")
            files = "?" if entry.files is None else f"{entry.files:,}"
            lines.append(f"| `{entry.space}` | `{name}` | {files} | "
                         f"{format_size(entry.bytes)} |")
        lines.append("")
    for space, error in report.errors:
        lines.append(f"> listing failed in space `{space}`: {error}")
    return "\n".join(lines).rstrip("\n") + "\n"
