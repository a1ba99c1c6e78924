"""Recycle bin: list (marker and page modes), item info, restore one/many, delete one/many,
empty, lifecycle, retention."""

from __future__ import annotations

import httpx
import pytest

from reconciler.emulator import Clock, Emulator
from reconciler.emulator.seed import SeedError

from .support import ADMIN, BASE_SEED, api, error_code, token


def recycle(c: httpx.Client, *paths: str) -> list[int]:
    ids = []
    for path in paths:
        kind = "directory" if path.endswith("/") else "file"
        response = c.delete(api(kind, *path.strip("/").split("/")))
        assert response.status_code == 200, response.text
        ids.append(response.json()["recycledItemId"])
    return ids


def test_list_shapes_and_default_order(client: httpx.Client, clock: Clock) -> None:
    first, second = recycle(client, "hello.txt", "photos/")
    response = client.get(api("recycled"))
    assert response.status_code == 200
    body = response.json()
    assert body["totalNum"] == 2
    assert "nextMarker" not in body
    assert [i["recycledItemId"] for i in body["contents"]] == [second, first]
    directory, file = body["contents"]
    assert directory["originalPath"] == ["photos"] and directory["type"] == "dir"
    assert file["originalPath"] == ["hello.txt"] and file["type"] == "file"
    assert set(file) >= {"recycledItemId", "originalPath", "name", "type", "size",
                         "creationTime", "modificationTime", "removalTime", "remainingTime"}
    assert file["remainingTime"] == 30
    assert file["name"] == "hello.txt"
    clock.advance(86400 * 1.5)
    assert client.get(api("recycled")).json()["contents"][0]["remainingTime"] == 28


def test_marker_and_page_modes(client: httpx.Client) -> None:
    for i in range(7):
        client.put(api("directory", f"d{i}"))
    ids = recycle(client, *[f"d{i}/" for i in range(7)])
    seen: list[int] = []
    marker = None
    while True:
        body = client.get(api("recycled"), params={"limit": "3", **(
            {"marker": marker} if marker else {})}).json()
        seen.extend(i["recycledItemId"] for i in body["contents"])
        marker = body.get("nextMarker")
        if marker is None:
            break
    assert seen == list(reversed(ids))
    page2 = client.get(api("recycled"), params={"page": "2", "page_size": "3",
                                                "order_by": "removalTime"}).json()
    assert [i["recycledItemId"] for i in page2["contents"]] == ids[3:6]
    assert page2["totalNum"] == 7
    by_name = client.get(api("recycled"), params={"order_by": "name",
                                                  "order_by_type": "desc"}).json()
    assert [i["name"] for i in by_name["contents"]] == [f"d{i}" for i in reversed(range(7))]
    capped = client.get(api("recycled"), params={"limit": "500"}).json()
    assert len(capped["contents"]) == 7
    assert error_code(client.get(api("recycled"), params={"marker": "!!"})) == (
        404, "MarkerNotFound")


def test_limit_range_is_1_to_100(client: httpx.Client) -> None:
    for i in range(105):
        client.put(api("directory", f"d{i:03d}"))
    batch = [{"path": f"d{i:03d}"} for i in range(99)]
    client.post(api("batch"), params={"delete": ""}, json=batch)
    recycle(client, *[f"d{i:03d}/" for i in range(99, 105)])
    assert len(client.get(api("recycled"), params={"limit": "1000"}).json()["contents"]) == 100
    assert len(client.get(api("recycled")).json()["contents"]) == 20


def test_item_info(client: httpx.Client) -> None:
    (item_id,) = recycle(client, "photos/2024/a.jpg")
    info = client.get(api("recycled", str(item_id)), params={"info": ""})
    assert info.status_code == 200
    body = info.json()
    assert body["recycledItemId"] == item_id
    assert body["contentType"] == "image/jpeg"
    assert body["eTag"].startswith('"')
    assert error_code(client.get(api("recycled", "999"), params={"info": ""})) == (
        404, "RecycledItemNotFound")


def test_restore_one_directory_restores_subtree(emu: Emulator, client: httpx.Client) -> None:
    before = emu.state()["spaces"]["-"]["paths"]
    listing = client.get(api("directory", "photos", "2024")).json()["contents"]
    (item_id,) = recycle(client, "photos/")
    response = client.post(api("recycled", str(item_id)), params={"restore": ""})
    assert response.status_code == 200
    assert response.json() == {"path": ["photos"]}
    assert emu.state()["spaces"]["-"]["paths"] == before
    assert emu.state()["spaces"]["-"]["recycled"] == []
    assert client.get(api("directory", "photos", "2024")).json()["contents"] == listing


def test_restore_conflict_renames_or_asks(client: httpx.Client) -> None:
    (item_id,) = recycle(client, "docs/handbook.pdf")
    client.put(api("directory", "docs", "handbook.pdf"))
    assert error_code(client.post(api("recycled", str(item_id)),
                                  params={"restore": "1",
                                          "conflict_resolution_strategy": "ask"})) == (
        409, "SameNameDirectoryOrFileExists")
    renamed = client.post(api("recycled", str(item_id)), params={"restore": "1"})
    assert renamed.json() == {"path": ["docs", "handbook (1).pdf"]}
    original = client.get(api("directory", "docs")).json()["contents"]
    assert [i["name"] for i in original] == ["drafts", "handbook.pdf", "handbook (1).pdf"]


def test_restore_keeps_file_metadata_after_rename(client: httpx.Client) -> None:
    before = client.get(api("directory", "photos", "2024", "a.jpg"), params={"info": ""}).json()
    (item_id,) = recycle(client, "photos/2024/")
    client.put(api("directory", "photos", "2024"))
    client.post(api("recycled", str(item_id)), params={"restore": ""})
    after = client.get(api("directory", "photos", "2024 (1)", "a.jpg"),
                       params={"info": ""}).json()
    assert (after["size"], after["eTag"], after["crc64"]) == (
        before["size"], before["eTag"], before["crc64"])


def test_restore_when_parent_is_gone(client: httpx.Client) -> None:
    (item_id,) = recycle(client, "photos/2024/a.jpg")
    client.delete(api("directory", "photos"), params={"permanent": "1"})
    assert error_code(client.post(api("recycled", str(item_id)), params={"restore": ""})) == (
        404, "DirectoryNotFound")
    restored = client.post(api("recycled", str(item_id)),
                           params={"restore": "", "restore_path_strategy": "fallbackToRoot"})
    assert restored.json() == {"path": ["a.jpg"]}


def test_restore_many(emu: Emulator, client: httpx.Client) -> None:
    first, second = recycle(client, "hello.txt", "photos/2024/a.jpg")
    client.delete(api("directory", "photos"), params={"permanent": "1"})
    response = client.post(api("recycled"), params={"restore": ""}, json=[first, second, 999])
    assert response.status_code == 207
    assert response.json()["result"] == [
        {"status": 200, "path": ["hello.txt"], "recycledItemId": first},
        {"status": 404, "code": "DirectoryNotFound", "message": "Directory not found.",
         "recycledItemId": second},
        {"status": 404, "code": "RecycledItemNotFound", "message": "Recycled item not found.",
         "recycledItemId": 999},
    ]
    (third,) = recycle(client, "tmp/")
    assert client.post(api("recycled"), params={"restore": ""}, json=[third]).status_code == 200
    assert error_code(client.post(api("recycled"), params={"restore": ""}, json=[])) == (
        400, "NoItemsProvided")


def test_restore_many_async(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"async_threshold": 2, "task_polls": 0})
    ids = recycle(client, "hello.txt", "tmp/")
    response = client.post(api("recycled"), params={"restore": ""}, json=ids)
    assert response.status_code == 202
    task = client.get(api("task", str(response.json()["taskId"]))).json()[0]
    assert task["status"] == 200
    assert [r["path"] for r in task["result"]] == [["hello.txt"], ["tmp"]]


def test_delete_one_many_and_empty(emu: Emulator, client: httpx.Client) -> None:
    a, b, c, d = recycle(client, "hello.txt", "tmp/", "docs/", "photos/2024/a.jpg")
    deleted = client.delete(api("recycled", str(a)))
    assert deleted.status_code == 204 and deleted.content == b""
    assert error_code(client.delete(api("recycled", str(a)))) == (404, "RecycledItemNotFound")
    assert client.post(api("recycled"), params={"delete": ""}, json=[b, 12345]).status_code == 204
    remaining = [r["recycledItemId"] for r in emu.state()["spaces"]["-"]["recycled"]]
    assert remaining == [c, d]
    assert client.delete(api("recycled")).status_code == 204
    assert emu.state()["spaces"]["-"]["recycled"] == []
    assert client.get(api("recycled")).json() == {"totalNum": 0, "contents": []}


def test_bin_grants(anon: httpx.Client, client: httpx.Client) -> None:
    (item_id,) = recycle(client, "hello.txt")
    reader = token(anon)
    restorer = token(anon, grant="restore_recycled")
    purger = token(anon, grant="delete_recycled")
    assert anon.get(api("recycled"), params={"access_token": reader}).status_code == 200
    for value in (reader, purger):
        assert error_code(anon.post(api("recycled", str(item_id)),
                                    params={"restore": "", "access_token": value})) == (
            403, "NoPermission")
    for value in (reader, restorer):
        assert error_code(anon.delete(api("recycled"), params={"access_token": value})) == (
            403, "NoPermission")
        assert error_code(anon.delete(api("recycled", str(item_id)),
                                      params={"access_token": value})) == (403, "NoPermission")
    assert anon.delete(api("recycled"), params={"access_token": purger}).status_code == 204


@pytest.mark.parametrize(("method", "suffix", "params"), [
    ("GET", (), {}), ("DELETE", (), {}), ("POST", (), {"restore": ""}),
    ("POST", (), {"delete": ""}), ("GET", ("1",), {"info": ""}), ("DELETE", ("1",), {}),
    ("POST", ("1",), {"restore": ""})])
def test_bin_disabled(method: str, suffix: tuple[str, ...], params: dict[str, str]) -> None:
    emu = Emulator.from_seed({**BASE_SEED, "recycle_bin": False})
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": "admin-token"}) as c:
        response = c.request(method, api("recycled", *suffix), params=params, json=[1])
        assert error_code(response) == (400, "RecycleBinNotEnabled")


def test_lifecycle_and_retention(client: httpx.Client, clock: Clock) -> None:
    (kept,) = recycle(client, "hello.txt")
    assert client.post(api("recycled"), params={"lifecycle": ""},
                       json={"retentionDays": 2}).status_code == 204
    recycle(client, "tmp/")
    clock.advance(86400 * 2 + 1)
    # Lowering the retention only shortens later deletions.
    remaining = client.get(api("recycled")).json()
    assert [i["recycledItemId"] for i in remaining["contents"]] == [kept]
    assert remaining["contents"][0]["remainingTime"] == 27
    # Raising it extends the items already in the bin.
    client.post(api("recycled"), params={"lifecycle": ""}, json={"retentionDays": 40})
    assert client.get(api("recycled")).json()["contents"][0]["remainingTime"] == 37
    clock.advance(86400 * 38)
    assert client.get(api("recycled")).json()["totalNum"] == 0
    assert error_code(client.post(api("recycled"), params={"lifecycle": ""},
                                  json={"retentionDays": 0})) == (400, "ParamInvalid")


SEEDED_BIN = {
    "recycle_retention_days": 1000,
    "recycled": {"-": [
        {"path": "new/draft.txt", "removed": "2027-01-05T08:00:00Z", "size": 10},
        {"path": "old/report.pdf", "removed": "2025-12-11T08:00:00Z", "size": 4000},
        {"path": "drafts/", "removed": "2026-12-01T08:00:00Z"},
    ]},
}


def test_seeded_bin_items_keep_their_removal_times_and_sizes(clock: Clock) -> None:
    emu = Emulator.from_seed({**BASE_SEED, **SEEDED_BIN}, clock=clock)
    with httpx.Client(transport=emu.transport(), base_url="https://smhtest.api.tencentsmh.cn",
                      params={"access_token": ADMIN}) as c:
        rows = c.get(api("recycled"), params={"order_by": "removalTime",
                                              "order_by_type": "asc"}).json()["contents"]
    assert [(r["recycledItemId"], "/".join(r["originalPath"]), r["type"], r["size"],
             r["removalTime"]) for r in rows] == [
        (1, "old/report.pdf", "file", "4000", "2025-12-11T08:00:00.000Z"),
        (2, "drafts", "dir", "0", "2026-12-01T08:00:00.000Z"),
        (3, "new/draft.txt", "file", "10", "2027-01-05T08:00:00.000Z"),
    ]
    # 1000 days of retention, less the 400 days since the oldest removal (at the fixed clock).
    assert rows[0]["remainingTime"] == 600


def test_seeded_bin_items_past_the_retention_are_gone_and_reset_brings_the_rest_back(
        clock: Clock) -> None:
    emu = Emulator.from_seed({**BASE_SEED, **SEEDED_BIN, "recycle_retention_days": 30},
                             clock=clock)
    assert [i["originalPath"] for i in emu.state()["spaces"]["-"]["recycled"]] == [
        "new/draft.txt"]


def test_the_batch_delete_of_bin_items_answers_without_any_per_item_detail(clock: Clock) -> None:
    emu = Emulator.from_seed({**BASE_SEED, **SEEDED_BIN}, clock=clock)
    with httpx.Client(transport=emu.transport(), base_url="https://smhtest.api.tencentsmh.cn",
                      params={"access_token": ADMIN}) as c:
        response = c.post(api("recycled"), params={"delete": ""}, json=[1, 3, 99])
    assert response.status_code == 204 and response.content == b""
    assert [i["recycledItemId"] for i in emu.state()["spaces"]["-"]["recycled"]] == [2]
    emu.reset()
    assert len(emu.state()["spaces"]["-"]["recycled"]) == 3


@pytest.mark.parametrize(("recycled", "fragment"), [
    ({"nope": []}, "no such space"),
    ({"-": [{"path": "a.txt"}]}, "'removed'"),
    ({"-": [{"path": "a.txt", "removed": "yesterday"}]}, "ISO-8601"),
    ({"-": "a.txt"}, "list of bin items"),
])
def test_bad_seeded_bin_items(recycled: object, fragment: str) -> None:
    with pytest.raises(SeedError, match=fragment):
        Emulator.from_seed({**BASE_SEED, "recycled": recycled})
