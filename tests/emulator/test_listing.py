"""Listing a directory: item shapes, marker and page modes, orders, filters, eTag/304, info,
HEAD, create directory, and path tolerance."""

from __future__ import annotations

import re

import httpx
import pytest

from reconciler.emulator import Emulator

from .support import ADMIN, LIBRARY, SECRET, api, error_code, names

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_root_listing_shapes(client: httpx.Client) -> None:
    response = client.get(api("directory"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["path"] == []
    assert (body["fileCount"], body["subDirCount"], body["totalNum"]) == (1, 3, 4)
    assert isinstance(body["eTag"], str) and body["eTag"]
    assert "nextMarker" not in body
    assert names(response) == ["docs", "photos", "tmp", "hello.txt"]
    directory, file = body["contents"][0], body["contents"][3]
    assert set(directory) == {"name", "path", "type", "creationTime", "modificationTime", "eTag"}
    assert directory["type"] == "dir" and directory["path"] == ["docs"]
    assert set(file) == {"name", "path", "type", "creationTime", "modificationTime", "eTag",
                         "size", "crc64", "contentType", "versionId"}
    assert file["type"] == "file" and file["contentType"] == "text/plain"
    assert file["size"].isdigit() and file["crc64"].isdigit()
    assert re.fullmatch(r'"[0-9a-f]{32}"', file["eTag"])
    assert isinstance(file["versionId"], int)
    assert ISO.match(file["creationTime"]) and ISO.match(file["modificationTime"])


def test_metadata_is_deterministic(emu: Emulator, client: httpx.Client) -> None:
    first = client.get(api("directory", "photos", "2024")).json()["contents"]
    again = Emulator.from_seed(emu.seed)
    with httpx.Client(transport=again.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as other:
        assert other.get(api("directory", "photos", "2024")).json()["contents"] == first


@pytest.mark.parametrize("target", [
    f"/api/v1/directory/{LIBRARY}/-", f"/api/v1/directory/{LIBRARY}/-/",
    f"/api/v1/directory/{LIBRARY}/-//"])
def test_root_with_or_without_trailing_slash(client: httpx.Client, target: str) -> None:
    assert names(client.get(target)) == ["docs", "photos", "tmp", "hello.txt"]


def test_encoded_slash_equals_literal_slash(client: httpx.Client) -> None:
    literal = client.get(f"/api/v1/directory/{LIBRARY}/-/photos/2024")
    encoded = client.get(f"/api/v1/directory/{LIBRARY}/-/photos%2F2024")
    assert literal.status_code == encoded.status_code == 200
    assert names(literal) == names(encoded) == ["a.jpg", "b.jpg", "c.mp4"]
    assert encoded.json()["path"] == ["photos", "2024"]


def test_names_with_spaces_and_unicode() -> None:
    emu = Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": ADMIN,
                              "spaces": {"-": ["my docs/résumé (1).pdf", "a+b/c%d.txt"]}})
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        assert names(c.get(api("directory", "my docs"))) == ["résumé (1).pdf"]
        assert names(c.get(f"/api/v1/directory/{LIBRARY}/-/my%20docs")) == ["résumé (1).pdf"]
        assert names(c.get(f"/api/v1/directory/{LIBRARY}/-/a%2Bb")) == ["c%d.txt"]
        info = c.get(f"/api/v1/directory/{LIBRARY}/-/a%2Bb%2Fc%25d.txt", params={"info": ""})
        assert info.json()["path"] == ["a+b", "c%d.txt"]


def test_missing_directory_and_file_as_directory(client: httpx.Client) -> None:
    assert error_code(client.get(api("directory", "nope"))) == (404, "DirectoryNotFound")
    assert error_code(client.get(api("directory", "hello.txt"))) == (404, "DirectoryNotFound")


def many_files_emulator(count: int, dirs: int = 0) -> Emulator:
    paths = [f"big/f{i:06d}.txt" for i in range(count)] + [f"big/d{i:04d}/" for i in range(dirs)]
    return Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": ADMIN,
                               "spaces": {"-": paths}})


def walk(c: httpx.Client, path: str, **params: str) -> list[str]:
    seen: list[str] = []
    marker = None
    while True:
        query = dict(params, **({"marker": marker} if marker else {}))
        body = c.get(path, params=query).json()
        seen.extend(item["name"] for item in body["contents"])
        marker = body.get("nextMarker")
        if marker is None:
            return seen
        assert isinstance(marker, str) and marker


def test_marker_paging_100k_entries_visits_each_exactly_once() -> None:
    emu = many_files_emulator(99_000, dirs=1000)
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        seen = walk(c, api("directory", "big"), limit="1000")
    assert len(seen) == 100_000
    assert len(set(seen)) == 100_000
    assert seen[:1000] == [f"d{i:04d}" for i in range(1000)]
    assert seen[1000:] == [f"f{i:06d}.txt" for i in range(99_000)]


def test_default_limit_is_20_and_limit_is_clamped() -> None:
    emu = many_files_emulator(1500)
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        assert len(c.get(api("directory", "big")).json()["contents"]) == 20
        assert len(c.get(api("directory", "big"), params={"limit": "5000"}).json()[
            "contents"]) == 1000
        assert len(c.get(api("directory", "big"), params={"limit": "0"}).json()[
            "contents"]) == 1
        emu.set_faults({"max_list_limit": 100})
        assert len(c.get(api("directory", "big"), params={"limit": "1000"}).json()[
            "contents"]) == 100
        assert error_code(c.get(api("directory", "big"), params={"limit": "ten"})) == (
            400, "ParamInvalid")


def test_marker_continues_after_last_key_when_directory_changes(emu: Emulator) -> None:
    emu = many_files_emulator(10)
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        first = c.get(api("directory", "big"), params={"limit": "4"}).json()
        assert [i["name"] for i in first["contents"]] == [f"f{i:06d}.txt" for i in range(4)]
        # Delete the last item served and the next one; the walk neither repeats nor skips.
        c.delete(api("file", "big", "f000003.txt"))
        c.delete(api("file", "big", "f000004.txt"))
        rest = c.get(api("directory", "big"),
                     params={"limit": "100", "marker": first["nextMarker"]}).json()
        assert [i["name"] for i in rest["contents"]] == [f"f{i:06d}.txt" for i in range(5, 10)]
        assert "nextMarker" not in rest


@pytest.mark.parametrize("marker", ["%%%", "bm90LWpzb24", "eyJ0IjoieCJ9"])
def test_bad_marker_is_marker_not_found(client: httpx.Client, marker: str) -> None:
    assert error_code(client.get(api("directory"), params={"marker": marker})) == (
        404, "MarkerNotFound")


@pytest.mark.parametrize("mode", [{}, {"by-marker": "1"}, {"by-marker": ""}])
def test_by_marker_flag_is_accepted(client: httpx.Client, mode: dict[str, str]) -> None:
    assert names(client.get(api("directory"), params=mode)) == [
        "docs", "photos", "tmp", "hello.txt"]


def test_page_mode() -> None:
    emu = many_files_emulator(45, dirs=5)
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        pages = [c.get(api("directory", "big"), params={"page": str(p), "page_size": "20",
                                                        "by-page": "1"}).json()
                 for p in (1, 2, 3)]
        assert [len(p["contents"]) for p in pages] == [20, 20, 10]
        assert all("nextMarker" not in p for p in pages)
        assert pages[0]["totalNum"] == 50
        assert (pages[0]["fileCount"], pages[0]["subDirCount"]) == (45, 5)
        everything = [i["name"] for p in pages for i in p["contents"]]
        assert everything == [f"d{i:04d}" for i in range(5)] + [
            f"f{i:06d}.txt" for i in range(45)]
        default_size = c.get(api("directory", "big"), params={"page": "1"}).json()
        assert len(default_size["contents"]) == 20
        assert error_code(c.get(api("directory", "big"),
                                params={"page": "101", "page_size": "100"})) == (
            400, "ParamInvalid")
        assert c.get(api("directory", "big"),
                     params={"page": "100", "page_size": "100"}).json()["contents"] == []


def test_orders_and_filters(client: httpx.Client) -> None:
    photos = api("directory", "photos", "2024")
    files = client.get(photos).json()["contents"]
    by_size = sorted(files, key=lambda i: (int(i["size"]), i["name"]))
    assert names(client.get(photos, params={"order_by": "size"})) == [i["name"] for i in by_size]
    assert names(client.get(photos, params={"orderBy": "size", "orderByType": "desc"})) == [
        i["name"] for i in reversed(by_size)]
    by_mtime = sorted(files, key=lambda i: (i["modificationTime"], i["name"]))
    assert names(client.get(photos, params={"order_by": "modificationTime"})) == [
        i["name"] for i in by_mtime]
    assert names(client.get(photos, params={"order_by": "name", "order_by_type": "desc"})) == [
        "c.mp4", "b.jpg", "a.jpg"]
    root = api("directory")
    assert names(client.get(root, params={"filter": "onlyDir"})) == ["docs", "photos", "tmp"]
    assert names(client.get(root, params={"filter": "onlyFile"})) == ["hello.txt"]
    assert names(client.get(root, params={"order_by_type": "desc"})) == [
        "tmp", "photos", "docs", "hello.txt"]
    assert names(client.get(root, params={"sort_type": "union"})) == [
        "docs", "hello.txt", "photos", "tmp"]
    assert error_code(client.get(root, params={"order_by": "colour"})) == (400, "ParamInvalid")
    assert error_code(client.get(root, params={"filter": "onlyCats"})) == (400, "ParamInvalid")


@pytest.mark.parametrize("order", [
    {"order_by": "size"}, {"order_by": "size", "order_by_type": "desc"},
    {"order_by": "creationTime", "sort_type": "union"},
    {"order_by": "name", "order_by_type": "desc", "sort_type": "union"},
    {"order_by_type": "desc"}])
def test_marker_paging_in_every_order_visits_each_once(order: dict[str, str]) -> None:
    emu = many_files_emulator(230, dirs=25)
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        whole = names(c.get(api("directory", "big"), params={**order, "limit": "1000"}))
        paged = walk(c, api("directory", "big"), limit="7", **order)
    assert paged == whole
    assert len(set(paged)) == 255


def test_etag_changes_with_children_and_if_none_match(client: httpx.Client) -> None:
    first = client.get(api("directory", "tmp"))
    etag = first.json()["eTag"]
    assert first.headers["ETag"] == etag
    cached = client.get(api("directory", "tmp"), headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["X-Request-Id"]
    assert client.get(api("directory", "tmp"),
                      headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    client.delete(api("file", "tmp", "x.part"))
    changed = client.get(api("directory", "tmp"), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["eTag"] != etag
    assert names(changed) == ["cache"]
    root_items = {i["name"]: i for i in client.get(api("directory")).json()["contents"]}
    assert root_items["tmp"]["eTag"] == changed.json()["eTag"]


def test_media_library_types_by_extension() -> None:
    emu = Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": ADMIN,
                              "type": "media", "spaces": {"-": ["a.JPG", "b.mp4", "c.pdf"]}})
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        items = c.get(api("directory")).json()["contents"]
    assert [(i["name"], i["type"]) for i in items] == [
        ("a.JPG", "image"), ("b.mp4", "video"), ("c.pdf", "file")]
    assert items[0]["contentType"] == "image/jpeg"


def test_info_on_files_and_directories(client: httpx.Client) -> None:
    for flag in ({"info": ""}, {"info": "1"}):
        info = client.get(api("directory", "photos", "2024", "a.jpg"), params=flag)
        assert info.status_code == 200
        assert info.json()["type"] == "file"
        assert info.json()["path"] == ["photos", "2024", "a.jpg"]
    directory = client.get(api("directory", "photos"), params={"info": ""}).json()
    assert directory["type"] == "dir"
    assert (directory["fileCount"], directory["subDirCount"]) == (0, 2)
    assert error_code(client.get(api("directory", "nope.txt"), params={"info": ""})) == (
        404, "FileNotFound")
    file_info = client.get(api("file", "hello.txt"), params={"info": "1"})
    assert file_info.status_code == 200
    assert "cosUrl" in file_info.json()


def test_head_file_and_directory(client: httpx.Client) -> None:
    head = client.head(api("file", "photos", "2024", "a.jpg"))
    assert head.status_code == 200
    assert head.content == b""
    listed = client.get(api("directory", "photos", "2024")).json()["contents"][0]
    assert head.headers["x-smh-size"] == listed["size"]
    assert head.headers["x-smh-etag"] == listed["eTag"]
    assert head.headers["x-smh-crc64"] == listed["crc64"]
    assert head.headers["x-smh-type"] == "file"
    assert head.headers["x-smh-content-type"] == "image/jpeg"
    assert head.headers["X-Request-Id"]
    missing = client.head(api("file", "nope.jpg"))
    assert missing.status_code == 404 and missing.content == b""
    assert missing.headers["X-Request-Id"]
    assert client.head(api("directory", "photos")).status_code == 200
    assert client.head(api("directory", "nope")).status_code == 404
    assert client.head(api("directory", "hello.txt")).status_code == 404
    assert client.head(api("file", "photos")).status_code == 404


def test_download_redirects(client: httpx.Client) -> None:
    response = client.get(api("file", "hello.txt"))
    assert response.status_code == 302
    assert response.headers["Location"]
    assert response.headers["x-smh-size"].isdigit()


def test_create_directory(emu: Emulator, client: httpx.Client) -> None:
    created = client.put(api("directory", "new", "deep", "dir"))
    assert created.status_code == 201
    assert created.content == b""
    assert {"new/", "new/deep/", "new/deep/dir/"} <= set(emu.state()["spaces"]["-"]["paths"])
    assert error_code(client.put(api("directory", "new", "deep", "dir"))) == (
        409, "SameNameDirectoryOrFileExists")
    renamed = client.put(api("directory", "new", "deep", "dir"),
                         params={"conflict_resolution_strategy": "rename"})
    assert renamed.status_code == 201
    assert renamed.json()["path"] == ["new", "deep", "dir (1)"]
    assert error_code(client.put(api("directory", "hello.txt", "sub"))) == (
        409, "SameNameDirectoryOrFileExists")
    assert error_code(client.put(api("directory", "hello.txt"))) == (
        409, "SameNameDirectoryOrFileExists")
    assert error_code(client.put(api("directory"))) == (400, "RootDirectoryNotAllowed")


def test_create_directory_needs_grant(anon: httpx.Client) -> None:
    from .support import token
    reader = token(anon)
    writer = token(anon, grant="create_directory")
    assert error_code(anon.put(api("directory", "x"), params={"access_token": reader})) == (
        403, "NoPermission")
    assert anon.put(api("directory", "x"), params={"access_token": writer}).status_code == 201


def test_dot_segments_are_refused(client: httpx.Client) -> None:
    response = client.get(f"/api/v1/directory/{LIBRARY}/-/docs/%2E%2E")
    assert error_code(response) == (400, "InvalidSpaceOrDirectoryPath")


def test_unknown_route(client: httpx.Client) -> None:
    assert error_code(client.get("/api/v1/nothing/here")) == (404, "RouteNotFound")
    assert error_code(client.get("/elsewhere")) == (404, "RouteNotFound")
    assert error_code(client.patch(api("directory"))) == (404, "RouteNotFound")


def test_info_items_match_listed_items(client: httpx.Client) -> None:
    items = client.get(api("directory", "photos")).json()["contents"] + client.get(
        api("directory", "photos", "2024")).json()["contents"]
    assert {item["type"] for item in items} >= {"dir", "file"}
    for item in items:
        info = client.get(api("directory", *item["path"]), params={"info": ""}).json()
        assert {k: info[k] for k in item} == item
