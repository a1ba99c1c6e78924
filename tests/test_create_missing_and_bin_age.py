"""The planner's `create_missing` and `recycle_bin.older_than`, the duration parser, the manifest
checks of the new keys, and what a plan file may ask for of them. Pure: no server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.planfile import narrow, unjustified
from reconciler.desired import Safety, SpaceSpec
from reconciler.listing import EntryType, RecycledItem
from reconciler.manifest import check_paths
from reconciler.plan import CreateDirectory, DeleteRecycled, Plan
from reconciler.planner import make_plan
from reconciler.units import parse_duration
from tests.support import library_listing, library_spec, space_spec, walk

NOW = "2027-01-15T08:00:00.000Z"
DAY = 86_400


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("5m", 300), ("24h", 86_400), ("90d", 90 * DAY), ("2w", 14 * DAY),
    (" 7 d ", 7 * DAY),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "1.5d", "30days", "-3d", "d", "", "3y"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def bin_item(item_id: int, path: str, days: float, size: int | None = 100) -> RecycledItem:
    removed = f"2027-01-{15 - int(days):02d}T08:00:00.000Z" if days < 15 else {
        40: "2026-12-06T08:00:00.000Z", 400: "2025-12-11T08:00:00.000Z"}[int(days)]
    return RecycledItem(item_id, path, EntryType.FILE, removed, size=size)


def older_than_space(days: int = 30, **kwargs: Any) -> SpaceSpec:
    space = space_spec(**kwargs)
    return replace(space, recycle_older_than=days * DAY, recycle_older_than_text=f"{days}d")


BIN = (bin_item(1, "old/report.pdf", 400, 4000), bin_item(2, "mid/notes.txt", 40, None),
       bin_item(3, "new/draft.txt", 10))


def bin_plan(safety: Safety | None = None, **kwargs: Any) -> Plan:
    space = older_than_space(**kwargs)
    listing, _ = walk(space, ["a.txt"], bin_items=len(BIN))
    listing = replace(listing, recycled=BIN)
    return make_plan(library_spec(space, safety=safety), library_listing(listing),
                     now=NOW)


def test_bin_items_removed_longer_ago_than_older_than_are_deleted_one_by_one() -> None:
    plan = bin_plan()
    assert [(c.recycled_item_id, c.original_path, c.age, c.bytes) for c in plan.bin_deletes] == [
        (2, "mid/notes.txt", "40d", None), (1, "old/report.pdf", "400d", 4000)]
    assert plan.bin_deletes[0].reason == "recycle_bin.older_than 30d (test.yaml:1)"
    assert plan.summary()["delete_recycled"] == 2
    assert plan.summary()["bytes"] == 0  # bin items are not in what the deletes remove
    assert plan.has_changes()


def test_without_the_listing_time_no_bin_item_is_old_enough() -> None:
    space = older_than_space()
    listing, _ = walk(space, ["a.txt"], bin_items=3)
    plan = make_plan(library_spec(space), library_listing(replace(listing, recycled=BIN)))
    assert plan.bin_deletes == ()


def test_bin_items_count_toward_max_deletes_and_max_delete_bytes() -> None:
    plan = bin_plan(Safety(max_deletes=1, max_delete_bytes=1000))
    limits = {violation.limit: violation.message for violation in plan.safety}
    assert limits["max_deletes"].startswith("2 delete items exceed safety.max_deletes (1)")
    assert "deletes 2 recycle-bin items for good (4.0 kB)" in limits["max_deletes"]
    assert "the server gave no size for 1 of them" in limits["max_delete_bytes"]
    assert plan.refusals(force=False)


def test_create_missing_creates_absent_directories_but_never_files() -> None:
    space = replace(space_spec(exist=["media/2026/raw/", "docs/handbook.pdf", "x/y/"],
                               purge=["tmp/"]), create_missing=True)
    listing, _ = walk(space, ["docs/a.txt", "x", "tmp/z"])
    plan = make_plan(library_spec(space), library_listing(listing))
    assert [c.path for c in plan.created] == ["media/2026/raw"]
    # A file is never created, nor a directory where a file stands in the way.
    assert [m.path for m in plan.missing] == ["docs/handbook.pdf", "x/y"]
    assert plan.summary()["create_directory"] == 1
    without = make_plan(library_spec(replace(space, create_missing=False)),
                        library_listing(listing))
    assert without.created == () and len(without.missing) == 3


def test_a_directory_inside_a_deleted_directory_is_not_created() -> None:
    space = replace(space_spec(exist=["tmp/keep/"], purge=["tmp/"]), create_missing=True)
    listing, _ = walk(space, ["tmp/z"])
    plan = make_plan(library_spec(space), library_listing(listing))
    assert plan.created == ()


def test_a_plan_file_may_create_and_delete_from_the_bin_only_as_its_manifests_say() -> None:
    space = replace(older_than_space(exist=["media/raw/"]), create_missing=True)
    spec = library_spec(space)
    forged = Plan(library="smhtest", changes=(
        CreateDirectory("-", "media/raw", "ok"),
        CreateDirectory("-", "elsewhere", "forged"),
        DeleteRecycled("-", 9, "x", EntryType.FILE, NOW, 1, "ok"),
    ))
    problems = unjustified(spec, forged)
    assert len(problems) == 1 and problems[0].startswith("create directory elsewhere")
    no_age = library_spec(replace(space, recycle_older_than=None, create_missing=False))
    assert len(unjustified(no_age, forged)) == 3


def test_a_saved_plan_deletes_from_the_bin_only_what_the_fresh_bin_still_holds() -> None:
    saved = bin_plan()
    space = older_than_space()
    listing, _ = walk(space, ["a.txt"], bin_items=1)
    listing = replace(listing, recycled=(BIN[0],))
    spec = library_spec(space)
    fresh = make_plan(spec, library_listing(listing), now=NOW)
    narrowed = narrow(saved, fresh, library_listing(listing), spec)
    state = {c.recycled_item_id: c.withdrawn for c in narrowed.bin_deletes}
    assert state[1] is None
    assert state[2] is not None and "no longer holds it" in state[2]


def test_empty_and_older_than_in_one_space_is_a_located_error(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text('version: 1\nlibrary: l\nspaces:\n  - id: "-"\n    recycle_bin:\n'
                        '      empty: true\n      older_than: 30d\n  - id: x\n'
                        '    recycle_bin: {older_than: 30days}\n    create_missing: yes\n')
    problems = check_paths([manifest])
    text = [f"{p.location.line}:{p.location.column}: {p.message}" for p in problems]
    assert any(t.startswith("7:19: `older_than` keeps the bin's newer items") for t in text), text
    assert any(t.startswith("9:31: '30days' is not a duration") for t in text), text
    assert "10:21: must be true or false (got \"yes\")" in text
