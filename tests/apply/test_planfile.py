"""A plan file can only narrow what its manifests allow: every edit of a saved plan that would
widen what is deleted is refused before the first write, and a plan the library has moved away
from is carried out only as far as a fresh plan of the same manifests agrees."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.journal import read_records, replay
from reconciler.apply.runner import plan_digest
from reconciler.emulator import Clock, Emulator
from reconciler.plan import Plan, PlanFile
from tests.apply.scenarios import HEAD, Library, Scenario, with_ancestors

pytestmark = pytest.mark.e2e

SEED_PATHS = ["tmp/a.bin", "tmp/b.part", "contracts/2024/nda.pdf", "docs/guide.pdf", "x.part"]
MANIFEST = HEAD.replace("{max_delete_percent: 100}",
                        "{max_delete_percent: 100, max_deletes: 3}") + """\
  - id: "-"
    recycle_bin: {empty: true}
    protect: ["contracts/**"]
    purge: [tmp/, {pattern: "**/*.part", mode: permanent}]
"""


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Library]:
    monkeypatch.chdir(tmp_path)  # the plan records its manifests relative to here
    scenario = Scenario("planfile", {"-": SEED_PATHS}, MANIFEST, {}, {}, ("-", "x.part"))
    emu = Emulator.from_seed(scenario.seed(), clock=Clock(start=1_800_000_000.0))
    with emu.serve() as url:
        lib = Library(scenario, tmp_path, url, emu, emu.clock)
        lib.manifest = Path("library.yaml")
        lib.manifest.write_text(MANIFEST)
        yield lib


def save_plan(library: Library, *extra: str) -> Path:
    planfile = Path("plan.json")
    code, out, err = library.run("plan", library.manifest, "--out", planfile, *extra)
    assert code == 0, out + err
    return planfile


def edit(planfile: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(planfile.read_text())
    change(document)
    planfile.write_text(json.dumps(document))


def apply_file(library: Library, planfile: Path, *extra: str,
               env: Mapping[str, str | None] | None = None) -> tuple[int, str, str]:
    return library.run("apply", planfile, "--auto-approve", "--state-dir", library.state_dir,
                       *extra, env=env)


def untouched(library: Library) -> bool:
    return library.emu.state()["spaces"]["-"]["paths"] == with_ancestors(SEED_PATHS) and not [
        e for e in library.emu.request_log() if e["method"] != "GET"]


def deletes(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in document["changes"] if c["action"] == "delete"]


def add_copied_item(path: str, kind: str = "file", mode: str = "recycle",
                    source: str = "x.part") -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        model = next(c for c in deletes(document) if c["path"] == source)
        document["changes"].append({**model, "path": path, "type": kind, "mode": mode})
    return change


def set_mode(path: str, mode: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        next(c for c in deletes(document) if c["path"] == path)["mode"] = mode
    return change


def recorded_plan(library: Library) -> Plan:
    """The plan the finished apply's journal recorded, checked against its digest."""
    (journal,) = (Path(library.state_dir) / "archive").glob("journal-*.jsonl")
    header = replay(read_records(journal)).header
    plan = Plan.from_json(header.plan)
    assert header.plan_digest == plan_digest(plan)
    return plan


def test_an_unedited_plan_file_applies(library: Library) -> None:
    planfile = save_plan(library)
    code, out, err = apply_file(library, planfile)
    assert code == 0, out + err
    assert library.emu.state()["spaces"]["-"]["paths"] == with_ancestors(
        ["contracts/2024/nda.pdf", "docs/guide.pdf"])
    saved = PlanFile.from_json(json.loads(planfile.read_text())).plan
    assert recorded_plan(library) == saved  # the library was as planned: the plan, as saved


EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a path no manifest targets": (
        add_copied_item("docs/guide.pdf"),
        "delete docs/guide.pdf (file, recycle) in space -: no purge or prune entry targets it"),
    "the protected contracts permanently": (
        add_copied_item("contracts/2024/nda.pdf", mode="permanent"),
        "delete contracts/2024/nda.pdf (file, permanent) in space -: an exist or protect "
        "entry keeps it"),
    "a recycle delete made permanent": (
        set_mode("tmp", "permanent"),
        "delete tmp (dir, permanent) in space -: the manifests delete it in recycle mode"),
    "a permanent delete made recycle": (
        set_mode("x.part", "recycle"),
        "delete x.part (file, recycle) in space -: the manifests delete it in permanent mode"),
    "a space the manifests do not name": (
        lambda d: d["changes"].append({**deletes(d)[0], "space": "other"}),
        "in space other: its space is not in the manifests"),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_an_edit_that_widens_the_plan_is_refused(library: Library, name: str) -> None:
    planfile = save_plan(library)
    change, message = EDITS[name]
    edit(planfile, change)
    code, out, err = apply_file(library, planfile, "--force")
    assert code == 1 and "Traceback" not in out + err
    assert "refusing to apply: the plan file asks for changes its manifests do not give" in err
    assert message in err
    assert untouched(library)


def test_emptied_safety_and_bin_markers_are_computed_again(library: Library) -> None:
    library.manifest.write_text(MANIFEST.replace("max_deletes: 3", "max_deletes: 1"))
    planfile = save_plan(library)
    edit(planfile, lambda d: d.update(safety=[]))
    code, _, err = apply_file(library, planfile)
    assert code == 1 and "safety limit: 3 delete items exceed safety.max_deletes (1)" in err
    assert untouched(library)


def test_a_bin_turned_off_after_the_plan_is_refused_before_any_delete(library: Library) -> None:
    planfile = save_plan(library)
    assert "effective_mode" not in planfile.read_text()
    library.emu.set_recycle_bin(False)
    code, _, err = apply_file(library, planfile)
    assert code == 1
    assert "recycle delete(s) would be permanent because the space has no recycle bin" in err
    assert untouched(library)
    report = Path("report.json")
    code, out, err = apply_file(library, planfile, "--force", "--report", str(report))
    assert code == 0, out + err
    outcomes = {i["path"]: (i["outcome"], i["mode"]) for i in json.loads(report.read_text())[
        "items"]}
    assert outcomes["tmp"] == ("deleted", "permanent")


def test_the_endpoint_comes_from_the_manifests_never_from_the_file(
    library: Library, tmp_path: Path
) -> None:
    planfile = save_plan(library)
    edit(planfile, lambda d: d.update(endpoint="https://attacker.example"))
    code, _, err = apply_file(library, planfile)
    assert code == 1
    assert "the plan was made against https://attacker.example" in err
    assert f"pass --endpoint {library.url}" in err
    assert untouched(library)
    # Named explicitly, the endpoint of the manifests (or SMH_ENDPOINT) is used.
    assert apply_file(library, planfile, "--endpoint", library.url)[0] == 0


def test_another_endpoint_than_the_plans_needs_to_be_named(library: Library) -> None:
    planfile = save_plan(library)
    other = Emulator.from_seed(library.scenario.seed())
    with other.serve() as other_url:
        code, _, err = apply_file(library, planfile, env={"SMH_ENDPOINT": other_url})
        assert code == 1 and f"would write to {other_url}" in err
        assert not [e for e in other.request_log()]
    assert untouched(library)


@pytest.mark.parametrize("damage", ["duplicate", "unknown key", "not a list"])
def test_a_damaged_plan_file_is_one_clear_error(library: Library, damage: str) -> None:
    planfile = save_plan(library)
    edit(planfile, {
        "duplicate": lambda d: d["changes"].append(deletes(d)[0]),
        "unknown key": lambda d: d.update(surprise=True),
        "not a list": lambda d: d.update(changes={"a": 1}),
    }[damage])
    code, out, err = apply_file(library, planfile)
    assert code == 1 and "Traceback" not in out + err
    assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1
    assert untouched(library)


def test_a_plan_whose_manifest_is_missing_or_added_to_is_refused(library: Library) -> None:
    planfile = save_plan(library)
    library.manifest.rename("moved.yaml")
    code, _, err = apply_file(library, planfile)
    assert code == 1 and "are not here (library.yaml)" in err and "--manifests" in err
    code, _, err = apply_file(library, planfile, "--manifests", "moved.yaml")
    assert code == 1 and "library.yaml: not among them now" in err
    Path("library.yaml").write_text(MANIFEST)
    assert apply_file(library, planfile, "--manifests", "library.yaml")[0] == 0


def test_a_signed_plan_refuses_any_edit(library: Library) -> None:
    key = {"SMH_PLAN_SIGNING_KEY": "pipeline-key-1"}
    planfile = save_plan_with(library, key)
    assert json.loads(planfile.read_text())["signature"].startswith("hmac-sha256:")
    edit(planfile, lambda d: d.update(created_at="2020-01-01T00:00:00.000Z"))
    code, out, err = apply_file(library, planfile, env=key)
    assert code == 1 and "signature does not match" in err
    assert "pipeline-key-1" not in out + err
    planfile = save_plan_with(library, {})
    code, _, err = apply_file(library, planfile, env=key)
    assert code == 1 and "is not signed" in err
    assert untouched(library)
    planfile = save_plan_with(library, key)
    assert apply_file(library, planfile, env=key)[0] == 0


def save_plan_with(library: Library, env: dict[str, str]) -> Path:
    planfile = Path("plan.json")
    code, out, err = library.run("plan", library.manifest, "--out", planfile,
                                 env=dict(env))
    assert code == 0, out + err
    return planfile


def test_an_item_the_manifests_keep_by_its_contents_is_withdrawn_not_deleted(
    library: Library,
) -> None:
    # contracts/ is targeted by a purge entry but holds protected files, so no honest plan
    # deletes it. Added by hand with its real fingerprint (from a snapshot), it passes every
    # check on its own; only planning again shows that the manifests keep it.
    library.manifest.write_text(MANIFEST.replace("purge: [tmp/,", "purge: [tmp/, contracts/,")
                                .replace("max_deletes: 3", "max_deletes: 10"))
    planfile = save_plan(library)
    assert "contracts" not in [c["path"] for c in deletes(json.loads(planfile.read_text()))]
    assert library.run("snapshot", library.manifest, "--out", "listing.json")[0] == 0
    root = json.loads(Path("listing.json").read_text())["spaces"]["-"]["children"][""]
    fingerprint = next(fp for name, _, fp in root if name == "contracts")

    def add(document: dict[str, Any]) -> None:
        document["changes"].append({**deletes(document)[0], "path": "contracts", "type": "dir",
                                    "mode": "recycle", "fingerprint": fingerprint})
    edit(planfile, add)
    report = Path("report.json")
    code, out, err = apply_file(library, planfile, "--report", str(report))
    items = {i["path"]: i for i in json.loads(report.read_text())["items"]}
    assert items["contracts"]["outcome"] == "stale"
    assert "the manifests no longer delete it as planned" in items["contracts"]["message"]
    assert "contracts/2024/nda.pdf" in library.emu.state()["spaces"]["-"]["paths"]
    assert items["x.part"]["outcome"] == "deleted"
    assert code in (0, 1), out + err
    recorded = {d.path: d for d in recorded_plan(library).deletes}
    assert recorded["contracts"].withdrawn is not None and recorded["x.part"].withdrawn is None
