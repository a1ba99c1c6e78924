"""The read side against the emulator: marker paging to the end, names spelled as the server
spells them, fingerprints, the recycle bin, history, spaces, tasks and the read-only guard."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from reconciler.client import ReadOnlyViolation, SmhReadClient, SmhRequestError, SmhWriteClient
from reconciler.client.session import encode_path, route
from reconciler.emulator import Clock, Emulator
from reconciler.errors import ReconcileError
from reconciler.listing import EntryType, RemoteEntry

from .support import ENDPOINT, LIBRARY, Connect, Rewriting, requests_of, seeded

BIG = 2500


@pytest.fixture
def big_directory(clock: Clock) -> Emulator:
    paths = [f"big/f{index:05d}.txt" for index in range(BIG)] + ["big/sub/", "big/alpha/"]
    return Emulator.from_seed(seeded(spaces={"-": paths}), clock=clock)


def listing_requests(emu: Emulator) -> int:
    return int(emu.stats()["requests"].get("GET /api/v1/directory", 0))


def test_root_listing_follows_server_order_and_joins_names(reader: SmhReadClient) -> None:
    entries = reader.list_directory("-", "")
    assert [(e.path, e.type) for e in entries] == [
        ("a", EntryType.DIR),
        ("docs", EntryType.DIR),
        ("tmp", EntryType.DIR),
        ("hello.txt", EntryType.FILE),
    ]
    nested = reader.list_directory("-", "a")
    assert [e.path for e in nested] == ["a/c", "a/d", "a/b.txt"]


def test_fingerprints_come_from_etag_mtime_size_crc64(reader: SmhReadClient) -> None:
    (file_entry,) = [e for e in reader.list_directory("-", "") if e.path == "hello.txt"]
    fingerprint = file_entry.fingerprint
    assert fingerprint.etag and fingerprint.modification_time
    assert fingerprint.size is not None and fingerprint.size.isdigit()
    assert fingerprint.crc64 is not None and fingerprint.crc64.isdigit()
    (directory,) = [e for e in reader.list_directory("-", "") if e.path == "a"]
    assert directory.fingerprint.etag and directory.fingerprint.size is None


def test_every_fingerprint_field_is_kept_as_the_server_spelled_it(
    emu: Emulator, connect: Connect
) -> None:
    odd = {
        "b.txt": {"eTag": '"ABC-1"', "size": "0012", "crc64": "18446744073709551616",
                  "modificationTime": "2020-09-22T07:43:01Z"},
        "c": {"eTag": "1646106396946", "modificationTime": None},
        "d": {"eTag": 7, "size": 12},
    }

    def change(request: httpx.Request, doc: dict[str, Any]) -> None:
        for item in doc.get("contents", []):
            item.update(odd.get(item["name"], {}))

    def fields(fingerprint: Any) -> tuple[str | None, ...]:
        return (fingerprint.etag, fingerprint.modification_time, fingerprint.size,
                fingerprint.crc64)

    plain = connect(transport=emu.transport())
    for path in ("", "a", "a/d"):
        rows = {item["name"]: item for item in _raw_listing(emu, path)}
        for entry in plain.read_directory("-", path):
            row = rows[entry.name]
            assert fields(entry.fingerprint) == (
                row.get("eTag"), row.get("modificationTime"), row.get("size"), row.get("crc64"))
    spelled = connect(transport=Rewriting(emu.transport(), _rewrite_json(change)))
    listed = {e.name: fields(e.fingerprint) for e in spelled.list_directory("-", "a")}
    assert listed["b.txt"] == ('"ABC-1"', "2020-09-22T07:43:01Z", "0012", "18446744073709551616")
    assert listed["c"][:2] == ("1646106396946", None)
    assert listed["d"][0] == "7" and listed["d"][2] == "12"


def test_2500_entries_at_1000_a_page_take_3_requests_each_entry_once(
    big_directory: Emulator, connect: Connect
) -> None:
    reader = connect(transport=big_directory.transport(), page_size=1000)
    entries = reader.list_directory("-", "big")
    paths = [e.path for e in entries]
    assert len(paths) == BIG + 2 and len(set(paths)) == BIG + 2
    assert paths[:2] == ["big/alpha", "big/sub"]
    assert paths[2:] == sorted(paths[2:])
    assert listing_requests(big_directory) == 3
    limits = [e["query"].get("limit") for e in requests_of(big_directory, "directory")]
    assert limits == ["1000", "1000", "1000"]


def test_iter_directory_pages_yields_each_page_with_its_marker(
    big_directory: Emulator, connect: Connect
) -> None:
    reader = connect(transport=big_directory.transport(), page_size=1000)
    pages = list(reader.iter_directory_pages("-", "big"))
    assert [len(page.entries) for page in pages] == [1000, 1000, 502]
    assert [page.next_marker is None for page in pages] == [False, False, True]


def test_short_pages_are_not_the_end(big_directory: Emulator, connect: Connect) -> None:
    # The server honours at most 300 a page although the client asks for 1000.
    big_directory.set_faults({"max_list_limit": 300})
    reader = connect(transport=big_directory.transport(), page_size=1000)
    entries = reader.list_directory("-", "big")
    assert len({e.path for e in entries}) == BIG + 2
    assert listing_requests(big_directory) == 9  # ceil(2502 / 300)


def test_marker_mode_says_by_marker_and_a_server_that_caps_limit_at_100_gets_100(
    big_directory: Emulator, connect: Connect
) -> None:
    big_directory.set_faults({"max_list_limit": 100, "max_list_limit_rejects": True})
    reader = connect(transport=big_directory.transport(), page_size=1000)
    entries = reader.list_directory("-", "big")
    assert len({e.path for e in entries}) == BIG + 2
    reader.list_directory("-", "")  # the rest of the run asks for 100 at once
    sent = [(e["query"].get("limit"), e["query"].get("by-marker"), e["status"])
            for e in requests_of(big_directory, "directory")]
    pages = -(-(BIG + 2) // 100)
    assert sent == [("1000", "1", 400)] + [("100", "1", 200)] * (pages + 1)
    reader.recycle_bin_items("-")
    reader.list_recycle_bin("-")
    (bin_page,) = [e["query"] for e in requests_of(big_directory, "recycled")
                   if "limit" in e["query"]]
    assert (bin_page["limit"], bin_page["by-marker"]) == ("100", "1")


def test_a_param_invalid_at_limit_100_is_an_error_not_a_loop(
    big_directory: Emulator, connect: Connect
) -> None:
    big_directory.set_faults({"max_list_limit": 10, "max_list_limit_rejects": True})
    reader = connect(transport=big_directory.transport(), page_size=1000)
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "big")
    assert (caught.value.status, caught.value.code) == (400, "ParamInvalid")
    assert listing_requests(big_directory) == 2


def _rewrite_json(change: Any) -> Any:
    def rewrite(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        if "/api/v1/directory/" not in request.url.path or status != 200:
            return status, body
        doc = json.loads(body)
        change(request, doc)
        return status, json.dumps(doc).encode()

    return rewrite


def test_a_marker_that_repeats_is_an_error_not_an_endless_loop(
    big_directory: Emulator, connect: Connect
) -> None:
    first: list[str] = []

    def stuck(request: httpx.Request, doc: dict[str, Any]) -> None:
        # Every page after the first points back at the second page.
        if "nextMarker" in doc:
            first.append(doc["nextMarker"])
            doc["nextMarker"] = first[0]

    reader = connect(transport=Rewriting(big_directory.transport(), _rewrite_json(stuck)))
    with pytest.raises(SmhRequestError, match="already followed") as caught:
        reader.list_directory("-", "big")
    assert caught.value.method == "GET"
    assert listing_requests(big_directory) == 2


class IntegerMarkers:
    """A server whose markers are integers (as the old docs show): maps the emulator's string
    markers to numbers and back."""

    def __init__(self) -> None:
        self.by_number: dict[int, str] = {}

    def outgoing(self, request: httpx.Request) -> httpx.Request:
        marker = request.url.params.get("marker")
        if marker is None:
            return request
        url = request.url.copy_set_param("marker", self.by_number[int(marker)])
        return httpx.Request(request.method, url, headers=request.headers,
                             content=request.content)

    def incoming(self, doc: dict[str, Any]) -> None:
        if "nextMarker" in doc:
            number = 1013 + len(self.by_number)
            self.by_number[number] = doc["nextMarker"]
            doc["nextMarker"] = number


class IntegerMarkerTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.markers = IntegerMarkers()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(self.markers.outgoing(request))
        body = response.read()
        if "/api/v1/directory/" in request.url.path and response.status_code == 200:
            doc = json.loads(body)
            self.markers.incoming(doc)
            body = json.dumps(doc).encode()
        return httpx.Response(response.status_code, content=body, request=request,
                              headers={"Content-Type": "application/json"})


def test_integer_markers_are_followed(big_directory: Emulator, connect: Connect) -> None:
    reader = connect(transport=IntegerMarkerTransport(big_directory.transport()))
    assert len(reader.list_directory("-", "big")) == BIG + 2
    markers = [e["query"].get("marker") for e in requests_of(big_directory, "directory")]
    assert markers[0] is None and all(markers[1:])


@pytest.mark.parametrize("end", ["", None, "absent"])
def test_an_empty_null_or_absent_marker_ends_the_listing(
    big_directory: Emulator, connect: Connect, end: str | None
) -> None:
    def finish(request: httpx.Request, doc: dict[str, Any]) -> None:
        if "nextMarker" not in doc and end != "absent":
            doc["nextMarker"] = end

    reader = connect(transport=Rewriting(big_directory.transport(), _rewrite_json(finish)))
    assert len(reader.list_directory("-", "big")) == BIG + 2
    assert listing_requests(big_directory) == 3


ODD_NAMES = [
    "with space.txt",
    "hash#tag.txt",
    "50%.txt",
    "%41%2F.txt",
    "plus+and&eq=.txt",
    "Ünïcødé 日本語.txt",
    "tilde~(1).txt",
    "emoji 🎞.mp4",
]


def test_names_with_odd_characters_round_trip(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(
        seeded(spaces={"-": [f"odd dir #1/{name}" for name in ODD_NAMES]}), clock=clock
    )
    reader = connect(transport=emu.transport())
    (top,) = reader.list_directory("-", "")
    assert top.path == "odd dir #1"
    entries = reader.list_directory("-", top.path)
    assert sorted(e.name for e in entries) == sorted(ODD_NAMES)
    for entry in entries:
        info = reader.info("-", entry.path)
        assert info is not None and info.path == entry.path and info.type is EntryType.FILE
    assert [e["path"] for e in requests_of(emu, "directory")][1] == "odd dir #1"


def test_paths_are_encoded_per_segment_with_literal_slashes() -> None:
    assert encode_path("a b/c#d/e?f/g%h/日") == "a%20b/c%23d/e%3Ff/g%25h/%E6%97%A5"
    assert route("directory", "lib", "-", path="x/y z") == "/api/v1/directory/lib/-/x/y%20z"
    assert route("directory", "lib", "-") == "/api/v1/directory/lib/-"


def test_dot_segments_and_stray_slashes_are_refused_before_any_request(
    reader: SmhReadClient, emu: Emulator
) -> None:
    for bad in ("a/..", "../x", "./a", "a//b", "/a", "a/"):
        with pytest.raises(ReconcileError, match="refused"):
            reader.list_directory("-", bad)
    assert emu.stats()["total"] == 0


def test_media_types_are_files(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(
        seeded(type="media", spaces={"-": ["album/pic.jpg", "album/clip.mp4"]}), clock=clock
    )
    reader = connect(transport=emu.transport())
    entries = reader.list_directory("-", "album")
    assert {e.type for e in entries} == {EntryType.FILE}
    kinds = {item["name"]: item["type"] for item in _raw_listing(emu, "album")}
    assert kinds == {"pic.jpg": "image", "clip.mp4": "video"}


def _raw_listing(emu: Emulator, path: str) -> list[dict[str, Any]]:
    with httpx.Client(transport=emu.transport(), base_url=ENDPOINT) as http:
        answer = http.get(f"/api/v1/directory/{LIBRARY}/-/{path}",
                          params={"access_token": emu.admin_token})
    contents: list[dict[str, Any]] = answer.json()["contents"]
    return contents


def _retype(mapping: dict[str, str]) -> Any:
    def change(request: httpx.Request, doc: dict[str, Any]) -> None:
        for item in doc.get("contents", []):
            item["type"] = mapping.get(item["name"], item["type"])

    return _rewrite_json(change)


def test_symlink_and_virtual_items_are_files(emu: Emulator, connect: Connect) -> None:
    rewrite = _retype({"b.txt": "symlink", "c": "virtual"})
    reader = connect(transport=Rewriting(emu.transport(), rewrite))
    types = {e.path: e.type for e in reader.list_directory("-", "a")}
    assert types == {"a/b.txt": EntryType.FILE, "a/c": EntryType.FILE, "a/d": EntryType.DIR}


def test_multi_file_is_a_file_and_an_unknown_type_is_listed_not_guessed(
    emu: Emulator, connect: Connect, reader: SmhReadClient
) -> None:
    emu.set_faults({"entry_types": {"a/b.txt": "multi-file", "a/d/e.jpg": "hologram"}})
    listed = {e.path: e for e in reader.list_directory("-", "a")}
    assert {path: e.type for path, e in listed.items()} == {
        "a/b.txt": EntryType.FILE, "a/c": EntryType.DIR, "a/d": EntryType.DIR}
    assert listed["a/b.txt"].server_type is None
    (odd,) = reader.list_directory("-", "a/d")
    assert (odd.path, odd.type, odd.server_type) == ("a/d/e.jpg", EntryType.UNKNOWN, "hologram")
    assert odd.fingerprint.etag  # the rest of the row is read as for any entry


def test_a_missing_directory_is_an_smh_error(reader: SmhReadClient) -> None:
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "no/such")
    assert (caught.value.status, caught.value.code) == (404, "DirectoryNotFound")
    assert caught.value.request_id


def test_info_of_a_file_a_directory_and_a_missing_path(reader: SmhReadClient) -> None:
    file_info = reader.info("-", "a/b.txt")
    assert file_info is not None and file_info.type is EntryType.FILE
    assert file_info.fingerprint.crc64
    listed = {e.path: e for e in reader.list_directory("-", "a")}
    assert file_info == listed["a/b.txt"]
    dir_info = reader.info("-", "a/d")
    assert dir_info is not None and dir_info.type is EntryType.DIR
    assert reader.info("-", "a/nothing.txt") is None


def test_user_id_is_sent_when_the_space_has_one(reader: SmhReadClient, emu: Emulator) -> None:
    reader.list_directory("-", "a", user_id="ops-bot")
    reader.recycle_bin_items("-", user_id="ops-bot")
    reader.list_directory("-", "")
    queries = [e["query"] for e in emu.request_log() if e["route"] != "token"]
    assert [q.get("user_id") for q in queries] == ["ops-bot", "ops-bot", None]


# -- recycle bin, history, spaces, tasks -----------------------------------------------------


def test_recycle_bin_count_and_listing(writer: SmhWriteClient, emu: Emulator) -> None:
    assert writer.recycle_bin_items("-") == 0
    writer.delete_file("-", "hello.txt", permanent=False)
    writer.delete_directory("-", "tmp", permanent=False)
    assert writer.recycle_bin_items("-") == 2
    items = writer.list_recycle_bin("-")
    assert {(i.original_path, i.type) for i in items} == {
        ("hello.txt", EntryType.FILE),
        ("tmp", EntryType.DIR),
    }
    recorded = {r["recycledItemId"] for r in emu.state()["spaces"]["-"]["recycled"]}
    assert {i.recycled_item_id for i in items} == recorded


def test_recycle_bin_count_is_one_request(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(seeded(spaces={"-": [f"f{i}.txt" for i in range(250)]}),
                             clock=clock)
    writer: SmhWriteClient = connect(SmhWriteClient, transport=emu.transport())
    for entry in writer.list_directory("-", ""):
        writer.delete_file("-", entry.path, permanent=False)
    before = emu.stats()["requests"].get("GET /api/v1/recycled", 0)
    assert writer.recycle_bin_items("-") == 250
    assert emu.stats()["requests"]["GET /api/v1/recycled"] == before + 1
    assert len(writer.list_recycle_bin("-")) == 250  # marker mode, 100 a page
    assert emu.stats()["requests"]["GET /api/v1/recycled"] == before + 4


def test_a_space_without_recycle_bin_counts_none(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(seeded(recycle_bin=False), clock=clock)
    reader: SmhReadClient = connect(transport=emu.transport())
    assert reader.recycle_bin_items("-") is None


@pytest.mark.parametrize("enabled", [True, False])
def test_history_enabled_reads_the_config(clock: Clock, connect: Connect, enabled: bool) -> None:
    emu = Emulator.from_seed(seeded(history={"enabled": enabled}), clock=clock)
    reader: SmhReadClient = connect(transport=emu.transport())
    assert reader.history_enabled() is enabled


def test_list_spaces(clock: Clock, connect: Connect, reader: SmhReadClient) -> None:
    multi = Emulator.from_seed(
        seeded(spaces={"space-b": ["x.txt"], "space-a": ["y.txt"], "space-c": []}), clock=clock
    )
    assert sorted(connect(transport=multi.transport()).list_spaces()) == [
        "space-a", "space-b", "space-c"
    ]
    assert reader.list_spaces() == ["-"]


@pytest.mark.parametrize("marker_only", [False, True])
def test_the_space_list_pages_by_next_marker_else_by_a_new_marker(
    clock: Clock, connect: Connect, marker_only: bool
) -> None:
    spaces: dict[str, list[str]] = {f"space-{i:02d}": [] for i in range(7)}
    multi = Emulator.from_seed(seeded(spaces=spaces), clock=clock)
    multi.set_faults({"max_list_limit": 3, "space_list_marker_only": marker_only})
    assert connect(transport=multi.transport()).list_spaces() == sorted(spaces)
    sent = [e["query"].get("marker") for e in requests_of(multi, "space")]
    assert sent == [None, "space-02", "space-05"]


def test_query_tasks_reads_task_id_and_status(writer: SmhWriteClient, emu: Emulator) -> None:
    emu.set_faults({"async_threshold": 1, "task_polls": 1})
    reply = writer.batch_delete("-", _items("hello.txt"))
    assert reply.task_id is not None
    (running,) = writer.query_tasks("-", [reply.task_id])
    assert running.running and running.task_id == reply.task_id
    (done,) = writer.query_tasks("-", [reply.task_id])
    assert done.status == 200 and done.succeeded


def test_several_tasks_are_asked_in_one_query_with_literal_commas(
        emu: Emulator, connect: Connect) -> None:
    sent: list[bytes] = []

    def record(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        sent.append(request.url.raw_path)
        return status, body

    emu.set_faults({"async_threshold": 1, "task_polls": 0})
    writer: SmhWriteClient = connect(SmhWriteClient, transport=Rewriting(emu.transport(), record))
    ids = [writer.batch_delete("-", _items(path)).task_id for path in ("hello.txt", "a/b.txt")]
    assert None not in ids
    states = writer.query_tasks("-", [i for i in ids if i is not None])
    assert [state.task_id for state in states] == ids
    assert sent[-1].split(b"?")[0] == f"/api/v1/task/{LIBRARY}/-/{ids[0]},{ids[1]}".encode()


def test_task_ids_fall_back_to_id(emu: Emulator, connect: Connect) -> None:
    def old_spelling(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        if "/api/v1/task/" in request.url.path and status == 200:
            tasks = json.loads(body)
            for task in tasks:
                task["id"] = task.pop("taskId")
            return status, json.dumps(tasks).encode()
        return status, body

    emu.set_faults({"async_threshold": 1, "task_polls": 0})
    writer: SmhWriteClient = connect(SmhWriteClient,
                                     transport=Rewriting(emu.transport(), old_spelling))
    reply = writer.batch_delete("-", _items("hello.txt"))
    assert reply.task_id is not None
    (state,) = writer.query_tasks("-", [reply.task_id])
    assert state.task_id == reply.task_id and state.status == 200


def _items(*paths: str, permanent: bool = False) -> list[Any]:
    from reconciler.client import DeleteItem

    return [DeleteItem(path, permanent) for path in paths]


# -- read-only by construction ------------------------------------------------------------------


def test_a_reader_cannot_send_anything_but_get(reader: SmhReadClient, emu: Emulator) -> None:
    session = reader._session
    for method in ("DELETE", "POST", "PUT", "PATCH", "HEAD"):
        with pytest.raises(ReadOnlyViolation, match=f"refused to send {method}"):
            session.request(method, route("batch", LIBRARY, "-"), query=[("delete", None)],
                            space="-", grants=())
    # Not even through the transport under it.
    with pytest.raises(ReadOnlyViolation):
        session._transport.handle_request(httpx.Request(
            "DELETE", ENDPOINT + route("file", LIBRARY, "-", path="hello.txt")))
    # Nor by borrowing the write methods.
    with pytest.raises(ReadOnlyViolation):
        SmhWriteClient.batch_delete(reader, "-", _items("hello.txt"))  # type: ignore[arg-type]
    methods = {key.split()[0] for key in emu.stats()["requests"]}
    assert methods <= {"GET"}
    assert "hello.txt" in emu.state()["spaces"]["-"]["paths"]


def test_a_writer_may_send_deletes(writer: SmhWriteClient) -> None:
    result = writer.delete_file("-", "hello.txt", permanent=True)
    assert result.status == 204


def test_entries_are_remote_entries(reader: SmhReadClient) -> None:
    assert all(isinstance(e, RemoteEntry) for e in reader.list_directory("-", ""))
