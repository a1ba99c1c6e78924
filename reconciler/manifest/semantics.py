"""Semantic checks: what the schema cannot say about a set of manifests.

- path syntax: relative, `/`-separated, no empty, `.` or `..` segments, no
  control characters, none of the characters SMH forbids in names;
- a literal purge path that is also an `exist` path; the same prune root twice;
- a purge pattern that matches every top-level name, or a prune root that is the space
  itself, unless the space sets `allow_whole_space: true`;
- `recycle_bin.older_than` must be a duration, and cannot sit beside `recycle_bin.empty: true`;
- across files: the same (library, space) twice, and one library given different `endpoint`
  or `safety` settings.

The checks read the documents defensively, so they run next to schema checks and every
problem is reported in the same pass; values of the wrong shape are left to the schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from reconciler.desired import Location, Safety
from reconciler.manifest.problems import PathStep, Problem, format_where
from reconciler.manifest.yaml_loader import YamlDocument
from reconciler.matching import Pattern, normalize
from reconciler.predicates import DURATION_KEYS, SIZE_KEYS
from reconciler.units import parse_duration, parse_size

MAX_NAME_LENGTH = 255
"""SMH refuses longer file and directory names (FileNameLengthExceed)."""

_FORBIDDEN = '\\:"<>|'
# One regex accepts the common case: segments of allowed characters, `/`-separated, an
# optional trailing `/`. Only paths it rejects are taken apart for a precise message.
_SEGMENT = rf"(?!\.\.?(?:/|$))[^/\x00-\x1f\x7f-\x9f\\:\"<>|]{{1,{MAX_NAME_LENGTH}}}"
_WELL_FORMED = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*/?")

# Names every top-level-pattern check is tried against when a pattern has a character class.
_PROBE_NAMES = ("a", "Z", "0", "photos", ".hidden", "-", "_", "x y", "a.b", "é", "名前", "[", "]")


def path_syntax_problem(text: str, *, what: str = "path") -> str | None:
    """Why `text` is not a valid manifest path, or None if it is."""
    if _WELL_FORMED.fullmatch(text):
        return None
    if text.startswith("/"):
        return f"{what} must be relative to the space root: remove the leading `/`"
    for char in text:
        if ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            return f"{what} contains a control character (U+{ord(char):04X})"
    if "\\" in text:
        return f"{what} contains `\\`; separate directories with `/`"
    for char in _FORBIDDEN:
        if char in text:
            return f"{what} contains `{char}`, which SMH does not allow in names"
    body = text[:-1] if text.endswith("/") else text
    for segment in body.split("/"):
        if segment == "":
            return f"{what} has an empty segment (`//`)"
        if segment in (".", ".."):
            return f"{what} has a `{segment}` segment; write paths without `.` and `..`"
        if len(segment) > MAX_NAME_LENGTH:
            return f"{what} has a name longer than {MAX_NAME_LENGTH} characters"
    return f"{what} is not a valid path"  # pragma: no cover - every rejection is named above


def takes_every_top_level_name(pattern: str) -> bool:
    """Whether `pattern` matches every top-level name of a space (`*`, `**`, `**/*`, `*/`).

    A non-`**` segment matches exactly one path segment, and a `**` matches any number of
    them, except that a trailing `**` after other segments needs at least one (`a/**` does not
    match `a`). So a pattern matches every one-segment path exactly when it is all `**`, or
    one segment that matches any name between `**` segments that are not at the end.
    Wildcard-only segments are decided here; a segment with a character class is tried on a
    spread of names through the shared glob matcher.
    """
    body = pattern[:-1] if pattern.endswith("/") else pattern
    if not body:
        return False
    all_segments = body.split("/")
    segments = [segment for segment in all_segments if segment != "**"]
    if not segments:
        return True
    if len(segments) != 1 or all_segments[-1] == "**":
        return False
    segment = segments[0]
    if set(segment) <= {"*", "?"}:
        return "*" in segment and segment.count("?") <= 1
    if "[" in segment:
        compiled = Pattern(segment)
        return all(compiled.matches(name, is_dir=True) for name in _PROBE_NAMES)
    return False


def _entries(
    space: dict[str, Any], key: str, field: str | None
) -> Iterator[tuple[str, tuple[PathStep, ...]]]:
    """The strings of `space[key]` (and `entry[field]` of its mapping entries), each with
    its path inside the space. Empty strings are left to the schema's `minLength`."""
    items = space.get(key)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, str):
            yield item, (key, index)
        elif field and isinstance(item, dict) and isinstance(item.get(field), str):
            yield item[field], (key, index, field)


def _spaces(data: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if not isinstance(data, dict) or not isinstance(data.get("spaces"), list):
        return
    for index, space in enumerate(data["spaces"]):
        if isinstance(space, dict):
            yield index, space


def check_semantics(documents: Sequence[YamlDocument]) -> list[Problem]:
    """Every semantic problem of `documents` (given in file order)."""
    problems: list[Problem] = []
    for document in documents:
        problems.extend(_check_safety(document))
        for index, space in _spaces(document.data):
            problems.extend(_check_space(document, index, space))
    problems.extend(_check_across(documents))
    return problems


def _check_safety(document: YamlDocument) -> list[Problem]:
    data = document.data
    safety = data.get("safety") if isinstance(data, dict) else None
    if not isinstance(safety, dict) or not isinstance(safety.get("max_delete_bytes"), str):
        return []
    try:
        parse_size(safety["max_delete_bytes"])
    except ValueError as error:
        path: tuple[PathStep, ...] = ("safety", "max_delete_bytes")
        return [Problem(document.location(path), format_where(path), str(error))]
    return []


def _check_space(document: YamlDocument, index: int, space: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    base: tuple[PathStep, ...] = ("spaces", index)
    whole_space_allowed = space.get("allow_whole_space") is True

    def problem(where: tuple[PathStep, ...], message: str) -> None:
        path = (*base, *where)
        problems.append(Problem(document.location(path), format_where(path), message))

    # Exist entries by their path without a trailing `/`, to meet literal purge twins.
    exists: dict[str, tuple[PathStep, ...]] = {}
    for key in ("exist", "protect"):
        for text, where in _entries(space, key, "pattern"):
            if text == "":
                continue
            message = path_syntax_problem(text)
            if message:
                problem(where, message)
            elif key == "exist":
                exists.setdefault(normalize(text.rstrip("/")), where)

    for text, where in _entries(space, "purge", "pattern"):
        if text == "":
            continue
        message = path_syntax_problem(text, what="pattern")
        if message:
            problem(where, message)
            continue
        if not whole_space_allowed and takes_every_top_level_name(text):
            problem(
                where,
                f"`{text}` matches every top-level name and would purge the whole space; "
                "set `allow_whole_space: true` on the space if that is meant",
            )
        # Equal text means equally literal, so only the purge entry needs asking.
        twin = exists.get(normalize(text.rstrip("/")))
        if twin is not None and Pattern(text).is_literal:
            line = document.location((*base, *twin)).line
            problem(
                where,
                f"`{text}` is also an `exist` path (line {line}); "
                "a path cannot both exist and be purged",
            )

    for key in ("protect", "purge", "prune"):
        for where, message in _predicate_problems(space, key):
            problem(where, message)

    roots: dict[str, tuple[PathStep, ...]] = {}
    for text, where in _entries(space, "prune", "root"):
        earlier = roots.setdefault(normalize(text.strip("/")), where)
        if earlier is not where:
            line = document.location((*base, *earlier)).line
            problem(where, f"prune root `{text}` is already given (line {line}); "
                           "give each root once, with one mode")
            continue
        if text == "":
            if not whole_space_allowed:
                problem(
                    where,
                    'prune root "" is the whole space; set `allow_whole_space: true` on the '
                    "space if that is meant",
                )
            continue
        message = path_syntax_problem(text, what="prune root")
        if message:
            problem(where, message)
        elif "*" in text or "?" in text:
            problem(where, "a prune root is a directory, not a pattern: `*` and `?` cannot appear")
    problems.extend(_check_recycle_bin(document, base, space))
    return problems


def _check_recycle_bin(document: YamlDocument, base: tuple[PathStep, ...],
                       space: dict[str, Any]) -> list[Problem]:
    recycle_bin = space.get("recycle_bin")
    if not isinstance(recycle_bin, dict) or "older_than" not in recycle_bin:
        return []
    path: tuple[PathStep, ...] = (*base, "recycle_bin", "older_than")
    older_than = recycle_bin["older_than"]
    if not isinstance(older_than, str):
        return []  # the schema says what it must be
    try:
        parse_duration(older_than)
    except ValueError as error:
        return [Problem(document.location(path), format_where(path), str(error))]
    if recycle_bin.get("empty") is True:
        return [Problem(document.location(path), format_where(path),
                        "`older_than` keeps the bin's newer items and `empty: true` deletes "
                        "them all: give one or the other")]
    return []


def _predicate_problems(
    space: dict[str, Any], key: str
) -> Iterator[tuple[tuple[PathStep, ...], str]]:
    """Durations and sizes that are not, in the predicates of `space[key]`'s mapping entries
    (a duration string of the wrong form is the schema's to report)."""
    items = space.get(key)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        for name in DURATION_KEYS:
            value = item.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                try:
                    parse_duration(value)
                except ValueError as error:
                    yield (key, index, name), str(error)
        for name in SIZE_KEYS:
            value = item.get(name)
            if isinstance(value, str):
                try:
                    parse_size(value)
                except ValueError as error:
                    yield (key, index, name), str(error)


def _check_across(documents: Sequence[YamlDocument]) -> list[Problem]:
    problems: list[Problem] = []
    spaces_seen: dict[tuple[str, str], Location] = {}
    endpoints: dict[str, tuple[str, Location]] = {}
    safeties: dict[str, tuple[dict[str, Any], Location]] = {}
    for document in documents:
        data = document.data
        if not isinstance(data, dict) or not isinstance(data.get("library"), str):
            continue
        library = data["library"]

        endpoint = data.get("endpoint")
        if isinstance(endpoint, str):
            here = document.location(("endpoint",))
            first = endpoints.setdefault(library, (endpoint.rstrip("/"), here))
            if first[0] != endpoint.rstrip("/"):
                problems.append(
                    Problem(
                        here,
                        "endpoint",
                        f"library `{library}` has endpoint {first[0]} at {first[1]}; "
                        "every manifest of a library must name the same endpoint",
                    )
                )

        safety = data.get("safety")
        if isinstance(safety, dict):
            here = document.location(("safety",))
            first_safety = safeties.setdefault(library, (safety, here))
            if _effective_safety(first_safety[0]) != _effective_safety(safety):
                problems.append(
                    Problem(
                        here,
                        "safety",
                        f"library `{library}` has different safety limits at {first_safety[1]}; "
                        "every manifest of a library must set the same limits",
                    )
                )

        for index, space in _spaces(data):
            space_id = space.get("id")
            if not isinstance(space_id, str):
                continue
            path = ("spaces", index, "id")
            here = document.location(path)
            first_space = spaces_seen.setdefault((library, space_id), here)
            if first_space is not here:
                problems.append(
                    Problem(
                        here,
                        format_where(path),
                        f"space `{space_id}` of library `{library}` is already declared at "
                        f"{first_space}; each space may appear once across all manifests",
                    )
                )
    return problems


def _effective_safety(safety: dict[str, Any]) -> dict[str, Any]:
    """Safety settings with defaults filled in, so that spelled-out defaults compare equal."""
    defaults = Safety()
    return {
        "max_deletes": safety.get("max_deletes", defaults.max_deletes),
        "max_delete_percent": safety.get("max_delete_percent", defaults.max_delete_percent),
        "min_existing": safety.get("min_existing", defaults.min_existing),
        "max_delete_bytes": _size_or_none(safety.get("max_delete_bytes")),
    }


def _size_or_none(value: object) -> object:
    try:
        return None if value is None else parse_size(value)
    except ValueError:
        return value
