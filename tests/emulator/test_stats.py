"""Directory stats, the space file count, seeded sizes and times, and files written behind a
plan: consistent with the tree, the recycle bin and history at every moment."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Clock, Emulator

from .support import ADMIN, BASE_SEED, LIBRARY, api, error_code, token

SIZES: dict[str, Any] = {
    **BASE_SEED,
    "history": {"enabled": False, "earlier_versions": 4},
    "spaces": {"-": [
        {"path": "logs/2024-01.log", "size": 2048, "mtime": "2024-01-31T23:59:00Z"},
        {"path": "logs/old/2023-12.log", "size": 1000},
        "logs/old/2023-11.log",
        "docs/readme.txt",
        "empty/",
    ]},
}


@pytest.fixture
def sized(clock: Clock) -> Emulator:
    return Emulator.from_seed(SIZES, clock=clock)


@pytest.fixture
def sclient(sized: Emulator) -> httpx.Client:
    return httpx.Client(transport=sized.transport(), base_url="https://x",
                        params={"access_token": ADMIN})


def stats(client: httpx.Client, path: str, kind: str = "normal") -> dict[str, Any]:
    answer = client.get(api("directory", path), params={"stats": "1", "stats_type": kind})
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


def listed(client: httpx.Client, path: str) -> dict[str, dict[str, Any]]:
    contents = client.get(api("directory", path), params={"limit": "1000"}).json()["contents"]
    return {item["name"]: item for item in contents}


def test_seeded_size_and_mtime_are_what_listings_show(sclient: httpx.Client) -> None:
    logs = listed(sclient, "logs")
    assert logs["2024-01.log"]["size"] == "2048"
    assert logs["2024-01.log"]["modificationTime"] == "2024-01-31T23:59:00.000Z"
    assert listed(sclient, "logs/old")["2023-12.log"]["size"] == "1000"


def test_stats_count_files_bytes_and_directories_recursively(sclient: httpx.Client) -> None:
    logs = stats(sclient, "logs")
    old_size = int(listed(sclient, "logs/old")["2023-11.log"]["size"])
    assert logs == {"storage": str(2048 + 1000 + old_size), "fileCount": 3, "dirCount": 1}
    assert stats(sclient, "empty") == {"storage": "0", "fileCount": 0, "dirCount": 0}
    assert stats(sclient, "")["fileCount"] == 4


def test_stats_follow_deletes_into_the_bin_and_the_file_count_adds_them_up(
    sclient: httpx.Client,
) -> None:
    before = stats(sclient, "logs")
    assert sclient.delete(api("directory", "logs/old")).status_code == 200
    after = stats(sclient, "logs")
    assert after["fileCount"] == 1 and after["storage"] == "2048"
    assert stats(sclient, "logs", "recycle") == {
        "storage": str(int(before["storage"]) - 2048), "fileCount": 2, "dirCount": 1}
    assert stats(sclient, "", "history")["fileCount"] == 4
    assert sclient.get(api("space", "file-count", space="-")).json() == {
        "fileNum": 2 + 2 + 4, "dirNum": 3 + 1, "recycledFileNum": 2, "recycledDirNum": 1,
        "historyFileNum": 4}


def test_clearing_history_empties_its_count(sclient: httpx.Client) -> None:
    cleared = sclient.delete(f"/api/v1/directory-history/{LIBRARY}/library-history")
    assert cleared.status_code in (200, 202)
    assert sclient.get(api("space", "file-count", space="-")).json()["historyFileNum"] == 0


def test_the_file_count_needs_an_admin_token(sized: Emulator) -> None:
    with httpx.Client(transport=sized.transport(), base_url="https://x") as anonymous:
        read_only = token(anonymous)
        answer = anonymous.get(api("space", "file-count", space="-"),
                               params={"access_token": read_only})
        assert error_code(answer) == (403, "NoPermission")
        # Directory stats are a read like a listing.
        assert anonymous.get(api("directory", "logs"), params={
            "access_token": read_only, "stats": "1"}).status_code == 200


def test_a_fault_makes_stats_unavailable_per_path_or_everywhere(
    sized: Emulator, sclient: httpx.Client
) -> None:
    sized.set_faults({"stats_unavailable": ["logs/old"]})
    assert error_code(sclient.get(api("directory", "logs/old"), params={"stats": "1"})) == (
        400, "ParamInvalid")
    assert stats(sclient, "logs")["fileCount"] == 3
    assert sclient.get(api("space", "file-count", space="-")).status_code == 200
    sized.set_faults({"stats_unavailable": True})
    assert sclient.get(api("directory", "logs"), params={"stats": "1"}).status_code == 400
    assert error_code(sclient.get(api("space", "file-count", space="-"))) == (
        404, "RouteNotFound")
    sized.set_faults({})
    assert stats(sclient, "logs")["fileCount"] == 3


def test_written_files_change_what_listings_and_stats_say(
    sized: Emulator, sclient: httpx.Client, clock: Clock
) -> None:
    before = listed(sclient, "logs")["2024-01.log"]
    clock.advance(60)
    sized.write_files("-", [{"path": "logs/2024-01.log", "size": 4096},
                            "logs/new/deep/today.log"])
    after = listed(sclient, "logs")["2024-01.log"]
    assert after["size"] == "4096" and after["eTag"] != before["eTag"]
    assert after["modificationTime"] != before["modificationTime"]
    assert stats(sclient, "logs")["fileCount"] == 4
    assert sclient.post("/_emulator/files", json={"space": "-", "files": ["a/b.txt"]}
                        ).status_code == 204
    assert "a/b.txt" in sized.state()["spaces"]["-"]["paths"]
    refused = sclient.post("/_emulator/files", json={"space": "-", "files": ["docs/readme.txt/x"]})
    assert refused.status_code == 400
