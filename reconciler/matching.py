"""Glob matching of manifest patterns against space-relative paths.

`*` matches inside one segment, `**` any number of whole segments, `?` one character,
`[...]` a character class; a trailing `/` restricts a pattern to directories. `a/**` matches
everything inside `a`, not `a` itself. Matching is case-sensitive on NFC-normalised paths and
names starting with `.` are matched like any other (SMH has no hidden files).

Each segment of a pattern is matched against one path segment by wcmatch's fnmatch (a regex
that cannot backtrack past its segment); `**` is this module's own: the path's segments are run
through the pattern's segments as a set of states, never by backtracking, so a match costs at
most (pattern segments x path segments) segment matches, however many `**` a pattern holds.
`PatternSet` matches many patterns together: they share one trie of segments, so a path is
walked once for all of them, and a literal segment is a dictionary lookup whatever the number
of patterns. `could_match_below` answers whether anything strictly inside a directory could
match, so that the walker can leave untouched subtrees unlisted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache


# wcmatch is imported when a pattern is first compiled, not with this module: checking a
# manifest (`validate`) needs `normalize` and seldom a matcher, and the import is a tenth of
# its start-up.
def _is_magic(body: str) -> bool:
    """Whether a whole pattern holds glob syntax (else it names one path literally)."""
    from wcmatch import glob

    flags = glob.GLOBSTAR | glob.DOTGLOB | glob.CASE | glob.FORCEUNIX
    return bool(glob.is_magic(body, flags=flags))


def _is_magic_segment(segment: str) -> bool:
    from wcmatch import fnmatch

    return bool(fnmatch.is_magic(segment, flags=fnmatch.DOTMATCH | fnmatch.CASE
                                 | fnmatch.FORCEUNIX))


def _segment_matcher(segment: str) -> Callable[[str], object]:
    """Truthy when a whole name matches the segment: the `fullmatch` of the one expression
    wcmatch translates it to (what its matcher runs, less the three calls around it), else
    the matcher's `match`."""
    from wcmatch import fnmatch

    flags = fnmatch.DOTMATCH | fnmatch.CASE | fnmatch.FORCEUNIX
    include, exclude = fnmatch.translate(segment, flags=flags)
    if len(include) == 1 and not exclude and isinstance(include[0], str):
        return re.compile(include[0]).fullmatch
    match: Callable[[str], object] = fnmatch.compile(segment, flags=flags).match
    return match


def normalize(path: str) -> str:
    """The form paths are compared in: Unicode NFC (an ASCII path is its own NFC form)."""
    return path if path.isascii() else unicodedata.normalize("NFC", path)


def parent_of(path: str) -> str:
    """The space-relative parent directory of `path` (`""` for a top-level name)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def is_inside(path: str, directory: str) -> bool:
    """True when `path` lies strictly inside `directory` (`""` is the space root)."""
    if directory == "":
        return path != ""
    return path.startswith(directory + "/")


GLOBSTAR = "**"

SegmentTest = Callable[[str], bool]


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
        object.__setattr__(self, "is_literal", not _is_magic(body))
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
        return _single(self).first(path, is_dir=is_dir) is not None

    def could_match_below(self, directory: str) -> bool:
        """Whether some path strictly inside `directory` could match this pattern."""
        return _single(self).could_match_below(directory)


@lru_cache(maxsize=4096)
def _compile(text: str) -> Pattern:
    return Pattern(text)


@lru_cache(maxsize=4096)
def _single(pattern: Pattern) -> PatternSet:
    return PatternSet([pattern])


def _segment_test(segment: str) -> SegmentTest:
    """How one pattern segment (not `**`) tests one path segment."""
    if not _is_magic_segment(segment):
        return segment.__eq__
    match = _segment_matcher(segment)
    # The literal text before its first magic character and after its last: a name lacking
    # either is refused without running the matcher.
    magic = [i for i, char in enumerate(segment) if char in _MAGIC]
    head, tail = (segment[:magic[0]], segment[magic[-1] + 1:]) if magic else ("", "")
    return lambda name: (name.startswith(head) and name.endswith(tail)
                         and bool(match(name)))


def _collapsed(segments: tuple[str, ...]) -> tuple[str, ...]:
    """`segments` with each run of `**` made one (`a/**/**/b` matches what `a/**/b` does)."""
    out: list[str] = []
    for segment in segments:
        if not (segment == GLOBSTAR and out and out[-1] == GLOBSTAR):
            out.append(segment)
    return tuple(out)


class _Node:
    """A trie node: the patterns that share a prefix of segments end at or pass through it.

    Reaching a node means its prefix matched the path's segments so far. `globstar` is the
    node reached by a `**` segment; a `**` node consumes any segment and stays where it is.
    `ends` are the patterns whose last segment led here; at a `**` node, `trailing` are the
    patterns that end in that `**`, which must have consumed at least one segment.
    """

    __slots__ = ("ends", "globstar", "is_globstar", "literal", "passing", "trailing", "wild")

    def __init__(self, *, is_globstar: bool = False) -> None:
        self.is_globstar = is_globstar
        self.literal: dict[str, _Node] = {}
        self.wild: list[tuple[SegmentTest, _Node]] = []
        # The wild children a path can pass through (they lead further): a name that is not
        # the path's last is tested against these only.
        self.passing: list[tuple[SegmentTest, _Node]] = []
        self.globstar: _Node | None = None
        self.ends: list[int] = []
        self.trailing: list[int] = []

    @property
    def has_children(self) -> bool:
        return bool(self.literal or self.wild or self.globstar is not None)


# A state is a node and, for a `**` node, whether it has consumed a segment yet.
_State = tuple[_Node, bool]


class PatternSet:
    """Patterns matched together, each keeping its index (its place in the given order)."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.patterns: tuple[Pattern, ...] = tuple(patterns)
        self._suffixes = _name_suffixes(self.patterns)
        # What a file's path must end with for one of the patterns to match it (None: any
        # file may be matched).
        self.file_suffixes = _name_suffixes([p for p in self.patterns if not p.dir_only])
        self._root = _Node()
        wild_nodes: dict[tuple[int, str], _Node] = {}
        for index, pattern in enumerate(self.patterns):
            if not pattern.segments:
                continue
            node = self._root
            segments = _collapsed(pattern.segments)
            for position, segment in enumerate(segments):
                if segment == GLOBSTAR:
                    if node.globstar is None:
                        node.globstar = _Node(is_globstar=True)
                    node = node.globstar
                    if position == len(segments) - 1:
                        node.trailing.append(index)
                    continue
                if not _is_magic_segment(segment):
                    node = node.literal.setdefault(segment, _Node())
                else:
                    key = (id(node), segment)
                    child = wild_nodes.get(key)
                    if child is None:
                        child = wild_nodes[key] = _Node()
                        node.wild.append((_segment_test(segment), child))
                    node = child
                if position == len(segments) - 1:
                    node.ends.append(index)
        pending = [self._root]
        while pending:
            node = pending.pop()
            node.passing = [(test, child) for test, child in node.wild if child.has_children]
            pending.extend(node.literal.values())
            pending.extend(child for _, child in node.wild)
            if node.globstar is not None:
                pending.append(node.globstar)

    def __len__(self) -> int:
        return len(self.patterns)

    def matching(self, path: str, *, is_dir: bool) -> list[int]:
        """The indices of every pattern matching `path`, in order."""
        if not self.patterns:
            return []
        path = normalize(path)
        if not path:
            return []
        if self._suffixes is not None and not path.endswith(self._suffixes):
            return []  # no pattern's last segment can match the path's last name
        return self._found(self._walk(path.split("/")), is_dir=is_dir)

    def inside(self, directory: str) -> Within:
        """Where `directory` leaves the trie: its children are matched from there, one name
        each, instead of each walking the whole path again."""
        names = normalize(directory).split("/") if directory else []
        return Within(self, tuple(self._walk(names, final=False)) if self.patterns else ())

    def _found(self, states: Iterable[_State], *, is_dir: bool) -> list[int]:
        found: set[int] = set()
        for state, consumed in states:
            found.update(state.ends)
            if consumed:
                found.update(state.trailing)
        return sorted(i for i in found if is_dir or not self.patterns[i].dir_only)

    def first(self, path: str, *, is_dir: bool) -> int | None:
        """The index of the first pattern (in order) matching `path`, or None."""
        found = self.matching(path, is_dir=is_dir)
        return found[0] if found else None

    def any(self, path: str, *, is_dir: bool) -> bool:
        return self.first(path, is_dir=is_dir) is not None

    def could_match_below(self, directory: str) -> bool:
        """Whether some path strictly inside `directory` could match one of the patterns: its
        segments match a prefix of a pattern and at least one pattern segment is left."""
        directory = normalize(directory)
        if directory == "":
            return any(pattern.segments for pattern in self.patterns)
        return any(state.is_globstar or state.has_children
                   for state, _ in self._walk(directory.split("/")))

    def _walk(self, names: Sequence[str], *, final: bool = True) -> Iterable[_State]:
        """The states after running `names` through the trie (none: nothing can match);
        `final` when the last name ends the path."""
        states = _closure([(self._root, False)])
        last = len(names) - 1
        for position, name in enumerate(names):
            step = _step(states, name, final=final and position == last)
            if not step:
                return ()
            states = _closure(step)
        return states


@dataclass(frozen=True, slots=True)
class Within:
    """A directory's place in a pattern set's trie (`PatternSet.inside`)."""

    patterns: PatternSet
    states: tuple[_State, ...]
    # What each set of states one name can step to matches: the names of a directory step to
    # few such sets (a thousand `*.jpg` files under `**/*.jpg` to one).
    _found: dict[tuple[bool, tuple[tuple[int, bool], ...]], list[int]] = field(
        default_factory=dict, compare=False, repr=False)

    def matching(self, name: str, *, is_dir: bool) -> list[int]:
        """The indices of every pattern matching the directory's child `name`, in order
        (a list the caller must not change)."""
        if not self.states:
            return []
        name = normalize(name)
        suffixes = self.patterns._suffixes
        if suffixes is not None and not name.endswith(suffixes):
            return []
        step = _step(self.states, name, final=True)
        if not step:
            return []
        key = (is_dir, tuple([(id(node), consumed) for node, consumed in step]))
        found = self._found.get(key)
        if found is None:  # the trie's nodes live as long as `patterns`, which this holds
            found = self._found[key] = self.patterns._found(_closure(step), is_dir=is_dir)
        return found


def _step(states: Iterable[_State], name: str, *, final: bool) -> list[_State]:
    """The states one name takes `states` to, before their closure."""
    step: list[_State] = []
    for node, _ in states:
        if node.is_globstar:
            step.append((node, True))
        child = node.literal.get(name)
        if child is not None:
            step.append((child, False))
        # A wild child with nothing below it only matters for the path's last name.
        wild = node.wild if final else node.passing
        step.extend((child, False) for test, child in wild if test(name))
    return step


_MAGIC = frozenset("*?[]\\")


def _name_suffixes(patterns: Sequence[Pattern]) -> tuple[str, ...] | None:
    """What a path must end with for one of `patterns` to match it: each pattern's last
    segment from its last magic character on, or None when some pattern has no such text
    (it ends in `**`, or its last segment ends in a wildcard); `()` when no pattern can match
    anything. Every path the trie would match ends so, so paths that do not are refused
    without walking it."""
    suffixes: set[str] = set()
    for pattern in patterns:
        if not pattern.segments:
            continue
        last = pattern.segments[-1]
        if last == GLOBSTAR:
            return None
        cut = max((i for i, char in enumerate(last) if char in _MAGIC), default=-1)
        tail = last[cut + 1:]
        if not tail:
            return None
        suffixes.add(tail)
    return tuple(sorted(suffixes))


def _closure(states: Iterable[_State]) -> list[_State]:
    """`states` and every `**` node they reach without consuming a segment (a `**` may match
    none), each once; a `**` that consumed a segment wins over the same one that did not."""
    seen: dict[int, _State] = {}
    pending = list(states)
    while pending:
        node, consumed = pending.pop()
        known = seen.get(id(node))
        if known is not None and (known[1] or not consumed):
            continue
        seen[id(node)] = (node, consumed)
        if node.globstar is not None:
            pending.append((node.globstar, False))
    return list(seen.values())


def literal_pattern(name: str) -> str:
    """A pattern that matches exactly `name`: `[` (the only glob character SMH allows in a
    name) written as the class `[[]`."""
    return name.replace("[", "[[]")
