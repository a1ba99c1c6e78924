"""Glob matching of manifest patterns against space-relative paths.

`*` matches inside one segment, `**` any number of whole segments, `?` one character,
`[...]` a character class; a trailing `/` restricts a pattern to directories. `a/**` matches
everything inside `a`, not `a` itself. Matching is case-sensitive on NFC-normalised paths and
names starting with `.` are matched like any other (SMH has no hidden files).

Whole-path matching is wcmatch's; this module adds what a planner and a walker need on top:
the directory-only rule, and `could_match_below`, which answers whether anything strictly
inside a directory could match, so that the walker can leave untouched subtrees unlisted.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache

from wcmatch import fnmatch, glob

_GLOB_FLAGS = glob.GLOBSTAR | glob.DOTGLOB | glob.CASE | glob.FORCEUNIX
_SEGMENT_FLAGS = fnmatch.DOTMATCH | fnmatch.CASE | fnmatch.FORCEUNIX


def normalize(path: str) -> str:
    """The form paths are compared in: Unicode NFC."""
    return unicodedata.normalize("NFC", path)


def parent_of(path: str) -> str:
    """The space-relative parent directory of `path` (`""` for a top-level name)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def is_inside(path: str, directory: str) -> bool:
    """True when `path` lies strictly inside `directory` (`""` is the space root)."""
    if directory == "":
        return path != ""
    return path.startswith(directory + "/")


@dataclass(frozen=True)
class Pattern:
    """A compiled manifest pattern."""

    text: str
    body: str = field(init=False)
    dir_only: bool = field(init=False)
    is_literal: bool = field(init=False)
    segments: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        text = normalize(self.text)
        body = text[:-1] if text.endswith("/") else text
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "dir_only", text.endswith("/"))
        object.__setattr__(self, "is_literal", not glob.is_magic(body, flags=_GLOB_FLAGS))
        object.__setattr__(self, "segments", tuple(body.split("/")) if body else ())

    @classmethod
    def compile(cls, text: str) -> Pattern:
        return _compile(text)

    def matches(self, path: str, *, is_dir: bool) -> bool:
        """Whether the pattern matches `path` itself (a file, or a directory if `is_dir`)."""
        if self.dir_only and not is_dir:
            return False
        path = normalize(path)
        if self.is_literal:
            return path == self.body
        return bool(_matcher(self.body).match(path))

    def could_match_below(self, directory: str) -> bool:
        """Whether some path strictly inside `directory` could match this pattern."""
        if not self.segments:
            return False
        if directory == "":
            return True
        dir_segments = tuple(normalize(directory).split("/"))
        return _prefix_can_match(self.segments, dir_segments)


@lru_cache(maxsize=4096)
def _compile(text: str) -> Pattern:
    return Pattern(text)


@lru_cache(maxsize=4096)
def _matcher(body: str) -> glob.WcMatcher[str]:
    return glob.compile(body, flags=_GLOB_FLAGS)


@lru_cache(maxsize=4096)
def _segment_matcher(segment: str) -> fnmatch.WcMatcher[str]:
    return fnmatch.compile(segment, flags=_SEGMENT_FLAGS)


def _prefix_can_match(pattern: tuple[str, ...], directory: tuple[str, ...]) -> bool:
    """Can `directory` followed by at least one more segment match `pattern`?

    `**` consumes zero or more segments; every other pattern segment consumes exactly one,
    matched with wcmatch's single-segment fnmatch.
    """

    @cache
    def step(i: int, j: int) -> bool:
        if j == len(directory):
            return i < len(pattern)
        if i == len(pattern):
            return False
        if pattern[i] == "**":
            return step(i + 1, j) or step(i, j + 1)
        return bool(_segment_matcher(pattern[i]).match(directory[j])) and step(i + 1, j + 1)

    return step(0, 0)


def literal_pattern(name: str) -> str:
    """A pattern that matches exactly `name`: `[` (the only glob character SMH allows in a
    name) written as the class `[[]`."""
    return name.replace("[", "[[]")
