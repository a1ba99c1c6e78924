"""Glob matching (the README's "Paths and patterns"), with the near-misses users trip over."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wcmatch import fnmatch, glob

from reconciler.matching import Pattern, PatternSet, is_inside, parent_of

CASES = [
    # pattern, path, is_dir, expected
    ("tmp/", "tmp", True, True),
    ("tmp/", "tmp", False, False),  # trailing slash: directories only
    ("tmp", "tmp", False, True),
    ("tmp", "tmp", True, True),  # no trailing slash: files and directories
    ("photo", "photos", True, False),  # a prefix is not a match
    ("photos/", "photo", True, False),
    ("a/**", "a", True, False),  # `a/**` is everything inside `a`, not `a`
    ("a/**", "a/x", False, True),
    ("a/**", "a/x/y/z", False, True),
    ("a/**", "ab/x", False, False),
    ("a/**/b", "a/b", False, True),  # `**` may be zero segments
    ("a/**/b", "a/x/y/b", False, True),
    ("a/**/b", "a/x/y/bb", False, False),
    ("*", "x", False, True),
    ("*", "x/y", False, False),  # `*` stays inside one segment
    ("*", ".DS_Store", False, True),  # no hidden files in SMH
    ("**/*.part", "x.part", False, True),
    ("**/*.part", "d/e/x.part", False, True),
    ("**/*.part", "d/e/x.part.txt", False, False),
    ("**/*.part", "d/e/x.part\n", False, False),  # a whole name: `$` before a newline is not
    ("*", "x\ny", False, True),  # `*` takes a newline like any character
    ("**", ".\n", False, True),  # a name, not `.` (for which wcmatch's `$` takes it)
    ("*.jpg", "a/b.jpg", False, False),
    ("a?/c", "ab/c", False, True),
    ("a?/c", "a/c", False, False),  # `?` is exactly one character
    ("a?c", "a/c", False, False),  # ... and never a `/`
    ("[ab]x", "bx", False, True),
    ("[!ab]x", "bx", False, False),
    ("[!ab]x", "cx", False, True),
    ("Photos/", "photos", True, False),  # case-sensitive
    ("caf\u00e9.txt", "cafe\u0301.txt", False, True),  # NFC on both sides
    ("cafe\u0301/", "caf\u00e9", True, True),
    ("docs/handbook.pdf", "docs/handbook.pdf", False, True),
    ("docs/handbook.pdf", "docs/handbook.pdf.bak", False, False),
    ("my file (1).txt", "my file (1).txt", False, True),
]


@pytest.mark.parametrize(("pattern", "path", "is_dir", "expected"), CASES)
def test_matches(pattern: str, path: str, is_dir: bool, expected: bool) -> None:
    assert Pattern.compile(pattern).matches(path, is_dir=is_dir) is expected


BELOW = [
    ("tmp/", "tmp", False),  # a literal directory pattern matches nothing below itself
    ("tmp/", "", True),
    ("a/b/c", "a", True),
    ("a/b/c", "a/b", True),
    ("a/b/c", "a/b/c", False),
    ("a/b/c", "x", False),
    ("**/*.part", "deep/down", True),
    ("a/**", "a", True),
    ("a/**", "b", False),
    ("*/cache/", "x", True),
    ("*/cache/", "x/cache", False),
    ("*/cache/", "x/y", False),
    ("a/**/z", "a/b/c/d", True),
]


@pytest.mark.parametrize(("pattern", "directory", "expected"), BELOW)
def test_could_match_below(pattern: str, directory: str, expected: bool) -> None:
    assert Pattern.compile(pattern).could_match_below(directory) is expected


def test_literal_detection() -> None:
    assert Pattern.compile("photos/2024/").is_literal
    assert not Pattern.compile("photos/*/").is_literal
    assert Pattern.compile("photos/2024/").dir_only


def test_path_helpers() -> None:
    assert parent_of("a/b/c") == "a/b"
    assert parent_of("a") == ""
    assert is_inside("a/b", "a")
    assert not is_inside("ab", "a")
    assert not is_inside("a", "a")
    assert is_inside("a", "")


# -- the matcher agrees with wcmatch's whole-path glob, and stays fast --------------------------

_GLOB = glob.GLOBSTAR | glob.DOTGLOB | glob.CASE | glob.FORCEUNIX

segment_chars = st.sampled_from([*"ab.-!^[]*?Z", "\u00e9"])
pattern_segment = st.one_of(
    st.just("**"),
    st.text(segment_chars, min_size=1, max_size=6).filter(lambda s: s not in (".", "..")),
)
# SMH names are never `.` or `..`. Nor are `.` and `..` followed by a newline compared with
# wcmatch: it leaves out `.` and `..` segments by a `$` that also matches before a final
# newline, so it takes them for `.` and `..` (the matcher's own reading is in CASES).
name = st.text(st.sampled_from([*"ab.-!^[]Z\n", "\u00e9"]), min_size=1, max_size=5).filter(
    lambda s: s not in (".", "..", ".\n", "..\n"))


def wcmatch_below(pattern: str, directory: str) -> bool:
    """The former reference: some path one or more segments below `directory` that the
    pattern's segments could still take (the planner's brute force oracle reads the same)."""
    segments = pattern.rstrip("/").split("/")
    parts = directory.split("/")

    def step(i: int, j: int) -> bool:
        if j == len(parts):
            return i < len(segments)
        if i == len(segments):
            return False
        if segments[i] == "**":
            return step(i + 1, j) or step(i, j + 1)
        return bool(fnmatch.fnmatch(parts[j], segments[i],
                                    flags=fnmatch.DOTMATCH | fnmatch.CASE | fnmatch.FORCEUNIX)
                    ) and step(i + 1, j + 1)

    return step(0, 0)


@settings(max_examples=600, deadline=None)
@given(st.lists(pattern_segment, min_size=1, max_size=5), st.booleans(),
       st.lists(name, min_size=1, max_size=5), st.booleans())
def test_matching_agrees_with_wcmatch_glob(
    segments: list[str], dir_only: bool, names: list[str], is_dir: bool
) -> None:
    text = "/".join(segments) + ("/" if dir_only else "")
    path = "/".join(names)
    expected = (is_dir or not dir_only) and bool(
        glob.compile("/".join(segments), flags=_GLOB).match(path))
    pattern = Pattern(text)
    assert pattern.matches(path, is_dir=is_dir) is expected
    assert PatternSet([Pattern("x/y"), pattern]).matching(path, is_dir=is_dir) == (
        [1] if expected else [])
    assert pattern.could_match_below(path) is wcmatch_below(text, path)


# Several patterns, each as its segments and whether it ends in `/`.
pattern_texts = st.lists(st.tuples(st.lists(pattern_segment, min_size=1, max_size=4),
                                   st.booleans()), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(pattern_texts, st.lists(name, min_size=1, max_size=4), st.booleans())
def test_a_pattern_set_finds_what_each_pattern_finds_alone(
    texts: list[tuple[list[str], bool]], names: list[str], is_dir: bool
) -> None:
    patterns = [Pattern("/".join(segs) + ("/" if d else "")) for segs, d in texts]
    path = "/".join(names)
    together = PatternSet(patterns)
    alone = [i for i, p in enumerate(patterns) if p.matches(path, is_dir=is_dir)]
    assert together.matching(path, is_dir=is_dir) == alone
    assert together.first(path, is_dir=is_dir) == (alone[0] if alone else None)
    assert together.could_match_below(path) is any(p.could_match_below(path) for p in patterns)


@settings(max_examples=300, deadline=None)
@given(pattern_texts, st.lists(name, min_size=1, max_size=4), st.booleans())
def test_a_child_matched_from_its_directory_finds_what_its_whole_path_finds(
    texts: list[tuple[list[str], bool]], names: list[str], is_dir: bool
) -> None:
    path = "/".join(names)
    patterns = PatternSet(Pattern("/".join(segs) + ("/" if d else "")) for segs, d in texts)
    found = patterns.matching(path, is_dir=is_dir)
    assert patterns.inside("/".join(names[:-1])).matching(names[-1], is_dir=is_dir) == found
    # A file whose path has none of the file patterns' literal endings matches none of them.
    ends = patterns.file_suffixes
    if not is_dir and ends is not None and not path.endswith(ends):
        assert found == []


def test_many_globstars_against_a_deep_chain_cost_linear_time() -> None:
    pattern = Pattern("/".join(["**/a*"] * 6) + "/b")
    deep = "/".join(["a"] * 60)
    started = time.perf_counter()
    for depth in range(1, 61):
        assert pattern.matches(deep[: 2 * depth - 1], is_dir=True) is False
        assert pattern.could_match_below(deep[: 2 * depth - 1])
    assert pattern.matches(deep + "/b", is_dir=False)
    assert time.perf_counter() - started < 1.0
