"""Deleting files and directories one at a time: the seed pages' examples and grant rules."""

from __future__ import annotations

import httpx
import pytest

from reconciler.emulator import Emulator

from .support import ADMIN, BASE_SEED, api, error_code, token


def test_delete_file_seed_examples(emu: Emulator, client: httpx.Client) -> None:
    recycled = client.delete(api("file", "hello.txt"))
    assert recycled.status_code == 200
    assert recycled.headers["Content-Type"] == "application/json; charset=utf-8"
    assert set(recycled.json()) == {"recycledItemId"}
    assert isinstance(recycled.json()["recycledItemId"], int)

    permanent = client.delete(api("file", "docs", "handbook.pdf"), params={"permanent": "1"})
    assert permanent.status_code == 204
    assert permanent.content == b""
    assert permanent.headers["X-Request-Id"]

    missing = client.delete(api("file", "path", "to", "non_existent_file.txt"))
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "code": "FileNotFound",
                              "message": "File not found.",
                              "requestId": missing.headers["X-Request-Id"]}
    state = emu.state()["spaces"]["-"]
    assert "hello.txt" not in state["paths"] and "docs/handbook.pdf" not in state["paths"]
    assert state["recycled"] == [{"recycledItemId": recycled.json()["recycledItemId"],
                                  "originalPath": "hello.txt", "type": "file"}]


@pytest.mark.parametrize("value", ["1", "true", "True", ""])
def test_permanent_truthy_spellings(client: httpx.Client, value: str) -> None:
    assert client.delete(api("file", "hello.txt"), params={"permanent": value}).status_code == 204


@pytest.mark.parametrize("value", ["0", "false"])
def test_permanent_falsy_spellings(client: httpx.Client, value: str) -> None:
    assert client.delete(api("file", "hello.txt"), params={"permanent": value}).status_code == 200


def test_permanent_nonsense_is_refused(client: httpx.Client) -> None:
    assert error_code(client.delete(api("file", "hello.txt"), params={"permanent": "2"})) == (
        400, "ParamInvalid")


def test_delete_directory_is_one_bin_item(emu: Emulator, client: httpx.Client) -> None:
    response = client.delete(api("directory", "photos"))
    assert response.status_code == 200
    item_id = response.json()["recycledItemId"]
    state = emu.state()["spaces"]["-"]
    assert not [p for p in state["paths"] if p.startswith("photos")]
    assert state["recycled"] == [{"recycledItemId": item_id, "originalPath": "photos",
                                  "type": "dir"}]


def test_delete_directory_errors(client: httpx.Client) -> None:
    assert error_code(client.delete(api("directory", "nope"))) == (404, "DirectoryNotFound")
    assert error_code(client.delete(api("directory", "hello.txt"))) == (
        404, "DirectoryNotFound")
    assert error_code(client.delete(api("file", "docs"))) == (404, "FileNotFound")
    assert error_code(client.delete(api("directory"))) == (400, "RootDirectoryNotAllowed")
    assert error_code(client.delete(f"{api('directory')}/")) == (400, "RootDirectoryNotAllowed")


def test_delete_directory_permanently(emu: Emulator, client: httpx.Client) -> None:
    response = client.delete(api("directory", "tmp"), params={"permanent": "1"})
    assert response.status_code == 204
    assert emu.state()["spaces"]["-"]["recycled"] == []


def test_library_without_bin_deletes_permanently() -> None:
    emu = Emulator.from_seed({**BASE_SEED, "recycle_bin": False})
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        assert c.delete(api("file", "hello.txt")).status_code == 204
        assert c.delete(api("directory", "tmp"), params={"permanent": "0"}).status_code == 204
        assert error_code(c.get(api("recycled"))) == (400, "RecycleBinNotEnabled")
        # Without a bin, delete_file suffices even for permanent=1.
        plain = token(c, grant="delete_file")
        assert c.delete(api("file", "docs", "handbook.pdf"),
                        params={"access_token": plain, "permanent": "1"}).status_code == 204


def test_grants_for_deletes(anon: httpx.Client) -> None:
    reader = token(anon)
    files = token(anon, grant="delete_file")
    files_permanent = token(anon, grant="delete_file_permanent")
    dirs = token(anon, grant="delete_directory")
    space_admin = token(anon, grant="space_admin")

    def delete(kind: str, path: str, value: str, permanent: str = "0") -> httpx.Response:
        return anon.delete(api(kind, *path.split("/")),
                           params={"access_token": value, "permanent": permanent})

    assert error_code(delete("file", "hello.txt", reader)) == (403, "NoPermission")
    assert error_code(delete("file", "hello.txt", files, "1")) == (403, "NoPermission")
    assert error_code(delete("file", "hello.txt", files_permanent)) == (403, "NoPermission")
    assert error_code(delete("file", "hello.txt", dirs)) == (403, "NoPermission")
    assert error_code(delete("directory", "tmp", files)) == (403, "NoPermission")
    assert delete("file", "hello.txt", files).status_code == 200
    assert delete("file", "docs/handbook.pdf", files_permanent, "1").status_code == 204
    assert delete("directory", "tmp", dirs).status_code == 200
    assert delete("directory", "photos", space_admin, "1").status_code == 204


def test_fail_paths_fault_on_single_deletes(client: httpx.Client, emu: Emulator) -> None:
    emu.set_faults({"fail_paths": {"photos/2024/a.jpg": {"status": 409, "code": "PathConflict"}}})
    assert error_code(client.delete(api("file", "photos", "2024", "a.jpg"))) == (
        409, "PathConflict")
    assert error_code(client.delete(api("directory", "photos"))) == (409, "PathConflict")
    assert client.delete(api("file", "photos", "2024", "b.jpg")).status_code == 200
    assert "photos/2024/a.jpg" in emu.state()["spaces"]["-"]["paths"]
