"""The planner's rules, one behaviour per test, through the walker's eyes."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.desired import Mode, Safety
from reconciler.errors import ReconcileError
from reconciler.listing import RemoteEntry, SpaceListing
from reconciler.plan import ClearHistory, Delete, EmptyRecycleBin, Plan
from reconciler.planner import make_plan
from reconciler.render import render_text
from reconciler.rules import Context, SpaceRules
from reconciler.walker import walk_tree
from tests.support import TreeLister, library_listing, library_spec, space_spec, walk

PHOTOS = [
    "photos/2024/a.jpg",
    "photos/2024/b.jpg",
    "photos/2023/c.jpg",
    "photos/cover.jpg",
    "tmp/x.part",
    "tmp/cache/y.bin",
    "tmp/cache/z.bin",
    "docs/handbook.pdf",
    "docs/old/draft.doc",
    "contracts/2020/nda.pdf",
    "empty/",
]


def plan_for(paths: list[str], *, bin_items: int | None = 0, **spec_args: object) -> Plan:
    space = space_spec(**spec_args)  # type: ignore[arg-type]
    listing, _ = walk(space, paths, bin_items=bin_items)
    return make_plan(library_spec(space), library_listing(listing))


def deleted(plan: Plan) -> list[tuple[str, str]]:
    return [(d.path, d.mode.value) for d in plan.deletes]


def test_purged_directory_is_one_item_and_is_not_listed() -> None:
    space = space_spec(purge=["tmp/"])
    listing, lister = walk(space, PHOTOS)
    plan = make_plan(library_spec(space), library_listing(listing))
    assert deleted(plan) == [("tmp", "recycle")]
    assert plan.deletes[0].type.value == "dir"
    assert "tmp" not in lister.listed and "tmp/cache" not in lister.listed
    assert plan.deletes[0].reason == "purge tmp/ (test.yaml:2)"


def test_untouched_subtrees_are_never_listed() -> None:
    _, lister = walk(space_spec(purge=["tmp/"]), PHOTOS)
    assert lister.listed == [""]


def test_globstar_empties_a_directory_but_keeps_it() -> None:
    assert deleted(plan_for(PHOTOS, purge=["tmp/**"])) == [
        ("tmp/cache", "recycle"),
        ("tmp/x.part", "recycle"),
    ]


def test_a_protected_path_keeps_its_ancestors_and_siblings_go() -> None:
    plan = plan_for(PHOTOS, purge=["photos/"], protect=["photos/2024/a.jpg"])
    assert deleted(plan) == [
        ("photos/2023", "recycle"),
        ("photos/2024/b.jpg", "recycle"),
        ("photos/cover.jpg", "recycle"),
    ]


def test_files_side_by_side_are_kept_or_go_each_as_its_own_path_says() -> None:
    # Files of one directory matched by the same purge entry share what the rules make of
    # them only where the keep entries say the same of each: a kept one before or after
    # others, or between them, stays.
    files = [f"photos/2024/{name}.jpg" for name in ("a", "b", "c", "d")]
    for kept in ("a", "b", "d"):
        plan = plan_for(files, protect=[f"**/{kept}.jpg"], purge=["**/*.jpg"])
        assert deleted(plan) == [(f"photos/2024/{name}.jpg", "recycle")
                                 for name in "abcd" if name != kept]
    # Nor do files that different purge entries target share one: each goes in its mode.
    mixed = ["photos/2024/a.jpg", "photos/2024/b.part", "photos/2024/c.jpg"]
    plan = plan_for(mixed, purge=[("**/*.part", "permanent"), "**/*.jpg"])
    assert deleted(plan) == [("photos/2024/a.jpg", "recycle"),
                             ("photos/2024/b.part", "permanent"),
                             ("photos/2024/c.jpg", "recycle")]


def test_kept_directory_keeps_everything_inside_it() -> None:
    plan = plan_for(PHOTOS, purge=["**/*.jpg", "**/*.pdf"], exist=["photos/2024/"])
    assert ("photos/2024/a.jpg", "recycle") not in deleted(plan)
    assert ("photos/2023/c.jpg", "recycle") in deleted(plan)
    assert ("photos/cover.jpg", "recycle") in deleted(plan)


def test_prune_root_stays_and_what_is_not_kept_goes() -> None:
    plan = plan_for(PHOTOS, prune=["photos/"], exist=["photos/2024/"])
    assert deleted(plan) == [("photos/2023", "recycle"), ("photos/cover.jpg", "recycle")]


def test_a_directory_holding_a_prune_root_is_not_deleted() -> None:
    plan = plan_for(PHOTOS, purge=["photos/"], prune=["photos/2024/"])
    paths = [path for path, _ in deleted(plan)]
    assert "photos" not in paths and "photos/2024" not in paths
    assert paths == ["photos/2023", "photos/2024/a.jpg", "photos/2024/b.jpg", "photos/cover.jpg"]


def test_an_inner_item_of_another_mode_is_its_own_item() -> None:
    space = space_spec(purge=["tmp/", ("**/*.part", "permanent")])
    listing, lister = walk(space, PHOTOS)
    plan = make_plan(library_spec(space), library_listing(listing))
    assert deleted(plan) == [("tmp", "recycle"), ("tmp/x.part", "permanent")]
    assert "tmp" in lister.listed  # a different mode could apply inside, so it is listed
    assert "tmp/cache" in lister.listed


def test_a_directory_item_leaves_out_of_its_contents_only_the_items_inside_it() -> None:
    # `cache-old.part`, `cache0/z.part` and `cachf/w.part` are items beside `cache/` whose
    # paths sort among or next to the paths inside it: they are not left out of its contents.
    paths = ["cache/x.part", "cache/sub/y.part", "cache/keep.bin", "cache-old.part",
             "cache0/z.part", "cachf/w.part"]
    plan = plan_for(paths, purge=["cache/", ("**/*.part", "permanent")])
    assert deleted(plan) == [
        ("cache", "recycle"), ("cache-old.part", "permanent"), ("cache/sub/y.part", "permanent"),
        ("cache/x.part", "permanent"), ("cache0/z.part", "permanent"),
        ("cachf/w.part", "permanent"),
    ]
    contents = plan.deletes[0].fingerprint.contents
    assert contents is not None
    assert contents.skip == ("sub/y.part", "x.part")
    assert contents.listed == ("", "sub")


def test_first_matching_purge_entry_decides_the_mode() -> None:
    plan = plan_for(PHOTOS, purge=[("tmp/x.part", "permanent"), ("**/*.part", "recycle")])
    assert deleted(plan) == [("tmp/x.part", "permanent")]


def test_space_mode_is_the_default_for_entries_without_one() -> None:
    plan = plan_for(PHOTOS, purge=["tmp/"], mode="permanent")
    assert deleted(plan) == [("tmp", "permanent")]


def test_same_mode_inside_a_deleted_directory_is_taken_along() -> None:
    plan = plan_for(PHOTOS, purge=["tmp/", "tmp/cache/"])
    assert deleted(plan) == [("tmp", "recycle")]


def test_nested_modes_alternate() -> None:
    paths = ["a/b/c/d.txt", "a/b/e.txt", "a/f.txt"]
    plan = plan_for(paths, purge=["a/", ("a/b/", "permanent"), ("a/b/c/", "recycle")])
    assert deleted(plan) == [("a", "recycle"), ("a/b", "permanent"), ("a/b/c", "recycle")]


def test_missing_literal_exist_paths_are_reported_not_fixed() -> None:
    plan = plan_for(PHOTOS, exist=["docs/handbook.pdf", "docs/guide.pdf", "videos/intro.mp4",
                                   "empty/", "photos/cover.jpg/"])
    assert [(m.path) for m in plan.missing] == ["docs/guide.pdf", "photos/cover.jpg",
                                                  "videos/intro.mp4"]
    assert not plan.has_changes() and plan.is_drifted()


def test_an_exist_path_under_any_spelling_of_its_directory_is_not_missing() -> None:
    nfc, nfd = "\u00e9t\u00e9", "e\u0301te\u0301"  # one name once NFC-normalised
    plan = plan_for([nfc, f"{nfd}/a.jpg"], exist=[f"{nfc}/a.jpg", f"{nfd}/b.jpg"])
    assert [m.path for m in plan.missing] == [f"{nfc}/b.jpg"]


def test_recycle_into_a_space_without_bin_is_marked_permanent() -> None:
    plan = plan_for(PHOTOS, purge=["tmp/"], bin_items=None)
    (delete,) = plan.deletes
    assert delete.mode is Mode.RECYCLE and delete.final_mode is Mode.PERMANENT
    assert delete.to_json()["effective_mode"] == "permanent"
    assert plan.refusals(force=False) and not plan.refusals(force=True)


def test_empty_recycle_bin_is_a_change_only_when_needed() -> None:
    assert plan_for(PHOTOS, empty_recycle_bin=True, bin_items=0).changes == ()
    with_items = plan_for(PHOTOS, empty_recycle_bin=True, bin_items=3)
    assert [type(c) for c in with_items.changes] == [EmptyRecycleBin]
    recycling = plan_for(PHOTOS, purge=["tmp/"], empty_recycle_bin=True, bin_items=0)
    assert [type(c) for c in recycling.changes] == [Delete, EmptyRecycleBin]
    no_bin = plan_for(PHOTOS, purge=["tmp/"], empty_recycle_bin=True, bin_items=None)
    assert [type(c) for c in no_bin.changes] == [Delete]


def test_history_clear_is_maintenance_and_blocked_while_history_is_on() -> None:
    space = space_spec()
    listing, _ = walk(space, PHOTOS)
    on = make_plan(library_spec(space, clear_history=True),
                   library_listing(listing, history_enabled=True))
    off = make_plan(library_spec(space, clear_history=True),
                    library_listing(listing, history_enabled=False))
    assert isinstance(on.clear_history, ClearHistory) and on.clear_history.blocked
    assert on.refusals(force=True)  # --force does not pass a blocked clear
    assert off.clear_history is not None and not off.clear_history.blocked
    assert not off.has_changes() and not off.refusals(force=False)


def test_safety_limits_are_computed_and_shown_not_hidden() -> None:
    space = space_spec(purge=["photos/", "tmp/"])
    listing, _ = walk(space, PHOTOS)
    spec = library_spec(space, safety=Safety(max_deletes=1, max_delete_percent=10, min_existing=3))
    plan = make_plan(spec, library_listing(listing))
    assert len(plan.deletes) == 2
    assert {v.limit for v in plan.safety} == {"max_deletes", "max_delete_percent"}
    assert plan.refusals(force=False)
    assert not plan.refusals(force=True)


def test_small_spaces_are_under_min_existing() -> None:
    space = space_spec(purge=["tmp/"])
    listing, _ = walk(space, ["tmp/a", "keep"])
    spec = library_spec(space, safety=Safety(max_delete_percent=10, min_existing=10))
    assert make_plan(spec, library_listing(listing)).safety == ()


def test_a_listing_error_withholds_every_delete_of_that_space() -> None:
    space = space_spec(purge=["tmp/"])
    broken = SpaceListing(space="-", errors=("listing tmp/: 503 ServerOverloaded",))
    plan = make_plan(library_spec(space), library_listing(broken))
    assert plan.changes == ()
    assert plan.errors == (("-", "listing tmp/: 503 ServerOverloaded"),)
    assert plan.refusals(force=True)
    text = render_text(plan)
    assert "Plan INCOMPLETE" in text and "No changes" not in text


def test_delete_uses_the_servers_spelling() -> None:
    plan = plan_for(["cafe\u0301/menu.txt", "bar.txt"], purge=["caf\u00e9/"])
    assert deleted(plan) == [("cafe\u0301", "recycle")]


def test_whole_space_prune_never_deletes_the_root() -> None:
    plan = plan_for(["a.txt", "b/c.txt"], prune=[""], exist=["b/c.txt"])
    assert deleted(plan) == [("a.txt", "recycle")]


def test_same_inputs_give_identical_json() -> None:
    first = plan_for(PHOTOS, purge=["tmp/", ("**/*.part", "permanent")], exist=["x/y"])
    second = plan_for(list(reversed(PHOTOS)), purge=["tmp/", ("**/*.part", "permanent")],
                      exist=["x/y"])
    assert first.to_json() == second.to_json()
    assert Plan.from_json(first.to_json(fingerprints=True)) == first


def test_an_entry_of_unknown_type_is_kept_with_its_directories_and_warned_about() -> None:
    space = space_spec(purge=["photos/", "tmp/**"])
    listing, _ = walk(space, PHOTOS)
    assert "photos/2024" not in listing.children  # deleted whole: never listed to look
    space = space_spec(purge=["photos/", "tmp/**"], protect=["photos/2024/*.keep"])
    listing, _ = walk(space, PHOTOS, unknown={"photos/2024/b.jpg": "hologram"})
    plan = make_plan(library_spec(space), library_listing(listing))
    paths = [path for path, _ in deleted(plan)]
    assert "photos" not in paths and "photos/2024" not in paths
    assert "photos/2024/b.jpg" not in paths
    assert paths == ["photos/2023", "photos/2024/a.jpg", "photos/cover.jpg", "tmp/cache",
                     "tmp/x.part"]
    (warning,) = plan.warnings
    assert (warning.space, warning.path) == ("-", "photos/2024/b.jpg")
    assert "'hologram'" in warning.message and "kept" in warning.message
    assert plan.to_json()["warnings"] == [warning.to_json()]
    assert Plan.from_json(plan.to_json()).warnings == plan.warnings
    text = render_text(plan)
    assert "WARNING: photos/2024/b.jpg: entry type 'hologram' is not one this tool knows" in text
    from reconciler.render import render_markdown

    markdown = render_markdown(plan)
    assert "> [!WARNING]\n> - photos/2024/b.jpg: entry type 'hologram'" in markdown


def test_a_plan_without_warnings_has_no_warnings_key() -> None:
    plan = plan_for(PHOTOS, purge=["tmp/"])
    assert plan.warnings == () and "warnings" not in plan.to_json()


def test_the_walker_hands_on_each_subtree_once_all_of_it_is_listed() -> None:
    space = space_spec(purge=["**/*.jpg", "tmp/"], protect=["tmp/cache/keep.bin"])
    lister = TreeLister([*PHOTOS, "tmp/cache/keep.bin", "photos/2024/raw/d.jpg"])
    children: dict[str, Sequence[RemoteEntry]] = {}
    told: list[tuple[str, Context, set[str]]] = []

    def listed(directory: str, context: Context) -> None:
        told.append((directory, context, set(children)))

    with ThreadPoolExecutor(max_workers=3) as executor:
        found, errors = walk_tree(SpaceRules(space), lister, executor, listed=listed,
                                  children=children)
    assert not errors and found is children
    rules = SpaceRules(space)
    listed_dirs = set(found) - {""}
    assert sorted(d for d, _, _ in told) == sorted(listed_dirs)  # each once, never the root
    order = [d for d, _, _ in told]
    for directory, context, seen in told:
        assert context == rules.context_of(directory, is_dir=True)
        inside = {d for d in listed_dirs if d.startswith(f"{directory}/")}
        assert inside | {directory} <= seen, directory  # all of its subtree listed by then
        assert all(order.index(d) < order.index(directory) for d in inside)


def test_a_subtree_whose_listing_failed_is_never_handed_on() -> None:
    lister = TreeLister(PHOTOS)

    def failing(directory: str) -> Sequence[RemoteEntry]:
        if directory == "photos/2024":
            raise ReconcileError("HTTP 500")
        return lister(directory)

    told: list[str] = []

    def listed(directory: str, context: Context) -> None:
        told.append(directory)

    with ThreadPoolExecutor(max_workers=1) as executor:
        _, errors = walk_tree(SpaceRules(space_spec(purge=["**/*.jpg"])), failing, executor,
                              listed=listed)
    assert errors == ["listing photos/2024/: HTTP 500"]
    assert "photos" not in told and "photos/2024" not in told
    assert len(told) == len(set(told))
