"""Which files are manifests: the paths given on the command line, expanded and read.

A file is taken as given, whatever its name; a directory stands for every `*.yaml` and
`*.yml` file below it, searched recursively in sorted order (hidden directories such as
`.git` are skipped). A path that does not exist, or a directory without manifests, is a
problem, as is a file that cannot be read or is larger than the manifest limit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.desired import Location
from reconciler.manifest.problems import Problem
from reconciler.manifest.yaml_loader import MAX_MANIFEST_BYTES

MANIFEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """A manifest file's name (as the user spelled its path) and bytes."""

    name: str
    content: bytes


def _whole_file(name: str, message: str) -> Problem:
    return Problem(Location(name, 1, 1), "", message)


def find_manifests(
    paths: Sequence[str | os.PathLike[str]], base: Path = Path()
) -> tuple[list[Path], list[Problem]]:
    """The manifest files `paths` name, each once, in the order given (directories sorted).

    `paths` are relative to `base`, and so are the files found (as the user spelled them)."""
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    if not paths:
        problems.append(_whole_file(".", "no manifest paths given"))
    for raw in paths:
        path = Path(raw)
        if (base / path).is_dir():
            found = sorted(
                candidate
                for candidate in _walk(path, base)
                if candidate.suffix in MANIFEST_SUFFIXES and (base / candidate).is_file()
            )
            if not found:
                problems.append(
                    _whole_file(str(path), "directory holds no *.yaml or *.yml manifests")
                )
        elif (base / path).exists():
            found = [path]
        else:
            problems.append(_whole_file(str(path), "no such file or directory"))
            found = []
        for file in found:
            key = (base / file).resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, problems


def _walk(directory: Path, base: Path) -> list[Path]:
    out: list[Path] = []
    top = base / directory
    for root, dirs, names in os.walk(top):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        out.extend(directory / Path(root).relative_to(top) / name for name in names)
    return out


def read_file(path: Path, base: Path = Path()) -> tuple[ManifestFile | None, Problem | None]:
    """The bytes of `path` (relative to `base`), refusing oversized files before reading them."""
    name = path.as_posix()
    try:
        with (base / path).open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_MANIFEST_BYTES:
                return None, _whole_file(
                    name,
                    f"file is {size:,} bytes; manifests are limited to "
                    f"{MAX_MANIFEST_BYTES:,} bytes (16 MiB)",
                )
            # Read one byte past the limit: a file that grows while being read is caught too.
            content = stream.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        return None, _whole_file(name, f"cannot read the file: {error.strerror or error}")
    return ManifestFile(name, content), None
