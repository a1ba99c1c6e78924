"""JSON on the wire reads exactly what `json.loads` reads, refuses what it refuses, and writes
what the compact standard encoder writes: a hostile answer is taken or refused as before."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import wirejson

# Integers of any size (beyond 64 bits too), and text with control characters, surrogates
# and non-ASCII.
EXACT = st.none() | st.booleans() | st.integers() | st.text()
FLOATS = st.floats()  # NaN and the infinities included


def documents(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=30,
    )


def standard(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass")


def same(left: Any, right: Any) -> bool:
    """Equal values of the same JSON types, NaN equal to NaN."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def read_by_json(text: bytes) -> tuple[str, Any]:
    try:
        return "value", json.loads(text)
    except (ValueError, RecursionError) as error:
        return "refused", type(error)


def read_by_wire(text: bytes) -> tuple[str, Any]:
    try:
        return "value", wirejson.loads(text)
    except (ValueError, RecursionError) as error:
        return "refused", type(error)


def assert_read_alike(text: bytes) -> None:
    expected, got = read_by_json(text), read_by_wire(text)
    assert expected[0] == got[0], text
    if expected[0] == "value":
        assert same(expected[1], got[1]), text
    else:
        assert expected[1] is got[1], text


@given(documents(EXACT | FLOATS))
def test_a_document_reads_back_as_json_reads_it(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert_read_alike(text)
    assert_read_alike(json.dumps(value).encode())  # \u escapes, lone surrogates among them


@given(st.binary(max_size=40) | documents(EXACT).map(standard).flatmap(
    lambda text: st.tuples(st.just(text), st.integers(0, len(text)), st.binary(max_size=3))
    .map(lambda cut: cut[0][:cut[1]] + cut[2] + cut[0][cut[1]:])))
def test_any_bytes_are_read_or_refused_as_json_does(text: bytes) -> None:
    assert_read_alike(text)


@pytest.mark.parametrize("text", [
    b"NaN", b"-Infinity", b"1e400", b"18446744073709551616", b"-9223372036854775809",
    b'"\\ud800"', b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"), b"[" * 5000 + b"]" * 5000,
    b'{"a":1,"a":2}', b"01", b'"\x01"', b"\xff", b"",
])
def test_the_corners_where_decoders_differ_read_as_json_reads_them(text: bytes) -> None:
    assert_read_alike(text)


@given(documents(EXACT))
def test_a_document_is_written_as_the_compact_encoder_writes_it(value: Any) -> None:
    try:
        expected = standard(value)
    except UnicodeEncodeError:  # a lone surrogate: neither can send it as UTF-8
        with pytest.raises((UnicodeEncodeError, TypeError)):
            wirejson.dumps(value)
        return
    assert wirejson.dumps(value) == expected


@given(documents(FLOATS | EXACT))
def test_floats_are_written_as_the_same_numbers(value: Any) -> None:
    """A float may be spelled otherwise (`1e16` for `1e+16`), and NaN and the infinities,
    which JSON has no text for, are written as null."""
    try:
        standard(value)
    except UnicodeEncodeError:
        return
    assert same(json.loads(wirejson.dumps(value)), nulled(value))


def nulled(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [nulled(v) for v in value]
    if isinstance(value, dict):
        return {k: nulled(v) for k, v in value.items()}
    return value


def canonical_standard(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


KEYED = st.recursive(
    EXACT,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    | st.dictionaries(st.integers(), inner, max_size=3),
    max_leaves=30,
)


@given(KEYED)
def test_canonical_text_is_the_sorted_compact_standard_text(value: Any) -> None:
    # Integer keys (json sorts them as numbers, then writes them as text) and lone
    # surrogates are written by json itself.
    assert wirejson.canonical(value) == canonical_standard(value)


def test_canonical_text_of_keys_that_sort_differently_as_text_and_as_numbers() -> None:
    value = {"b": {10: "ten", 9: "nine"}, "a": [{"é": 1, "z": 2, "\U0001f600": 3, "~": 4}]}
    assert wirejson.canonical(value) == canonical_standard(value)


def indented_standard(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@given(KEYED)
def test_indented_text_is_the_standard_indented_text(value: Any) -> None:
    # Plan files and reports are written so: json's own indented text, byte for byte.
    assert wirejson.indented(value) == indented_standard(value)

