"""The canonical JSON text of plans, plan files and reports is exactly what the standard
indenting encoder writes, however the document nests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.plan import dumps

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
DOCUMENTS: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=30,
)


def standard(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@given(st.dictionaries(st.text(max_size=5), DOCUMENTS, max_size=5))
def test_dumps_writes_what_the_indenting_encoder_writes(document: dict[str, Any]) -> None:
    assert dumps(document) == standard(document)


def test_dumps_of_a_report_like_document_with_numeric_keys_and_tuples() -> None:
    document = {"items": [{"path": "a\nb", "status": 200, "é": None}, {}], "totals": {},
                "ids": (1, 2), "by_id": {3: "x", 1: [True]}, "nested": [[], [[1]], {"k": ()}]}
    assert dumps(document) == standard(document)


FLAT = st.dictionaries(st.sampled_from(["path", "}", "{", "a", ""]) | st.text(max_size=3),
                       SCALARS | st.sampled_from(["},\n    {", "}", "{\n", "],"]),
                       max_size=4)


@given(st.lists(FLAT, max_size=6), st.lists(st.lists(FLAT, max_size=3), max_size=3))
def test_arrays_of_plain_objects_are_written_as_the_indenting_encoder_writes(
        items: list[dict[str, Any]], nested: list[list[dict[str, Any]]]) -> None:
    document = {"items": items, "nested": nested, "tuple": tuple(items)}
    assert dumps(document) == standard(document)


def test_values_json_writes_but_cannot_read_back_are_written_as_the_indenting_encoder_does(
) -> None:
    # NaN and the infinities (json's own spelling, not JSON), a lone surrogate.
    document = {"ratio": float("nan"), "limits": [float("inf"), -float("inf")],
                "name": "bad\udc80name", "nested": {"k": [float("nan"), {}]}}
    assert dumps(document) == standard(document)


@given(st.dictionaries(st.text(max_size=5), st.floats() | st.text(), max_size=4))
def test_any_float_and_any_string_are_written_as_the_indenting_encoder_writes(
        document: dict[str, Any]) -> None:
    assert dumps(document) == standard(document)
