"""`/_emulator/` state, stats, log and reset; seed documents and files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.emulator import SAMPLE_SEED, Emulator, SeedError

from .support import ADMIN, BASE_SEED, LIBRARY, api


def test_state_document(anon: httpx.Client, emu: Emulator) -> None:
    state = anon.get("/_emulator/state")
    assert state.status_code == 200
    assert state.json() == emu.state()
    assert state.json() == {
        "spaces": {"-": {"paths": [
            "docs/", "docs/drafts/", "docs/drafts/v0.docx", "docs/handbook.pdf", "hello.txt",
            "photos/", "photos/2024/", "photos/2024/a.jpg", "photos/2024/b.jpg",
            "photos/2024/c.mp4", "photos/archive/", "tmp/", "tmp/cache/", "tmp/cache/y.part",
            "tmp/x.part"], "recycled": []}},
        "history_enabled": False}


def test_stats_count_api_requests_by_route(anon: httpx.Client, client: httpx.Client) -> None:
    client.get(api("directory"))
    client.get(api("directory", "docs"))
    client.delete(api("file", "hello.txt"))
    client.post(api("batch"), params={"delete": ""}, json=[{"path": "tmp"}])
    client.get(api("recycled"))
    anon.get("/api/v1/token", params={"library_id": LIBRARY, "library_secret": "x"})
    client.get(f"/api/v1/task/{LIBRARY}/-/1")
    client.get("/_emulator/state")
    stats = anon.get("/_emulator/stats").json()
    assert {key: stats[key] for key in ("total", "requests")} == {"total": 7, "requests": {
        "DELETE /api/v1/file": 1, "GET /api/v1/directory": 2, "GET /api/v1/recycled": 1,
        "GET /api/v1/task": 1, "GET /api/v1/token": 1, "POST /api/v1/batch": 1}}
    # The time spent answering each kind of request, and when the first came and the last left.
    assert set(stats["server"]) == set(stats["requests"])
    assert stats["server_seconds"] == pytest.approx(
        sum(span["seconds"] for span in stats["server"].values()))
    listing = stats["server"]["GET /api/v1/directory"]
    assert listing["seconds"] > 0 and listing["first"] < listing["last"]


def test_request_log(anon: httpx.Client, client: httpx.Client, emu: Emulator) -> None:
    client.post(api("batch"), params={"delete": "1"}, json=[{"path": "tmp"}])
    client.get(api("directory", "photos%2F2024"), params={"limit": "5"})
    log = anon.get("/_emulator/log").json()
    assert log == emu.request_log()
    assert log[0] == {"method": "POST", "route": "batch", "space": "-", "path": None,
                      "query": {"access_token": "***", "delete": "1"},
                      "body": [{"path": "tmp"}], "status": 200, "dropped": False}
    assert log[1]["path"] == "photos/2024"
    assert log[1]["query"] == {"access_token": "***", "limit": "5"}
    assert ADMIN not in str(log)


def test_reset_restores_seed_and_clears_everything(anon: httpx.Client, client: httpx.Client,
                                                   emu: Emulator) -> None:
    seeded = emu.state()
    client.delete(api("directory", "photos"))
    emu.set_faults({"latency_ms": 1})
    assert anon.post("/_emulator/reset").status_code == 204
    assert emu.state() == seeded
    assert emu.stats() == {"total": 0, "requests": {}, "server_seconds": 0, "server": {}}
    assert emu.request_log() == []
    assert emu.faults.latency_ms == 0
    assert client.get(api("directory")).status_code == 200


def test_unknown_control_route(anon: httpx.Client) -> None:
    assert anon.get("/_emulator/nothing").status_code == 404


def test_properties_and_sample_seed() -> None:
    emu = Emulator.from_seed(SAMPLE_SEED)
    assert (emu.library, emu.secret, emu.admin_token) == (
        "smhdemo", "demo-secret", "demo-admin-token")
    without = Emulator.from_seed({"library": "l", "secret": "s", "spaces": {"-": []}})
    assert without.admin_token is None
    assert without.state()["spaces"]["-"]["paths"] == []


def test_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("library: lib\nsecret: s\ntoken: t\ntype: media\nrecycle_bin: false\n"
                    "history: {enabled: true}\nspaces:\n  s1: [a/b.jpg, c/]\n  s2: []\n",
                    encoding="utf-8")
    emu = Emulator.from_seed_file(seed)
    assert emu.library == "lib"
    assert emu.state() == {"spaces": {"s1": {"paths": ["a/", "a/b.jpg", "c/"], "recycled": []},
                                      "s2": {"paths": [], "recycled": []}},
                           "history_enabled": True}


@pytest.mark.parametrize(("doc", "fragment"), [
    ([], "must be a mapping"),
    ({"secret": "s", "spaces": {"-": []}}, "'library'"),
    ({"library": "l", "spaces": {"-": []}}, "'secret'"),
    ({"library": "l", "secret": "s", "spaces": {}}, "'spaces'"),
    ({"library": "l", "secret": "s", "type": "album", "spaces": {"-": []}}, "'type'"),
    ({"library": "l", "secret": "s", "recycle_bin": "yes", "spaces": {"-": []}},
     "'recycle_bin'"),
    ({"library": "l", "secret": "s", "spaces": {"-": ["a", "a/b"]}}, "both a file"),
    ({"library": "l", "secret": "s", "spaces": {"-": ["a/../b"]}}, "invalid path"),
    ({"library": "l", "secret": "s", "spaces": {"-": [], "x": []}}, "single-tenant"),
    ({"library": "l", "secret": "s", "colour": 1, "spaces": {"-": []}}, "unknown key"),
])
def test_bad_seeds(doc: object, fragment: str) -> None:
    with pytest.raises(SeedError, match=fragment):
        Emulator.from_seed(doc)  # type: ignore[arg-type]


def test_bad_seed_file_names_the_line(tmp_path: Path) -> None:
    seed = tmp_path / "broken.yaml"
    seed.write_text("library: lib\nspaces: [\n", encoding="utf-8")
    with pytest.raises(SeedError, match=r"broken\.yaml:3:1"):
        Emulator.from_seed_file(seed)
    with pytest.raises(SeedError, match="cannot read"):
        Emulator.from_seed_file(tmp_path / "absent.yaml")


def test_seed_dict_is_not_kept_by_reference() -> None:
    paths = ["a.txt"]
    emu = Emulator.from_seed({**BASE_SEED, "spaces": {"-": paths}})
    paths.append("b.txt")
    emu.reset()
    assert emu.state()["spaces"]["-"]["paths"] == ["a.txt"]


class ManualClock:
    def __init__(self) -> None:
        self.value = 1_900_000_000.0

    def now(self) -> float:
        return self.value


def test_clock_can_be_a_callable_or_an_object_with_now() -> None:
    moments = [1_900_000_000.0]
    manual = ManualClock()

    def advance_callable(seconds: float) -> None:
        moments[0] += seconds

    def advance_object(seconds: float) -> None:
        manual.value += seconds

    by_callable = Emulator.from_seed(BASE_SEED, clock=lambda: moments[0])
    by_object = Emulator.from_seed(BASE_SEED, clock=manual)
    for emu, advance in ((by_callable, advance_callable), (by_object, advance_object)):
        with httpx.Client(transport=emu.transport(), base_url="https://x") as c:
            value = c.get("/api/v1/token", params={"library_id": LIBRARY,
                                                   "library_secret": "test-secret",
                                                   "period": "300"}).json()["accessToken"]
            advance(301)
            assert c.get(api("directory"), params={"access_token": value}).status_code == 403
        assert emu.clock() == emu.clock.now()
