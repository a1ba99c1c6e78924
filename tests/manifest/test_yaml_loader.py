"""The safe YAML reader: refusals (aliases, tags, encodings, size, depth) and core scalars."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from reconciler.manifest import MAX_MANIFEST_BYTES, check_paths
from reconciler.manifest.yaml_loader import MAX_DEPTH, read_manifest

BILLION_LAUGHS = b"""\
version: 1
library: smhdemo
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
spaces: [*i]
"""


def test_billion_laughs_is_refused_at_each_alias_without_expanding() -> None:
    result = read_manifest("lol.yaml", BILLION_LAUGHS)

    assert result.document is None
    assert len(result.problems) == 8 * 9 + 1
    first = result.problems[0]
    assert str(first) == (
        "lol.yaml:4:8: b[0]: aliases (*a) are not allowed in manifests; write the value out in full"
    )
    assert str(result.problems[-1]).startswith("lol.yaml:12:10: spaces[0]: aliases (*i)")


def test_recursive_alias_is_refused() -> None:
    result = read_manifest("loop.yaml", b"a: &x [1, *x]\n")

    assert [str(problem) for problem in result.problems] == [
        "loop.yaml:1:11: a[1]: aliases (*x) are not allowed in manifests; "
        "write the value out in full"
    ]


def test_undefined_alias_is_an_error_not_a_crash() -> None:
    result = read_manifest("undefined.yaml", b"a: *nowhere\n")

    assert len(result.problems) == 1
    assert "aliases (*nowhere) are not allowed" in result.problems[0].message


def test_nesting_deeper_than_the_limit_is_refused_without_recursion() -> None:
    depth = 200_000  # deep enough to crash a recursive composer, and past libyaml's own cap
    result = read_manifest("deep.yaml", b"[" * depth + b"]" * depth)

    assert result.document is None
    [problem] = result.problems
    assert problem.message == f"nesting is deeper than {MAX_DEPTH} levels; a manifest needs six"
    assert str(problem).startswith("deep.yaml:1:")


def test_block_nesting_just_past_the_limit_is_located_where_it_starts() -> None:
    lines = [f"{'  ' * level}k{level}:" for level in range(MAX_DEPTH + 1)]
    result = read_manifest("deep.yaml", ("\n".join(lines) + " x\n").encode())

    assert [str(problem) for problem in result.problems] == [
        f"deep.yaml:{MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}: "
        f"nesting is deeper than {MAX_DEPTH} levels; a manifest needs six"
    ]


def test_non_utf8_bytes_are_located() -> None:
    result = read_manifest("latin1.yaml", "version: 1\nlibrary: caf\xe9\n".encode("latin-1"))

    assert [str(problem) for problem in result.problems] == [
        "latin1.yaml:2:13: byte 0xe9 is not valid UTF-8; manifests must be UTF-8"
    ]


def test_utf16_is_refused() -> None:
    result = read_manifest("utf16.yaml", "version: 1\n".encode("utf-16"))

    assert [problem.message for problem in result.problems] == [
        "file is UTF-16; manifests must be UTF-8"
    ]


def test_utf8_bom_is_accepted() -> None:
    result = read_manifest("bom.yaml", b"\xef\xbb\xbfversion: 1\n")

    assert result.document is not None
    assert result.document.data == {"version": 1}


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    manifest = tmp_path / "huge.yaml"
    with manifest.open("wb") as stream:
        stream.truncate(MAX_MANIFEST_BYTES + 1)

    problems = check_paths([manifest])

    assert len(problems) == 1
    assert problems[0].message == (
        f"file is {MAX_MANIFEST_BYTES + 1:,} bytes; manifests are limited to "
        f"{MAX_MANIFEST_BYTES:,} bytes (16 MiB)"
    )


def test_columns_count_characters_not_bytes() -> None:
    result = read_manifest("wide.yaml", "a: [名前, !odd x]\n".encode())

    assert [str(problem) for problem in result.problems] == [
        "wide.yaml:1:9: a[1]: tag !odd is not allowed; manifests use plain YAML values"
    ]


def test_scalars_follow_the_yaml_1_2_core_schema() -> None:
    text = (
        "yes: yes\nno: no\non: off\ndate: 2024-01-31\nhex: 0x1f\noctal: 0o17\nleading: 012\n"
        "float: 1.5e3\ninf: -.inf\nnull1: ~\nnull2:\ntrue1: True\nquoted: '12'\n"
        "explicit: !!str 12\nexplicit_int: !!int '7'\n"
    )
    result = read_manifest("core.yaml", text.encode())

    assert result.document is not None
    data = result.document.data
    assert data == {
        "yes": "yes",
        "no": "no",
        "on": "off",
        "date": "2024-01-31",
        "hex": 31,
        "octal": 15,
        "leading": 12,
        "float": 1500.0,
        "inf": -math.inf,
        "null1": None,
        "null2": None,
        "true1": True,
        "quoted": "12",
        "explicit": "12",
        "explicit_int": 7,
    }


def test_keys_are_the_text_written() -> None:
    result = read_manifest("keys.yaml", b"1: a\nnull: b\ntrue: c\n")

    assert result.document is not None
    assert result.document.data == {"1": "a", "null": "b", "true": "c"}


def test_a_core_tag_with_a_value_it_cannot_hold_is_located() -> None:
    result = read_manifest("bad.yaml", b"a:\n  b: !!int twelve\n")

    assert [str(problem) for problem in result.problems] == [
        "bad.yaml:2:6: a.b: `twelve` is not a valid !!int value"
    ]


def test_every_yaml_problem_of_a_file_is_reported_together() -> None:
    text = b"a: 1\na: 2\nb: !x 3\nc: *y\n"
    result = read_manifest("many.yaml", text)

    assert [(problem.location.line, problem.where) for problem in result.problems] == [
        (2, "a"),
        (3, "b"),
        (4, "c"),
    ]


def test_locations_of_values_keys_and_missing_paths() -> None:
    text = b"version: 1\nspaces:\n  - id: a\n    purge:\n      - {pattern: x, mode: permanent}\n"
    document = read_manifest("loc.yaml", text).document
    assert document is not None

    assert str(document.location(("spaces", 0, "purge", 0, "mode"))) == "loc.yaml:5:28"
    assert str(document.location(("spaces", 0, "purge", 0, "mode"), key=True)) == "loc.yaml:5:22"
    # A path past what exists stops at the deepest value that does.
    assert str(document.location(("spaces", 0, "exist", 3))) == "loc.yaml:3:5"
    assert [str(loc) for loc in document.item_locations(("spaces", 0, "purge"))] == [
        "loc.yaml:5:9"
    ]


@pytest.mark.parametrize(
    "text",
    [
        b"a: !!set {x, y}\n",
        b"a: !!timestamp 2024-01-01\n",
        b"a: !!omap [x: 1]\n",
        b"a: !!python/name:os.system\n",
        b"a: !<tag:example.com,2024:thing> x\n",
    ],
)
def test_tags_beyond_the_core_schema_are_refused(text: bytes) -> None:
    result = read_manifest("tag.yaml", text)

    assert result.document is None
    assert len(result.problems) == 1
    assert "is not allowed; manifests use plain YAML values" in result.problems[0].message
