"""Safe YAML reading: manifest bytes in, plain data plus the position of every value out.

Only what a manifest needs is accepted: one UTF-8 document of mappings, lists and the YAML 1.2
core scalars (strings, integers, floats, booleans, null). Everything else is a located problem
rather than an exception:

- files larger than `MAX_MANIFEST_BYTES` (16 MiB), bytes that are not UTF-8, more than one
  document, and nesting deeper than `MAX_DEPTH`;
- duplicate mapping keys, and keys that are not plain scalars;
- aliases (`*name`): they are refused where they stand and never expanded, so an alias bomb
  ("billion laughs") costs no more than reading its few lines;
- tags other than the core ones (`!!python/object`, `!!binary`, `!custom`, ...).

Values are composed straight from the parser's event stream instead of through PyYAML's
composer: that keeps nesting on a heap stack (libyaml's own composer recurses in C and can
crash on a deep enough document), reports aliases where they are written, and skips building
a node tree that would be thrown away.

Scalars resolve by the YAML 1.2 core schema, not PyYAML's YAML 1.1 default: `yes`, `no`, `on`
and `off` stay strings, and so do dates such as `2024-01-31`, which are ordinary path names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml import events

from reconciler.collector import gc_paused
from reconciler.desired import Location
from reconciler.manifest.problems import PathStep, Problem, format_where

if yaml.__with_libyaml__:
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
else:  # pragma: no cover - PyYAML always ships libyaml wheels for supported platforms
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        def __init__(self, stream: bytes) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)


MAX_MANIFEST_BYTES = 16 * 1024 * 1024
"""Largest manifest file read. Far above any real manifest, low enough to bound memory."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists; a manifest needs six levels."""

_DEPTH_MESSAGE = f"nesting is deeper than {MAX_DEPTH} levels; a manifest needs six"
_LIBYAML_DEPTH = "exceeded maximum nesting depth"

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_TAG + name for name in ("str", "null", "bool", "int", "float"))
_MAP, _SEQ = _TAG + "map", _TAG + "seq"

_NULL_RE = re.compile(r"~|null|Null|NULL|")
_BOOL_RE = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT_RE = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT_RE = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
# First characters a non-string plain scalar can start with; anything else is a string
# without trying a single regex, which matters for the many paths of a large manifest.
_NON_STRING_START = frozenset("~nNtTfF-+.0123456789")

PositionTree = tuple[int, int, Any, Any]
"""(line, column, children, key positions): children is None for a scalar, a list of
position trees for a list, a dict key -> position tree for a mapping, whose key positions
are a dict key -> (line, column)."""


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One manifest file read: its plain data and where each value was written."""

    file: str
    content: bytes
    data: Any
    positions: PositionTree | None

    def location(self, path: Sequence[PathStep], *, key: bool = False) -> Location:
        """Where the value at `path` was written (its key, with `key=True`).

        A path that goes further than the document does stops at the deepest value that
        exists: a missing key is reported on the mapping that lacks it.
        """
        if self.positions is None:
            return Location(self.file, 1, 1)
        trees = list(_descend(self.positions, path))
        tree = trees[-1]
        if key and path and len(trees) == len(path) + 1 and isinstance(path[-1], str):
            line, column = trees[-2][3][path[-1]]
            return Location(self.file, line, column)
        return Location(self.file, tree[0], tree[1])

    def item_locations(self, path: Sequence[PathStep]) -> list[Location]:
        """Where each item of the list at `path` was written (empty if there is no list)."""
        if self.positions is None:
            return []
        trees = list(_descend(self.positions, path))
        items = trees[-1][2]
        if len(trees) != len(path) + 1 or not isinstance(items, list):
            return []
        file = self.file
        return [Location(file, item[0], item[1]) for item in items]


def _descend(tree: PositionTree, path: Sequence[PathStep]) -> Iterator[PositionTree]:
    """The position trees along `path`, from the root, as far as the document goes."""
    yield tree
    for step in path:
        children = tree[2]
        in_list = isinstance(children, list) and isinstance(step, int) and 0 <= step < len(children)
        if not in_list and not (isinstance(children, dict) and step in children):
            return
        tree = children[step]
        yield tree


@dataclass(frozen=True, slots=True)
class YamlResult:
    """A document, or the problems that kept it from being read (never both)."""

    document: YamlDocument | None
    problems: tuple[Problem, ...]


class _Abort(Exception):
    """Reading cannot go on (a syntax error, nesting too deep)."""


def read_manifest(file: str, content: bytes) -> YamlResult:
    """Check `content` (the bytes of `file`) and compose its single YAML document."""
    if len(content) > MAX_MANIFEST_BYTES:
        return _fail(
            file,
            1,
            1,
            f"file is {len(content):,} bytes; manifests are limited to "
            f"{MAX_MANIFEST_BYTES:,} bytes (16 MiB)",
        )
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _fail(file, 1, 1, "file is UTF-16; manifests must be UTF-8")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_column(content, error.start)
        return _fail(
            file,
            line,
            column,
            f"byte 0x{content[error.start]:02x} is not valid UTF-8; manifests must be UTF-8",
        )
    composer = _Composer(file, content)
    with gc_paused():
        try:
            data, positions = composer.compose()
        except _Abort:
            return YamlResult(None, tuple(composer.problems))
    if composer.problems:
        return YamlResult(None, tuple(composer.problems))
    return YamlResult(YamlDocument(file, content, data, positions), ())


def _fail(file: str, line: int, column: int, message: str) -> YamlResult:
    return YamlResult(None, (Problem(Location(file, line, column), "", message),))


def _line_column(content: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    start = content.rfind(b"\n", 0, offset) + 1
    column = len(content[start:offset].decode("utf-8", errors="replace")) + 1
    return content.count(b"\n", 0, offset) + 1, column


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


class _Composer:
    """Builds plain data and a position tree from parser events, collecting problems."""

    def __init__(self, file: str, content: bytes) -> None:
        self.file = file
        self.content = content
        self.problems: list[Problem] = []
        self._parser = _Parser(content)
        # Where in the document the value being built sits, for `where` in problems; None
        # stands for a mapping key not read yet.
        self._path: list[PathStep | None] = []

    def _here(self) -> list[PathStep]:
        return [step for step in self._path if step is not None]

    def problem(self, mark: Any, message: str, *, where: Sequence[PathStep] = ()) -> None:
        """Record a problem at a parser mark, or at a 1-based (line, column) pair."""
        line, column = mark if isinstance(mark, tuple) else (mark.line + 1, mark.column + 1)
        location = Location(self.file, line, column)
        self.problems.append(Problem(location, format_where(where), message))

    def _syntax_problem(self, error: yaml.YAMLError) -> None:
        if isinstance(error, yaml.MarkedYAMLError):
            mark = error.problem_mark or error.context_mark
            message = error.problem or "invalid YAML"
            if _LIBYAML_DEPTH in message:
                # libyaml (PyYAML >= 6.0.4) caps nesting itself, and its scanner can reach that
                # cap before the composer sees the first event: give the same message either way.
                self.problem(mark or (1, 1), _DEPTH_MESSAGE)
                return
            if error.context:
                message = f"{message} ({error.context})"
            self.problem(mark or (1, 1), f"invalid YAML: {message}")
        elif isinstance(error, yaml.reader.ReaderError):
            offset = min(error.position, len(self.content))
            if isinstance(error.character, int):
                what = f"character U+{error.character:04X}"
            else:
                what = f"character {error.character!r}"
            self.problem(
                _line_column(self.content, offset),
                f"{what} is not allowed in YAML ({error.reason})",
            )
        else:
            self.problem((1, 1), f"invalid YAML: {error}")

    def compose(self) -> tuple[Any, PositionTree | None]:
        get_event = self._parser.get_event
        try:
            get_event()  # StreamStart
            event = get_event()
            if isinstance(event, events.StreamEndEvent):
                return None, None
            data, positions = self._value(get_event())
            get_event()  # DocumentEnd
            event = get_event()
        except yaml.YAMLError as error:
            self._syntax_problem(error)
            raise _Abort from error
        if isinstance(event, events.DocumentStartEvent):
            self.problem(
                event.start_mark,
                "a manifest file holds one YAML document; remove the second one (after `---`)",
            )
        return data, positions

    def _value(self, event: Any) -> tuple[Any, PositionTree]:
        """Build the value that starts with `event`, iteratively (nesting lives on the heap)."""
        # Each frame: [container, children positions, key positions, pending key, its mark,
        # line, column].
        stack: list[list[Any]] = []
        get_event = self._parser.get_event
        scalar_event = events.ScalarEvent
        while True:
            kind = type(event)
            mark = event.start_mark
            if kind is scalar_event:
                value: Any = event.value
                # Most scalars of a large manifest are plain path strings: settle them here.
                if event.tag is not None or (value and value[0] in _NON_STRING_START) or (
                    not value and event.implicit[0]
                ):
                    value = self._scalar(event)
                position: PositionTree = (mark.line + 1, mark.column + 1, None, None)
            elif kind is events.MappingStartEvent or kind is events.SequenceStartEvent:
                is_map = kind is events.MappingStartEvent
                self._check_collection_tag(event, _MAP if is_map else _SEQ)
                if len(stack) >= MAX_DEPTH:
                    self.problem(mark, _DEPTH_MESSAGE)
                    raise _Abort
                if is_map:
                    stack.append([{}, {}, {}, None, None, mark.line + 1, mark.column + 1])
                else:
                    stack.append([[], [], None, None, None, mark.line + 1, mark.column + 1])
                self._path.append(None if is_map else 0)
                event = get_event()
                continue
            elif kind is events.MappingEndEvent or kind is events.SequenceEndEvent:
                frame = stack.pop()
                self._path.pop()
                value = frame[0]
                position = (frame[5], frame[6], frame[1], frame[2])
            elif kind is events.AliasEvent:
                self.problem(
                    mark,
                    f"aliases (*{event.anchor}) are not allowed in manifests; "
                    "write the value out in full",
                    where=self._here(),
                )
                value, position = None, (mark.line + 1, mark.column + 1, None, None)
            else:  # pragma: no cover - the parser only emits the events above here
                raise _Abort
            if not stack:
                return value, position
            frame = stack[-1]
            container = frame[0]
            if isinstance(container, list):
                container.append(value)
                frame[1].append(position)
                self._path[-1] = len(container)
            elif frame[3] is None:
                self._add_key(frame, position, event)
            else:
                key = frame[3]
                if key in container:
                    first_line = frame[2][key][0]
                    self.problem(
                        frame[4],
                        f"duplicate key `{key}` (first written on line {first_line})",
                        where=self._here(),
                    )
                else:
                    container[key] = value
                    frame[1][key] = position
                    frame[2][key] = frame[4]
                frame[3] = None
                self._path[-1] = None
            event = get_event()

    def _add_key(self, frame: list[Any], position: PositionTree, event: Any) -> None:
        mark = (position[0], position[1])
        if type(event) is events.ScalarEvent:
            # A key is a name: `1:` or `null:` mean the text written, not a number or null.
            key = event.value
        else:
            if position[2] is not None:
                self.problem(
                    mark, "mapping keys must be plain names, not lists or mappings",
                    where=self._here(),
                )
            key = f"<key at line {position[0]}>"
        frame[3] = key
        frame[4] = mark
        self._path[-1] = key

    def _check_collection_tag(self, event: Any, expected: str) -> None:
        tag = event.tag
        if tag is not None and tag != "!" and tag != expected:
            self.problem(
                event.start_mark,
                f"tag {_show_tag(tag)} is not allowed; manifests use plain YAML values",
                where=self._here(),
            )

    def _scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0] or (value and value[0] not in _NON_STRING_START):
                return value
            tag = _resolve_plain(value)
            if tag == _STR:
                return value
        try:
            return _construct(tag, value)
        except ValueError:
            self.problem(
                event.start_mark,
                f"`{value}` is not a valid {_show_tag(tag)} value",
                where=self._here(),
            )
        except KeyError:
            self.problem(
                event.start_mark,
                f"tag {_show_tag(tag)} is not allowed; manifests use plain YAML values",
                where=self._here(),
            )
        return None


def _resolve_plain(value: str) -> str:
    if _NULL_RE.fullmatch(value):
        return _NULL
    if _BOOL_RE.fullmatch(value):
        return _BOOL
    if _INT_RE.fullmatch(value):
        return _INT
    if _FLOAT_RE.fullmatch(value):
        return _FLOAT
    return _STR


def _construct(tag: str, value: str) -> Any:
    """The Python value of a core-schema scalar; KeyError for any other tag."""
    if tag == _STR:
        return value
    if tag == _NULL:
        if not _NULL_RE.fullmatch(value):
            raise ValueError(value)
        return None
    if tag == _BOOL:
        if not _BOOL_RE.fullmatch(value):
            raise ValueError(value)
        return value.lower() == "true"
    if tag == _INT:
        if not _INT_RE.fullmatch(value):
            raise ValueError(value)
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value, 10)
    if tag == _FLOAT:
        if not (_FLOAT_RE.fullmatch(value) or _INT_RE.fullmatch(value)):
            raise ValueError(value)
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered.endswith(".nan"):
            return math.nan
        return float(value)
    raise KeyError(tag)
