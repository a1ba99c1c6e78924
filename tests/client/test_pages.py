"""A directory page read straight from its body reads as the same page read from its JSON."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.client.reader import _directory_page, _entries, _next_marker

HEX = st.builds(lambda n: f'"{n:032x}"', st.integers(0, 2**128 - 1))
NUMBER = st.integers(0, 2**64 - 1).map(str)
ODD = st.sampled_from(["", "007", "-1", "1.5", " 1", '"5D41402ABC4B2A76B9719D911017C592"'])
FIELDS = {
    "eTag": HEX | NUMBER | ODD,
    "modificationTime": st.just("2020-09-22T07:43:01.000Z") | st.sampled_from(["", "2020"]),
    "size": NUMBER | ODD,
    "crc64": NUMBER | ODD,
}
# Letters of names and values named outright (ASCII, accented, CJK, a NUL, a slash), so that
# drawing them needs no table of all of Unicode.
LETTERS = "ab.1/ \x00\u00e9\u4e2d\U0001f600"
ANY_JSON = st.none() | st.booleans() | st.integers() | st.text(LETTERS, max_size=5)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": draw(st.text(LETTERS, min_size=1, max_size=8) | st.sampled_from(["", ".."])),
        "type": draw(st.sampled_from(["file", "dir", "image", "hologram"])),
        "path": ["ignored"],
    }
    for key, values in FIELDS.items():
        shape = draw(st.sampled_from(["common", "common", "absent", "null", "other"]))
        if shape == "common":
            row[key] = draw(values)
        elif shape == "null":
            row[key] = None
        elif shape == "other":
            row[key] = draw(ANY_JSON)
    return row


@st.composite
def pages(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(0, 6))
    # Most pages are uniform (one row drawn, its shape kept by the others), as SMH sends them.
    if draw(st.booleans()):
        template = draw(rows())
        page_rows = [{**template, "name": f"n{index}"} for index in range(count)]
    else:
        page_rows = draw(st.lists(rows(), min_size=count, max_size=count))
    page: dict[str, Any] = {"contents": page_rows}
    marker = draw(st.sampled_from(["absent", "null", "", "next", 7]))
    if marker != "absent":
        page["nextMarker"] = None if marker == "null" else marker
    return page


# Each example is a page of several rows; on a loaded machine drawing the first ones can take
# longer than the health check allows, and the examples are the same wherever they run.
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(pages())
def test_a_page_read_straight_reads_as_its_json(page: dict[str, Any]) -> None:
    body = json.dumps(page, ensure_ascii=False).encode()
    straight = _directory_page(body, "d")
    if straight is None:
        return
    entries, marker = straight
    data = json.loads(body)
    read = _entries(data, "d")
    assert list(entries) == list(read)
    assert marker == _next_marker(data, None)


def test_a_page_as_smh_sends_it_is_read_straight() -> None:
    row = {"name": "a.jpg", "type": "file", "eTag": '"5d41402abc4b2a76b9719d911017c592"',
           "modificationTime": "2020-09-22T07:43:01.000Z", "size": "5", "crc64": "7",
           "contentType": "image/jpeg", "path": ["d", "a.jpg"]}
    body = json.dumps({"contents": [row, {**row, "name": "b.jpg"}], "nextMarker": 3,
                       "fileCount": 2}).encode()
    straight = _directory_page(body, "d")
    assert straight is not None
    entries, marker = straight
    assert [entry.path for entry in entries] == ["d/a.jpg", "d/b.jpg"] and marker == "3"
    # A field given twice counts once, the last, as `json` reads it.
    twice = body.replace(b'"size": "5"', b'"size": "5", "size": "6"', 1)
    again = _directory_page(twice, "d")
    assert again is not None
    assert [entry.fingerprint.size for entry in again[0]] == ["6", "5"]
