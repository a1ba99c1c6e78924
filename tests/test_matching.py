"""Glob matching (the README's "Paths and patterns"), with the near-misses users trip over."""

from __future__ import annotations

import pytest

from reconciler.matching import Pattern, is_inside, parent_of

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
