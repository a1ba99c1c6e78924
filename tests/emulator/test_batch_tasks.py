"""Batch delete (200, 207, 202 + task) and the task query endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

from .support import ADMIN, LIBRARY, SECRET, api, error_code, token

DELETE = {"delete": ""}


def batch(c: httpx.Client, items: list[dict[str, Any]], **params: str) -> httpx.Response:
    return c.post(api("batch"), params={**DELETE, **params}, json=items)


def test_batch_all_succeed_is_200_in_request_order(emu: Emulator, client: httpx.Client) -> None:
    response = batch(client, [{"path": "tmp"}, {"path": "photos/2024/a.jpg"},
                              {"path": "photos/2024/b.jpg", "permanent": True}])
    assert response.status_code == 200
    result = response.json()["result"]
    assert [r["status"] for r in result] == [200, 200, 204]
    assert [r["path"] for r in result] == [["tmp"], ["photos", "2024", "a.jpg"],
                                           ["photos", "2024", "b.jpg"]]
    assert isinstance(result[0]["recycledItemId"], int)
    assert "recycledItemId" not in result[2]
    recycled = emu.state()["spaces"]["-"]["recycled"]
    assert [(r["originalPath"], r["type"]) for r in recycled] == [
        ("tmp", "dir"), ("photos/2024/a.jpg", "file")]


def test_batch_with_failures_is_207(client: httpx.Client) -> None:
    response = batch(client, [{"path": "hello.txt"}, {"path": "nope.txt"},
                              {"path": "gone/deeper/x"}, {"path": "hello.txt"}])
    assert response.status_code == 207
    result = response.json()["result"]
    assert result[0]["status"] == 200
    assert result[1] == {"status": 404, "path": ["nope.txt"], "code": "FileNotFound",
                         "message": "File not found."}
    assert (result[2]["status"], result[2]["code"]) == (404, "DirectoryNotFound")
    assert (result[3]["status"], result[3]["code"]) == (404, "FileNotFound")


def test_all_failed_is_still_207(client: httpx.Client) -> None:
    assert batch(client, [{"path": "nope"}]).status_code == 207


def test_child_after_parent_is_404(client: httpx.Client) -> None:
    result = batch(client, [{"path": "tmp"}, {"path": "tmp/x.part"}]).json()["result"]
    assert [r["status"] for r in result] == [200, 404]


def test_child_before_parent_each_recycled(emu: Emulator, client: httpx.Client) -> None:
    result = batch(client, [{"path": "tmp/x.part", "permanent": True},
                            {"path": "tmp"}]).json()["result"]
    assert [r["status"] for r in result] == [204, 200]


@pytest.mark.parametrize("flag", [{"delete": ""}, {"delete": "1"}, {"delete": "true"}])
def test_delete_flag_spellings(client: httpx.Client, flag: dict[str, str]) -> None:
    response = client.post(api("batch"), params=flag, json=[{"path": "hello.txt"}])
    assert response.status_code == 200


@pytest.mark.parametrize(("value", "status"), [
    (True, 204), (False, 200), (1, 204), (0, 200), ("1", 204), ("0", 200), ("true", 204),
    ("false", 200), (None, 200)])
def test_permanent_body_spellings(client: httpx.Client, value: object, status: int) -> None:
    result = batch(client, [{"path": "hello.txt", "permanent": value}]).json()["result"]
    assert result[0]["status"] == status


def test_bare_delete_flag_in_raw_query(anon: httpx.Client) -> None:
    response = anon.post(f"{api('batch')}?delete&access_token=admin-token",
                         json=[{"path": "hello.txt"}])
    assert response.status_code == 200


def test_batch_body_errors(client: httpx.Client) -> None:
    assert error_code(batch(client, [])) == (400, "NoItemsProvided")
    assert error_code(batch(client, [{"path": f"f{i}"} for i in range(1001)])) == (
        400, "TooManyItems")
    assert error_code(client.post(api("batch"), params=DELETE, json={"path": "x"})) == (
        400, "ParamInvalid")
    assert error_code(batch(client, [{"name": "x"}])) == (400, "ParamInvalid")
    assert error_code(batch(client, [{"path": "x", "permanent": "maybe"}])) == (
        400, "ParamInvalid")
    assert error_code(client.post(api("batch"), params=DELETE, content=b"{not json")) == (
        400, "BadRequest")


def test_batch_root_item_is_refused_per_item(client: httpx.Client) -> None:
    result = batch(client, [{"path": "/"}, {"path": "hello.txt"}]).json()["result"]
    assert (result[0]["status"], result[0]["code"]) == (400, "RootDirectoryNotAllowed")
    assert result[1]["status"] == 200


def test_batch_grants(anon: httpx.Client) -> None:
    reader = token(anon)
    files = token(anon, grant="delete_file")
    assert error_code(anon.post(api("batch"), params={**DELETE, "access_token": reader},
                                json=[{"path": "hello.txt"}])) == (403, "NoPermission")
    response = anon.post(api("batch"), params={**DELETE, "access_token": files},
                         json=[{"path": "hello.txt"}, {"path": "tmp"},
                               {"path": "docs/handbook.pdf", "permanent": True}])
    assert response.status_code == 207
    result = response.json()["result"]
    assert result[0]["status"] == 200
    assert (result[1]["status"], result[1]["code"]) == (403, "NoPermission")
    assert (result[2]["status"], result[2]["code"]) == (403, "NoPermission")


def test_fail_paths_in_batch_per_item(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"fail_paths": {"tmp/cache/y.part": {"status": 500,
                                                        "code": "InternalServerError"}}})
    result = batch(client, [{"path": "tmp"}, {"path": "hello.txt"},
                            {"path": "tmp/cache/y.part"}]).json()["result"]
    assert [(r["status"], r.get("code")) for r in result] == [
        (500, "InternalServerError"), (200, None), (500, "InternalServerError")]
    assert "tmp/cache/y.part" in emu.state()["spaces"]["-"]["paths"]


def test_large_batch_is_async_and_task_reports_result(emu: Emulator,
                                                      client: httpx.Client) -> None:
    emu.set_faults({"async_threshold": 3, "task_polls": 2})
    response = batch(client, [{"path": "hello.txt"}, {"path": "tmp"}, {"path": "nope"}])
    assert response.status_code == 202
    task_id = response.json()["taskId"]
    assert isinstance(task_id, int)
    assert response.json()["id"] == task_id  # as the old Java SDK and Flutter read it
    # Effects are applied at submission.
    assert "hello.txt" not in emu.state()["spaces"]["-"]["paths"]
    polls = [client.get(api("task", str(task_id))).json() for _ in range(3)]
    assert [p[0]["status"] for p in polls] == [202, 202, 207]
    assert polls[0][0] == {"taskId": task_id, "id": task_id, "status": 202, "result": None}
    final = polls[2][0]["result"]
    assert [r["status"] for r in final] == [200, 200, 404]
    assert final[2]["code"] == "FileNotFound"
    assert client.get(api("task", str(task_id))).json()[0]["status"] == 207


def test_async_threshold_default_is_100(emu: Emulator, client: httpx.Client) -> None:
    assert batch(client, [{"path": f"n{i}"} for i in range(99)]).status_code == 207
    assert batch(client, [{"path": f"n{i}"} for i in range(100)]).status_code == 202


def test_all_ok_task_is_200(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"async_threshold": 1, "task_polls": 0})
    task_id = batch(client, [{"path": "hello.txt"}]).json()["taskId"]
    answer = client.get(api("task", str(task_id))).json()
    assert answer[0]["status"] == 200
    assert answer[0]["result"][0]["status"] == 200


def test_task_query_many_unknown_and_levels(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"async_threshold": 1, "task_polls": 0})
    first = batch(client, [{"path": "hello.txt"}]).json()["taskId"]
    second = batch(client, [{"path": "tmp"}]).json()["taskId"]
    both = client.get(api("task", f"{first},{second},999")).json()
    assert [t["taskId"] for t in both] == [first, second]
    assert error_code(client.get(api("task", "999"))) == (404, "TaskNotFound")
    # A space task is not a library-level task.
    assert error_code(client.get(api("task", str(first), space=None))) == (404, "TaskNotFound")
    assert error_code(client.get(api("task", "x"))) == (400, "ParamInvalid")


def test_a_task_can_end_204_or_500_or_without_a_result(emu: Emulator,
                                                     client: httpx.Client) -> None:
    for faults, status in (({"task_status": 204}, 204), ({"task_status": 500}, 500),
                           ({"task_result": False}, 200)):
        emu.reset()
        emu.set_faults({"async_threshold": 1, "task_polls": 0, **faults})
        task_id = batch(client, [{"path": "hello.txt"}]).json()["taskId"]
        (answer,) = client.get(api("task", str(task_id))).json()
        assert (answer["status"], answer["result"]) == (status, None)
        # What the task did is done all the same: only its answer says nothing per item.
        assert "hello.txt" not in emu.state()["spaces"]["-"]["paths"]


@pytest.mark.parametrize("files", [300, 20_000])
def test_thousand_items_of_one_directory(files: int) -> None:
    """Items are answered as if deleted one by one, however many of the directory's files a
    batch takes: a repeat is a 404, and so is everything inside a directory deleted before."""
    names = [f"f{i:05d}.bin" for i in range(files)]
    emu = Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": ADMIN,
                              "spaces": {"-": [f"big/{n}" for n in names] + ["big/sub/x.txt",
                                                                            "keep.txt"]}})
    taken = names[:200]
    items: list[dict[str, Any]] = [{"path": f"big/{n}", "permanent": i % 2 == 1}
                                   for i, n in enumerate(taken)]
    expected: list[tuple[int, str | None]] = [(204 if i % 2 else 200, None) for i in range(200)]
    items.insert(50, {"path": f"big/{taken[10]}"})  # already deleted
    expected.insert(50, (404, "FileNotFound"))
    items.insert(60, {"path": "big/missing.bin"})
    expected.insert(60, (404, "FileNotFound"))
    items += [{"path": "big/sub/"}, {"path": "big/sub/x.txt"}, {"path": "big//" + names[-1]}]
    expected += [(200, None), (404, "DirectoryNotFound"), (200, None)]
    emu.set_faults({"async_threshold": 1000})
    with httpx.Client(transport=emu.transport(), base_url="https://smhtest.api.tencentsmh.cn",
                      params={"access_token": ADMIN}) as client:
        response = batch(client, items)
        assert response.status_code == 207
        result = response.json()["result"]
        assert [(r["status"], r.get("code")) for r in result] == expected
        assert result[-1]["path"] == ["big", names[-1]]
        listed: list[str] = []
        marker = None
        while True:
            page = client.get(api("directory", "big"),
                              params={"limit": "1000", **({"marker": marker} if marker else {})})
            listed += [item["name"] for item in page.json()["contents"]]
            marker = page.json().get("nextMarker")
            if not marker:
                break
    assert listed == names[200:-1]
    state = emu.state()["spaces"]["-"]
    assert len(state["recycled"]) == 100 + 2  # the recycled half of the files, sub/, and the last
    assert {r["originalPath"] for r in state["recycled"]} == (
        {f"big/{n}" for n in taken[::2]} | {"big/sub", f"big/{names[-1]}"})


def test_a_batch_changes_each_directory_it_takes_files_from() -> None:
    """A directory whose files a batch deletes has a new eTag and the batch's time as its
    modification time, as after deleting them one by one; one it takes nothing from (or only
    fails to) keeps both."""
    moment = [1_700_000_000.0]
    emu = Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": ADMIN,
                              "spaces": {"-": [f"{d}/f{i}.bin" for d in ("a", "b", "c")
                                               for i in range(5)]}},
                             clock=lambda: moment[0])
    emu.set_faults({"async_threshold": 1000})
    with httpx.Client(transport=emu.transport(), base_url="https://smhtest.api.tencentsmh.cn",
                      params={"access_token": ADMIN}) as client:
        def directories() -> dict[str, dict[str, Any]]:
            return {item["name"]: item for item in client.get(api("directory")).json()["contents"]}

        before = directories()
        moment[0] += 3600
        # Each directory's first item is one it does not hold: only the others change it.
        result = batch(client, [{"path": f"{d}/{name}"} for d in ("a", "b")
                                for name in ("missing.bin", "f0.bin", "f1.bin", "f2.bin")]
                       + [{"path": "c/missing.bin"}])
        assert [r["status"] for r in result.json()["result"]] == [404, 200, 200, 200] * 2 + [404]
        after = directories()
        for name in ("a", "b"):
            assert after[name]["eTag"] != before[name]["eTag"]
            assert after[name]["modificationTime"] == "2023-11-14T23:13:20.000Z"
            changed = client.get(api("directory", name),
                                 headers={"If-None-Match": before[name]["eTag"]})
            assert changed.status_code == 200
            assert [i["name"] for i in changed.json()["contents"]] == ["f3.bin", "f4.bin"]
        assert after["c"] == before["c"]


def test_a_name_no_path_may_hold_fails_alone_in_a_batch(client: httpx.Client) -> None:
    result = batch(client, [{"path": "photos/2024/a.jpg"}, {"path": "photos/2024/b?.jpg"},
                            {"path": "photos/2024/b.jpg"}]).json()["result"]
    assert [(r["status"], r.get("code")) for r in result] == [
        (200, None), (400, "InvalidSpaceOrDirectoryPath"), (200, None)]
