"""Library history (config get/set, clear with its once-a-minute limit) and tenant spaces."""

from __future__ import annotations

import httpx
import pytest

from reconciler.emulator import Clock, Emulator

from .support import ADMIN, BASE_SEED, LIBRARY, SECRET, api, error_code, token

HISTORY = f"/api/v1/directory-history/{LIBRARY}/library-history"


@pytest.fixture
def history_emu(clock: Clock) -> Emulator:
    return Emulator.from_seed({**BASE_SEED, "history": {"enabled": True, "earlier_versions": 7}},
                              clock=clock)


@pytest.fixture
def hclient(history_emu: Emulator) -> httpx.Client:
    return httpx.Client(transport=history_emu.transport(), base_url="https://x",
                        params={"access_token": ADMIN})


def test_get_and_set_config(hclient: httpx.Client, history_emu: Emulator) -> None:
    config = hclient.get(HISTORY)
    assert config.status_code == 200
    assert config.json() == {"enableFileHistory": True, "fileHistoryCount": 10,
                             "fileHistoryExpireDay": 0, "mergeInterval": 0}
    disabled = hclient.post(HISTORY, json={"enableFileHistory": False})
    assert disabled.status_code == 204 and disabled.content == b""
    assert hclient.get(HISTORY).json() == {"enableFileHistory": False}
    assert history_emu.state()["history_enabled"] is False
    hclient.post(HISTORY, json={"enableFileHistory": True, "fileHistoryCount": 5,
                                "fileHistoryExpireDay": 30, "mergeInterval": 60})
    assert hclient.get(HISTORY).json()["fileHistoryCount"] == 5


@pytest.mark.parametrize(("body", "code"), [
    ({"enableFileHistory": True, "fileHistoryCount": 0}, "InvalidFileHistoryCount"),
    ({"enableFileHistory": True, "fileHistoryCount": 1000}, "InvalidFileHistoryCount"),
    ({"enableFileHistory": True, "fileHistoryExpireDay": -1}, "InvalidFileHistoryExpireDay"),
    ({"enableFileHistory": True, "mergeInterval": 3}, "InvalidFileHistoryMergeInterval"),
    ({"enableFileHistory": True, "mergeInterval": 601}, "InvalidFileHistoryMergeInterval"),
    ({}, "ParamInvalid")])
def test_set_config_ranges(hclient: httpx.Client, body: dict[str, object], code: str) -> None:
    assert error_code(hclient.post(HISTORY, json=body)) == (400, code)


def test_history_needs_admin(anon: httpx.Client) -> None:
    space_admin = token(anon, grant="space_admin")
    assert error_code(anon.get(HISTORY, params={"access_token": space_admin})) == (
        403, "NoPermission")
    assert error_code(anon.delete(HISTORY, params={"access_token": space_admin})) == (
        403, "NoPermission")


def test_clear_refused_while_enabled_then_rate_limited(hclient: httpx.Client,
                                                       clock: Clock) -> None:
    assert error_code(hclient.delete(HISTORY)) == (400, "FileHistoryEnabled")
    hclient.post(HISTORY, json={"enableFileHistory": False})
    limited = hclient.delete(HISTORY)
    assert error_code(limited) == (429, "RateLimitExceeded")
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    clock.advance(60)
    accepted = hclient.delete(HISTORY)
    assert accepted.status_code == 202
    task_id = accepted.json()["taskId"]
    library_task = f"/api/v1/task/{LIBRARY}/{task_id}"
    assert hclient.get(library_task).json() == [{"taskId": task_id, "id": task_id,
                                                 "status": 202, "result": None}]
    assert hclient.get(library_task).json() == [
        {"taskId": task_id, "id": task_id, "status": 200,
         "result": [{"err": "", "status": 0, "deleteCount": 7}]}]
    # The library-level task is not visible through a space.
    assert error_code(hclient.get(api("task", str(task_id)))) == (404, "TaskNotFound")
    clock.advance(30)
    assert error_code(hclient.delete(HISTORY)) == (429, "RateLimitExceeded")
    clock.advance(31)
    second = hclient.delete(HISTORY)
    assert second.status_code == 202
    hclient.get(f"/api/v1/task/{LIBRARY}/{second.json()['taskId']}")
    result = hclient.get(f"/api/v1/task/{LIBRARY}/{second.json()['taskId']}").json()
    assert result[0]["result"][0]["deleteCount"] == 0


MULTI = {"library": LIBRARY, "secret": SECRET, "token": ADMIN,
         "spaces": {f"space{i:02d}": [f"f{i}.txt"] for i in range(5)}}


def test_space_list_and_count() -> None:
    emu = Emulator.from_seed(MULTI)
    with httpx.Client(transport=emu.transport(), base_url="https://x",
                      params={"access_token": ADMIN}) as c:
        everything = c.get(f"/api/v1/space/{LIBRARY}/list").json()
        assert "nextMarker" not in everything
        assert [s["spaceId"] for s in everything["list"]] == [f"space{i:02d}" for i in range(5)]
        assert set(everything["list"][0]) == {"spaceId", "userId", "creationTime"}
        first = c.get(f"/api/v1/space/{LIBRARY}/list", params={"limit": "2"}).json()
        assert len(first["list"]) == 2 and first["nextMarker"]
        rest = c.get(f"/api/v1/space/{LIBRARY}/list",
                     params={"limit": "2", "marker": first["nextMarker"]}).json()
        assert [s["spaceId"] for s in rest["list"]] == ["space02", "space03"]
        assert c.get(f"/api/v1/space/{LIBRARY}/count").json() == {"total": 5}
        size = c.get(f"/api/v1/space/{LIBRARY}/space01/size").json()
        assert size["size"].isdigit()
        scoped = token(c, space_id="space03")
        mine = c.get(f"/api/v1/space/{LIBRARY}/list", params={"access_token": scoped}).json()
        assert [s["spaceId"] for s in mine["list"]] == ["space03"]
        assert emu.state()["spaces"]["space03"]["paths"] == ["f3.txt"]


def test_single_tenant_space_calls(client: httpx.Client) -> None:
    assert error_code(client.get(f"/api/v1/space/{LIBRARY}/list")) == (
        400, "NotMultiSpaceLibrary")
    assert error_code(client.get(f"/api/v1/space/{LIBRARY}/count")) == (
        400, "NotMultiSpaceLibrary")
