"""Age and size rules in the planner: files judged one by one, directories only whole by an
entry without predicates, missing attributes, the listing's time, and what a plan file may ask."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from reconciler.auth import Credentials
from reconciler.client import SmhReadClient
from reconciler.desired import LibrarySpec, Mode
from reconciler.emulator import Clock, Emulator
from reconciler.listing import EntryType
from reconciler.manifest import load_desired_state
from reconciler.plan import Delete, Plan
from reconciler.planner import make_plan, why_not_deleted
from reconciler.rules import SpaceRules
from reconciler.targets import Target, live_plan
from reconciler.units import parse_duration
from tests.support import library_listing, walk

LISTED_AT = "2027-01-15T08:00:00.000Z"
OLD = "2026-01-01T00:00:00.000Z"  # more than a year before LISTED_AT
RECENT = "2027-01-15T07:00:00.000Z"  # an hour before it


def spec_of(tmp_path: Path, rules: str) -> LibrarySpec:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nlibrary: smhtest\nspaces:\n  - id: \"-\"\n" + rules)
    return load_desired_state([manifest]).libraries[0]


def plan_of(spec: LibrarySpec, attributes: dict[str, tuple[str | None, str | None]],
            paths: list[str] | None = None, listed_at: str | None = LISTED_AT) -> Plan:
    space = spec.spaces[0]
    listing, _ = walk(space, paths or list(attributes), attributes=attributes,
                      listed_at=listed_at)
    assert not listing.errors, listing.errors
    return make_plan(spec, library_listing(listing, listed_at=listed_at))


def deleted(plan: Plan) -> dict[str, str]:
    return {delete.path: delete.reason for delete in plan.deletes}


def test_durations() -> None:
    assert parse_duration("90d") == 90 * 86400
    assert parse_duration("24h") == 86400
    assert parse_duration("2w") == 14 * 86400
    assert parse_duration(" 30 m ") == 1800
    for bad in ("90", "1.5d", "1y", "-1d", 90, "", "d"):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(bad)


def test_a_directory_matched_by_an_entry_with_predicates_stays_and_its_files_are_judged(
    tmp_path: Path
) -> None:
    spec = spec_of(tmp_path, "    purge:\n      - {pattern: tmp/, older_than: 30d}\n")
    plan = plan_of(spec, {"tmp/old.bin": (OLD, "5"), "tmp/new.bin": (RECENT, "5"),
                          "tmp/sub/old.bin": (OLD, "5")})
    assert deleted(plan) == {"tmp/old.bin": "purge tmp/ older_than 30d (m.yaml:6)",
                             "tmp/sub/old.bin": "purge tmp/ older_than 30d (m.yaml:6)"}


def test_a_file_without_the_attribute_stays_under_purge_and_is_kept_under_protect(
    tmp_path: Path
) -> None:
    purge = spec_of(tmp_path, "    purge:\n      - {pattern: '**', older_than: 1d, "
                              "larger_than: 1 KB}\n    allow_whole_space: true\n")
    attributes: dict[str, tuple[str | None, str | None]] = {
        "a/no-time.bin": (None, "5000"), "a/no-size.bin": (OLD, None),
        "a/both.bin": (OLD, "5000"), "a/small.bin": (OLD, "10")}
    assert deleted(plan_of(purge, attributes)) == {
        "a/both.bin": "purge ** older_than 1d larger_than 1 KB (m.yaml:6)"}
    guarded = spec_of(tmp_path, "    protect:\n      - {pattern: '**', newer_than: 24h}\n"
                                "    purge:\n      - a/\n")
    plan = plan_of(guarded, {"a/no-time.bin": (None, "1"), "a/old.bin": (OLD, "1"),
                             "b/x": (OLD, "1")})
    # a/ holds a kept file, so it stays; its old file goes on its own.
    assert deleted(plan) == {"a/old.bin": "purge a/ (m.yaml:8)"}


def test_without_the_listings_time_no_age_rule_deletes_and_every_age_protect_keeps(
    tmp_path: Path
) -> None:
    spec = spec_of(tmp_path, "    protect:\n      - {pattern: 'keep/**', newer_than: 1d}\n"
                             "    purge:\n      - {pattern: 'logs/*', older_than: 1d}\n"
                             "      - keep/\n")
    attributes: dict[str, tuple[str | None, str | None]] = {
        "logs/a": (OLD, "1"), "keep/b": (OLD, "1")}
    assert set(deleted(plan_of(spec, attributes))) == {"logs/a", "keep"}
    assert deleted(plan_of(spec, attributes, listed_at=None)) == {}


def test_the_same_listing_gives_the_same_plan_whatever_the_listing_time_says_later(
    tmp_path: Path
) -> None:
    spec = spec_of(tmp_path, "    purge:\n      - {pattern: 'logs/*', older_than: 2h}\n")
    attributes: dict[str, tuple[str | None, str | None]] = {"logs/a": (RECENT, "1")}
    assert deleted(plan_of(spec, attributes)) == {}
    assert set(deleted(plan_of(spec, attributes, listed_at="2027-01-15T10:00:01.000Z"))) == {
        "logs/a"}


def test_keep_newest_on_a_prune_root(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "    prune:\n      - {root: backups/, keep_newest: 2}\n")
    attributes: dict[str, tuple[str | None, str | None]] = {
        f"backups/{name}": (f"2026-0{month}-01T00:00:00.000Z", "1")
        for month, name in enumerate(["a", "b", "c", "d"], start=1)}
    attributes["backups/old/x"] = (OLD, "1")
    plan = plan_of(spec, attributes)
    assert deleted(plan) == {"backups/a": "prune backups/ keep_newest 2 (m.yaml:6)",
                             "backups/b": "prune backups/ keep_newest 2 (m.yaml:6)"}


@pytest.mark.parametrize("rules", [
    '    purge: ["**/*.part", {pattern: "backups/*", keep_newest: 2}]\n',
    '    purge: ["**/*.part"]\n    prune:\n      - {root: backups/, keep_newest: 2}\n',
])
def test_keep_newest_counts_only_the_files_its_entry_would_delete(
        tmp_path: Path, rules: str) -> None:
    # The newest file is a `.part` that an earlier entry deletes anyway: it does not use up
    # one of the two the `keep_newest` entry keeps.
    spec = spec_of(tmp_path, rules)
    attributes: dict[str, tuple[str | None, str | None]] = {
        f"backups/{name}": (f"2026-0{month}-01T00:00:00.000Z", "1")
        for month, name in enumerate(["a", "b", "c", "d.part"], start=1)}
    assert set(deleted(plan_of(spec, attributes))) == {"backups/a", "backups/d.part"}


def item(path: str, kind: EntryType, mode: Mode = Mode.RECYCLE) -> Delete:
    return Delete(space="-", path=path, type=kind, mode=mode, reason="r")


def test_a_plan_file_cannot_ask_for_a_directory_an_entry_with_predicates_matches(
    tmp_path: Path
) -> None:
    spec = spec_of(tmp_path, "    protect:\n      - {pattern: 'tmp/x', newer_than: 1d}\n"
                             "    purge:\n      - {pattern: logs/, older_than: 90d}\n"
                             "      - {pattern: tmp/, mode: permanent}\n")
    rules = SpaceRules(spec.spaces[0])
    assert why_not_deleted(rules, item("photos", EntryType.DIR)) == (
        "no purge or prune entry targets it")
    assert why_not_deleted(rules, item("logs", EntryType.DIR)) == (
        "no purge or prune entry without predicates targets it (an entry with predicates "
        "judges files only)")
    # A file it may delete: apply's fresh plan then judges its age.
    assert why_not_deleted(rules, item("logs/2026/a.log", EntryType.FILE)) is None
    assert why_not_deleted(rules, item("logs/a.log", EntryType.FILE, Mode.PERMANENT)) == (
        "the manifests delete it in recycle mode, not permanent")
    # A protect entry with predicates may or may not keep it: the fresh plan decides.
    assert why_not_deleted(rules, item("tmp/x", EntryType.FILE, Mode.PERMANENT)) is None


def test_the_reader_takes_the_listings_time_from_the_servers_date() -> None:
    clock = Clock(start=1_800_000_000.0)
    emu = Emulator.from_seed({"library": "smhtest", "secret": "s", "token": "t",
                              "spaces": {"-": ["a/b"]}}, clock=clock)
    with SmhReadClient(endpoint="https://smhtest.api.tencentsmh.cn", library="smhtest",
                       credentials=Credentials.from_env({"SMH_ACCESS_TOKEN": "t"}),
                       transport=emu.transport()) as reader:
        assert reader.server_time() is None
        reader.list_directory("-", "")
        clock.advance(3600)
        reader.list_directory("-", "a")
        assert reader.server_time() == "2027-01-15T08:00:00.000Z"


class _WithoutDate(httpx.BaseTransport):
    """The emulator, as a server (or a proxy) that sends no `Date` header."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        del response.headers["date"]
        return response


def test_without_the_servers_date_age_rules_delete_nothing_and_say_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = spec_of(tmp_path, "    purge:\n      - {pattern: 'logs/*', older_than: 1d}\n")
    emu = Emulator.from_seed({"library": "smhtest", "secret": "s", "token": "t", "spaces": {
        "-": [{"path": "logs/a", "mtime": "2020-01-01T00:00:00Z"}]}},
        clock=Clock(start=1_800_000_000.0))
    target = Target(spec=spec, endpoint="https://smhtest.api.tencentsmh.cn",
                    credentials=Credentials.from_env({"SMH_ACCESS_TOKEN": "t"}),
                    transport=_WithoutDate(emu.transport()))
    with caplog.at_level(logging.WARNING):
        plan = live_plan(target)
    assert plan.deletes == ()
    assert "no usable Date header" in caplog.text
    assert [d.path for d in live_plan(replace(target, transport=emu.transport())).deletes] == [
        "logs/a"]


def test_inside_a_deleted_directory_a_file_an_entry_of_another_mode_judges_is_its_own_item(
    tmp_path: Path
) -> None:
    spec = spec_of(tmp_path, "    purge:\n      - a/\n"
                             "      - {pattern: '*/b/', larger_than: 100, mode: permanent}\n")
    plan = plan_of(spec, {"a/b/big": (OLD, "1000"), "a/b/small": (OLD, "10"),
                          "a/c": (OLD, "1000")})
    assert {d.path: (d.mode.value, d.reason) for d in plan.deletes} == {
        "a": ("recycle", "purge a/ (m.yaml:6)"),
        "a/b/big": ("permanent", "purge */b/ larger_than 100 (m.yaml:7)"),
    }
