"""Manifest problems: one located complaint each, printed as `FILE:LINE:COL: where: message`.

Every check of the manifest stage (YAML, schema, semantics, file discovery) reports through
`Problem`, so the command line, JSON output and `ManifestError` all speak the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.desired import Location
from reconciler.errors import ManifestError

PathStep = str | int
"""One step into a manifest: a mapping key or a list index."""


def format_where(path: Sequence[PathStep]) -> str:
    """`spaces[0].purge[1].mode`: the dotted form people read paths into a manifest in."""
    out: list[str] = []
    for step in path:
        if isinstance(step, int):
            out.append(f"[{step}]")
        elif out:
            out.append(f".{step}")
        else:
            out.append(step)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a manifest, and where. `where` is empty for the file as a whole."""

    location: Location
    where: str
    message: str

    def __str__(self) -> str:
        if self.where:
            return f"{self.location}: {self.where}: {self.message}"
        return f"{self.location}: {self.message}"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.where, self.message)

    def to_json(self) -> dict[str, str | int]:
        loc = self.location
        return {
            "file": loc.file,
            "line": loc.line,
            "column": loc.column,
            "where": self.where,
            "message": self.message,
        }


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Sorted by file, line and column, each distinct problem once."""
    return sorted(set(problems), key=Problem.sort_key)


class InvalidManifests(ManifestError):
    """The manifests have problems; `located` keeps them as `Problem`s for structured output."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__([str(problem) for problem in problems])
        self.located = tuple(problems)
