"""A listing's directories hold their entries packed (`Entries`): whatever the server sent,
each entry reads back exactly as it was listed, spelling for spelling."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from reconciler.listing import Entries, EntryType, Fingerprint, RemoteEntry

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
