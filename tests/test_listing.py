"""A listing's directories hold their entries packed (`Entries`): whatever the server sent,
each entry reads back exactly as it was listed, spelling for spelling."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.listing import (
    _TYPE_CODES as TYPE_CODES,
)
from reconciler.listing import (
    Entries,
    EntriesBuilder,
    EntryType,
    Fingerprint,
    RemoteEntry,
    packed_page,
)
from reconciler.listing import (
    _pack as pack_record,
)

HEX_ETAG = '"5d41402abc4b2a76b9719d911017c592"'
TIME = "2020-09-22T07:43:01.000Z"

# Each field as SMH spells it, and spellings the packed record cannot hold as they are.
ETAGS = [None, HEX_ETAG, '"5D41402ABC4B2A76B9719D911017C592"', '"5d41402abc4b2a76-1"', "0",
         "1646106396946", "007", "", " 1", '"5d41402abc4b2a76b9719d911017c59 "']
TIMES = [None, TIME, "2020-09-22T07:43:01Z", "2020-09-22T07:43:01.000+08:00",
         "2020-09-22T07:43:01.00\u00e9Z", ""]
NUMBERS = [None, "0", "1048576", "0012", "18446744073709551615", "18446744073709551616",
           "-1", "1.5", "\u0661\u0662", ""]


def fingerprints() -> st.SearchStrategy[Fingerprint]:
    return st.builds(Fingerprint, etag=st.sampled_from(ETAGS) | st.text(max_size=40),
                     modification_time=st.sampled_from(TIMES) | st.text(max_size=30),
                     size=st.sampled_from(NUMBERS), crc64=st.sampled_from(NUMBERS))


@st.composite
def directories(draw: st.DrawFn) -> tuple[str, list[RemoteEntry]]:
    directory = draw(st.sampled_from(["", "photos", "photos/2020/\u00e9t\u00e9"]))
    prefix = f"{directory}/" if directory else ""
    names = draw(st.lists(st.text(min_size=1, max_size=12).filter(lambda n: "/" not in n),
                          unique=True, max_size=20))
    entries = []
    for name in names:
        entry_type = draw(st.sampled_from(list(EntryType)))
        server_type = draw(st.sampled_from(["hologram", "album"])) if (
            entry_type is EntryType.UNKNOWN) else None
        entries.append(RemoteEntry(prefix + name, entry_type, draw(fingerprints()), server_type))
    return directory, entries


@given(directories())
def test_every_entry_reads_back_as_it_was_listed(listed: tuple[str, list[RemoteEntry]]) -> None:
    directory, entries = listed
    packed = Entries.of(directory, entries)
    assert len(packed) == len(entries)
    assert list(packed) == entries
    assert [(e.path, e.type, e.fingerprint, e.server_type) for e in packed] == [
        (e.path, e.type, e.fingerprint, e.server_type) for e in entries]
    assert list(packed.directories()) == [e.path for e in entries if e.is_dir]
    assert [e.name for e in packed] == [e.name for e in entries]
    halves = [Entries.of(directory, entries[:3]), Entries.of(directory, entries[3:])]
    assert list(Entries.join(directory, halves)) == entries


def test_an_entry_of_a_directory_is_a_remote_entry_equal_to_its_fields() -> None:
    entry = RemoteEntry("a/b.jpg", EntryType.FILE,
                        Fingerprint(etag=HEX_ETAG, modification_time=TIME, size="5", crc64="7"))
    (listed,) = Entries.of("a", [entry])
    assert isinstance(listed, RemoteEntry)
    assert listed == entry and hash(listed) == hash(entry)
    assert listed != replace(entry, fingerprint=replace(entry.fingerprint, size="6"))
    changed = replace(listed, type=EntryType.DIR)
    assert (changed.path, changed.type, changed.fingerprint) == (
        "a/b.jpg", EntryType.DIR, entry.fingerprint)
    assert repr(listed) == repr(entry)


NAMES = st.text(min_size=1, max_size=12).filter(lambda n: "/" not in n) | st.sampled_from(
    ["", ".", "..", "a/b", "a\x00b", "\u00e9t\u00e9.jpg"])
HEX_TAGS = st.builds(lambda n: f'"{n:032x}"', st.integers(0, 2**128 - 1))
NUMBER = st.integers(0, 2**64 - 1).map(str)


def column(draw: st.DrawFn, count: int, common: st.SearchStrategy[str],
           spellings: list[str | None]) -> list[str | None]:
    """A field of `count` rows: absent from all, in the record's own form in all, or so but
    for one row, absent or spelled as the record cannot hold it."""
    values: list[str | None] = draw(st.lists(common, min_size=count, max_size=count))
    shape = draw(st.sampled_from(["absent", "common", "odd", "hole"]))
    if shape == "absent":
        return [None] * count
    if shape != "common":
        odd = [spelling for spelling in spellings if spelling is not None]
        values[draw(st.integers(0, count - 1))] = (
            None if shape == "hole" else draw(st.sampled_from(odd)))
    return values


@st.composite
def pages(draw: st.DrawFn) -> tuple[list[Any], ...]:
    count = draw(st.integers(1, 12))
    names = draw(st.lists(NAMES, min_size=count, max_size=count, unique=True))
    types = draw(st.lists(st.sampled_from([EntryType.FILE, EntryType.DIR]), min_size=count,
                          max_size=count))
    tags = draw(st.sampled_from([HEX_TAGS, NUMBER, HEX_TAGS | NUMBER]))
    return (names, types, column(draw, count, tags, ETAGS),
            column(draw, count, st.just(TIME), TIMES),
            column(draw, count, NUMBER, NUMBERS), column(draw, count, NUMBER, NUMBERS))


@settings(max_examples=400)
@given(pages())
def test_a_page_packed_at_once_reads_back_as_its_rows_added_one_by_one(
        page: tuple[list[Any], ...]) -> None:
    names, types, etags, mtimes, sizes, crc64s = page
    rows = list(zip(names, types, etags, mtimes, sizes, crc64s, strict=True))
    packed = packed_page("d", names, types, etags, mtimes, sizes, crc64s)
    usable = all(name not in ("", ".", "..") and "/" not in name and "\x00" not in name
                 for name in names)
    each_packs = all(pack_record(TYPE_CODES[kind], etag, mtime, size, crc64) is not None
                     for _, kind, etag, mtime, size, crc64 in rows)
    uniform = all(len({value is None for value in field}) == 1
                  for field in (etags, mtimes, sizes, crc64s)) and len(
        {etag.startswith('"') for etag in etags if etag is not None}) <= 1
    # Every page SMH sends of files, or of directories, is packed at once; a page with a
    # name unfit for a path, or a row the record cannot hold as spelled, is left to the
    # reader's row-by-row path.
    assert (packed is not None) == (usable and each_packs and uniform)
    if packed is None:
        return
    builder = EntriesBuilder("d")
    for row in rows:
        builder.add(*row)
    one_by_one = builder.build()
    assert [(e.path, e.type, e.fingerprint, e.server_type) for e in packed] == [
        (e.path, e.type, e.fingerprint, e.server_type) for e in one_by_one]
    assert list(packed.directories()) == list(one_by_one.directories())


ODD_ETAGS = [tag for tag in [*ETAGS, '"5d41402abc4b2a76b9719d911017c59g"',
                              '"5d41402abc4b2a76b9719d911017c5"9"',
                              '5d41402abc4b2a76b9719d911017c592""']
             if tag is not None and pack_record(0, tag, None, None, None) is None]
ODD_NUMBERS = [n for n in NUMBERS if n is not None and pack_record(0, None, None, n, None) is None]


@pytest.mark.parametrize("column, odd", [
    *(("etag", spelling) for spelling in ODD_ETAGS),
    *(("size", spelling) for spelling in ODD_NUMBERS),
    *(("crc64", spelling) for spelling in ODD_NUMBERS),
])
def test_a_page_with_one_field_the_record_cannot_hold_is_not_packed_at_once(
        column: str, odd: str) -> None:
    # Three rows of files as SMH sends them but for one field of the middle row.
    fields = {"etag": [HEX_ETAG] * 3, "size": ["1", "20", "300"], "crc64": ["7", "8", "9"]}
    if column == "etag" and odd.strip('"').isdigit():
        fields["etag"] = ["1646106396946", "1646106396947", "1646106396948"]
    fields[column][1] = odd
    names, types = ["a", "b", "c"], [EntryType.FILE] * 3
    assert packed_page("d", names, types, fields["etag"], [TIME] * 3, fields["size"],
                       fields["crc64"]) is None
    fields[column][1] = fields[column][0]
    assert packed_page("d", names, types, fields["etag"], [TIME] * 3, fields["size"],
                       fields["crc64"]) is not None
