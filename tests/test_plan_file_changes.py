"""A plan file's delete changes read at C speed read as the same changes read field by field,
and a change either way refuses alike."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired import Mode
from reconciler.listing import EntryType, Fingerprint, Stats
from reconciler.plan import Delete, _change_from_json, _delete_of, _read_change

ODD = st.none() | st.booleans() | st.integers(-2, 2**70) | st.sampled_from(
    ["", "/", "x/", "/x", "3", "dir ", [], {}, ["a"], 1.5])
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    # Strings of the right type the field by field reading still refuses: an empty space,
    # and paths that are empty or start or end with "/".
    "space": st.sampled_from(["-", "s01", "space-a", ""]),
    "path": st.sampled_from(["a", "a/b.txt", "photos/2024/IMG_1.jpg", "\u4e2d/\u00e9", "",
                             "/a", "a/"]),
    "type": st.sampled_from(["file", "dir"]),
    "mode": st.sampled_from(["recycle", "permanent"]),
    "reason": st.sampled_from(["purge **/*.part (m.yaml:7)", ""]),
    "effective_mode": st.sampled_from(["recycle", "permanent"]),
    "files": st.integers(0, 10**6),
    "bytes": st.integers(0, 2**40),
    "counted": st.sampled_from(["stats", "listing"]),
    "withdrawn": st.sampled_from(["the file changed since the plan was made"]),
}
OPTIONAL = {"reason", "effective_mode", "files", "bytes", "counted", "withdrawn",
            "fingerprint"}
TEXT = st.sampled_from(['"5d41402abc4b2a76b9719d911017c592"', "2020-09-22T07:43:01.000Z",
                        "13966220", "4629713609255932502"])
CONTENTS = st.fixed_dictionaries(
    {"digest": st.sampled_from(["ab12", 7])},
    optional={"listed": st.lists(st.sampled_from(["a", "a/b"]), max_size=2),
              "skip": st.lists(st.sampled_from(["c"]), max_size=1)})
STATS = st.fixed_dictionaries(
    {"files": st.integers(-1, 10) | st.booleans(), "bytes": st.integers(0, 10**9)},
    optional={"counted": st.sampled_from(["stats", "listing", "guessed"])})


def _value(draw: st.DrawFn, common: st.SearchStrategy[Any]) -> Any:
    return draw(st.sampled_from(["common"] * 4 + ["null", "odd"]).flatmap(
        lambda shape: common if shape == "common" else st.none() if shape == "null" else ODD))


@st.composite
def fingerprints(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(ODD)
    said: dict[str, Any] = {}
    for key in ("etag", "modification_time", "size", "crc64"):
        if draw(st.booleans()):
            said[key] = _value(draw, TEXT)
    if draw(st.integers(0, 3)) == 0:
        said["contents"] = _value(draw, CONTENTS)
    if draw(st.integers(0, 3)) == 0:
        said["stats"] = _value(draw, STATS)
    return said


@st.composite
def deletes(draw: st.DrawFn) -> dict[str, Any]:
    change: dict[str, Any] = {"action": "delete"}
    for key, common in FIELDS.items():
        if key in OPTIONAL and draw(st.booleans()):
            continue
        if key not in OPTIONAL and draw(st.integers(0, 19)) == 0:
            continue  # a required field left out
        change[key] = _value(draw, common)
    if "fingerprint" not in change or draw(st.booleans()):
        change["fingerprint"] = draw(fingerprints())
    if draw(st.integers(0, 9)) == 0:
        change["type"] = "unknown"
    if draw(st.integers(0, 9)) == 0:
        change["extra"] = draw(ODD)
    return change


def _read(reader: Any, change: dict[str, Any]) -> Any:
    try:
        return reader(change)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return type(error), str(error)


@settings(max_examples=600, derandomize=True)
@given(deletes())
def test_a_delete_reads_as_field_by_field(change: dict[str, Any]) -> None:
    assert _read(_change_from_json, change) == _read(_read_change, change)


def test_the_changes_a_plan_file_writes_are_read_at_c_speed_and_alike() -> None:
    written = [
        Delete("-", "tmp", EntryType.DIR, Mode.RECYCLE, "purge tmp/ (m.yaml:3)",
               Fingerprint(etag='"1"', stats=Stats(12, 4096)), files=12, bytes=4096),
        Delete("s01", "a/b.part", EntryType.FILE, Mode.RECYCLE, "purge **/*.part",
               Fingerprint('"5d41"', "2020-09-22T07:43:01.000Z", "10", "77"), files=1,
               effective_mode=Mode.PERMANENT,
               withdrawn="the file changed since the plan was made"),
    ]
    for delete in written:
        change = {"action": "delete", **delete.to_json(fingerprints=True)}
        assert _delete_of(change) == delete == _read_change(change)
        assert _change_from_json(change) == delete
