"""The manifest stage end to end: paths in, problems or the desired state out.

Reading, schema and semantic checks all run before anything is reported, so a person sees
every problem at once, sorted by file and line. Nothing here touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.collector import gc_paused
from reconciler.desired import DesiredState
from reconciler.manifest.files import find_manifests, read_file
from reconciler.manifest.problems import InvalidManifests, Problem, sorted_problems
from reconciler.manifest.resolve import resolve
from reconciler.manifest.schema import check_schema
from reconciler.manifest.semantics import check_semantics
from reconciler.manifest.yaml_loader import YamlDocument, read_manifest

ManifestPaths = Sequence[str | os.PathLike[str]]


@dataclass(frozen=True, slots=True)
class ManifestCheck:
    """The outcome of checking manifests: the documents read and every problem found."""

    files: tuple[str, ...]
    documents: tuple[YamlDocument, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def spaces_by_library(self) -> dict[str, list[str]]:
        """Space ids per library, as declared (for summaries)."""
        out: dict[str, list[str]] = {}
        for document in self.documents:
            data = document.data
            spaces = out.setdefault(str(data["library"]), [])
            spaces.extend(str(space["id"]) for space in data["spaces"])
        return dict(sorted(out.items()))


def check_manifests(paths: ManifestPaths, *, base: Path = Path()) -> ManifestCheck:
    """Find, read and check the manifests `paths` (relative to `base`) name."""
    with gc_paused():
        return _check(paths, base)


def _check(paths: ManifestPaths, base: Path) -> ManifestCheck:
    files, problems = find_manifests(paths, base)
    documents: list[YamlDocument] = []
    for path in files:
        manifest, problem = read_file(path, base)
        if manifest is None:
            if problem is not None:
                problems.append(problem)
            continue
        result = read_manifest(manifest.name, manifest.content)
        problems.extend(result.problems)
        if result.document is not None:
            problems.extend(check_schema(result.document))
            documents.append(result.document)
    problems.extend(check_semantics(documents))
    return ManifestCheck(
        files=tuple(path.as_posix() for path in files),
        documents=tuple(documents),
        problems=tuple(sorted_problems(problems)),
    )


def check_paths(paths: ManifestPaths) -> list[Problem]:
    """Every problem of the manifests `paths` name, sorted by file and position."""
    return list(check_manifests(paths).problems)


def load_desired_state(paths: ManifestPaths, *, base: Path = Path()) -> DesiredState:
    """The desired state the manifests describe (`paths` relative to `base`);
    `InvalidManifests` lists every problem."""
    checked = check_manifests(paths, base=base)
    if checked.problems:
        raise InvalidManifests(checked.problems)
    with gc_paused():
        return resolve(checked.documents)
