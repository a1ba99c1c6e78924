"""Property tests: the planner's guarantees over random trees and random manifests.

The expected outcome is computed here by brute force over the WHOLE tree, straight from the
words of the manifest rules in the README, independently of the planner and of what the
walker chose to list.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired import Mode
from reconciler.listing import EntryType
from reconciler.matching import Pattern, is_inside, normalize, parent_of
from reconciler.plan import Plan
from reconciler.planner import make_plan
from tests.support import PurgeEntry, library_listing, library_spec, space_spec, tree, walk

NFC_E = "\u00e9"  # é as one code point
NFD_E = "e\u0301"  # é as e + combining acute: the same name once NFC-normalised
NAMES = ["a", "b", "c", "x.part", "y.jpg", "B", ".h", NFC_E, NFD_E]
GLOBS = ["a/", "a", "a/**", "**/*.part", "*/b/", "b", "a/b", "a/b/c", "**/c/", "*.jpg",
         "a/*", "**/b/**", "c/", "b/a/", "*/*/c",
         # `?`, character classes, dir-only globstars, case and NFC/NFD spellings
         "?", "?/b", "**/?", "[ab]", "[!a]", "[!a]/", "[a-c]/**", "**/[b]/**", "a/[!b]",
         "*/", "**/", "a/**/", "*/**", "**/*[ab]", "[!.]*/**", "**/.h", "B/", "a?",
         NFC_E, NFD_E + "/", NFC_E + "/**", "*" + NFD_E, "**/" + NFD_E + "/",
         NFC_E + "/a", NFD_E + "/" + NFC_E + "/", "a/" + NFD_E + "/b"]
ROOTS = ["a/", "b/", "a/b/", "c/a/", "", "a/b/c/", "x.part/", NFC_E + "/", NFD_E + "/a/",
         "a/" + NFD_E + "/"]
MODES = ["recycle", "permanent"]

paths_strategy = st.lists(
    st.tuples(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5), st.booleans()),
    min_size=1,
    max_size=30,
).map(lambda items: sorted({"/".join(segs) + ("/" if is_dir else "") for segs, is_dir in items}))

moded = st.tuples(st.sampled_from(GLOBS), st.sampled_from(MODES))
manifest_strategy = st.fixed_dictionaries({
    "exist": st.lists(st.sampled_from(GLOBS), max_size=3),
    "protect": st.lists(st.sampled_from(GLOBS), max_size=2),
    "purge": st.lists(moded, max_size=5),
    "prune": st.lists(st.tuples(st.sampled_from(ROOTS), st.sampled_from(MODES)), max_size=2),
    "mode": st.sampled_from(MODES),
})


def consistent(paths: list[str]) -> list[str]:
    """Drop paths that would make a file also a directory."""
    kinds: dict[str, bool] = {}
    kept = []
    for raw in paths:
        segments = raw.strip("/").split("/")
        clash = False
        for depth in range(1, len(segments) + 1):
            path = "/".join(segments[:depth])
            is_dir = depth < len(segments) or raw.endswith("/")
            if kinds.get(path, is_dir) != is_dir:
                clash = True
        if not clash:
            for depth in range(1, len(segments) + 1):
                kinds["/".join(segments[:depth])] = depth < len(segments) or raw.endswith("/")
            kept.append(raw)
    return kept


class Oracle:
    """The manifest rules, applied to every path of a complete tree."""

    def __init__(self, manifest: dict[str, object], paths: list[str]) -> None:
        self.kinds = {e.path: e.is_dir for entries in tree(paths).values() for e in entries}
        keep = [Pattern.compile(p) for p in (*manifest["exist"], *manifest["protect"])]  # type: ignore[misc]
        purge: list[tuple[str, str]] = manifest["purge"]  # type: ignore[assignment]
        prune: list[tuple[str, str]] = manifest["prune"]  # type: ignore[assignment]
        self.purge = [(Pattern.compile(p), Mode(m)) for p, m in purge]
        self.prune = {normalize(root).strip("/"): Mode(m) for root, m in prune}

        def ancestors(path: str) -> list[str]:
            out = []
            while "/" in path:
                path = parent_of(path)
                out.append(path)
            return out

        self.ancestors = ancestors
        directly_kept = {p for p, d in self.kinds.items()
                         if any(k.matches(p, is_dir=d) for k in keep)}
        self.kept = {p for p in self.kinds
                     if p in directly_kept or any(a in directly_kept for a in ancestors(p))}
        self.holds_kept = {a for p in self.kept for a in ancestors(p)}
        self.anchored = {p for p, d in self.kinds.items()
                         if d and any(r == normalize(p) or is_inside(r, normalize(p))
                                      for r in self.prune)}

    def own_purge(self, path: str) -> Mode | None:
        is_dir = self.kinds[path]
        return next((m for pat, m in self.purge if pat.matches(path, is_dir=is_dir)), None)

    def mode(self, path: str) -> Mode | None:
        """The mode the rules give a targeted path; None when it is not targeted."""
        own = self.own_purge(path)
        if own is not None:
            return own
        for ancestor in self.ancestors(path):
            if ancestor in self.kinds and self.own_purge(ancestor) is not None:
                return self.own_purge(ancestor)
        roots = [r for r in self.prune if is_inside(normalize(path), r)]
        if roots:
            return self.prune[max(roots, key=len)]
        return None

    def deleted(self) -> set[str]:
        return {
            p for p in self.kinds
            if self.mode(p) is not None and p not in self.kept and p not in self.holds_kept
            and p not in self.anchored
        }


def run(manifest: dict[str, object], paths: list[str]) -> tuple[Plan, Oracle]:
    purge: list[PurgeEntry] = list(manifest["purge"])  # type: ignore[call-overload]
    prune: list[PurgeEntry] = list(manifest["prune"])  # type: ignore[call-overload]
    space = space_spec(exist=manifest["exist"], protect=manifest["protect"],  # type: ignore[arg-type]
                       purge=purge, prune=prune, mode=str(manifest["mode"]))
    listing, _ = walk(space, paths)
    assert not listing.errors
    return make_plan(library_spec(space), library_listing(listing)), Oracle(manifest, paths)


def innermost_item(plan: Plan, path: str) -> tuple[str, Mode] | None:
    best: tuple[str, Mode] | None = None
    for delete in plan.deletes:
        if (delete.path == path or is_inside(path, delete.path)) and (
            best is None or len(delete.path) > len(best[0])
        ):
            best = (delete.path, delete.mode)
    return best


@settings(max_examples=300, deadline=None)
@given(manifest_strategy, paths_strategy)
def test_no_kept_path_or_ancestor_of_one_is_ever_deleted(
    manifest: dict[str, object], paths: list[str]
) -> None:
    plan, oracle = run(manifest, consistent(paths))
    for delete in plan.deletes:
        assert delete.path not in oracle.kept
        assert delete.path not in oracle.holds_kept
        assert delete.path not in oracle.anchored
        # nothing kept lies inside a deleted item either
        assert not any(is_inside(kept, delete.path) for kept in oracle.kept)


@settings(max_examples=300, deadline=None)
@given(manifest_strategy, paths_strategy)
def test_exactly_the_targeted_unkept_paths_go_each_in_its_mode(
    manifest: dict[str, object], paths: list[str]
) -> None:
    plan, oracle = run(manifest, consistent(paths))
    removed: dict[str, Mode] = {}
    for path in oracle.kinds:
        item = innermost_item(plan, path)
        if item is not None:
            removed[path] = item[1]
    assert set(removed) == oracle.deleted()
    for path, mode in removed.items():
        assert mode is oracle.mode(path), path


@settings(max_examples=300, deadline=None)
@given(manifest_strategy, paths_strategy)
def test_items_nest_only_when_modes_differ_and_subtrees_are_one_item(
    manifest: dict[str, object], paths: list[str]
) -> None:
    plan, oracle = run(manifest, consistent(paths))
    deleted = oracle.deleted()
    items = {d.path: d for d in plan.deletes}
    for delete in plan.deletes:
        enclosing = [p for p in items if is_inside(delete.path, p)]
        if enclosing:
            nearest = max(enclosing, key=len)
            assert items[nearest].mode is not delete.mode
        # a directory item is used wherever a whole subtree goes: an item whose parent
        # goes too lies inside another item (and so has another mode, as checked above)
        if parent_of(delete.path) in deleted:
            assert enclosing, f"{parent_of(delete.path)} goes whole but is not one item"
        assert (delete.type is EntryType.DIR) == oracle.kinds[delete.path]


@settings(max_examples=300, deadline=None)
@given(manifest_strategy, paths_strategy)
def test_exactly_the_absent_literal_exist_paths_are_missing(
    manifest: dict[str, object], paths: list[str]
) -> None:
    paths = consistent(paths)
    plan, oracle = run(manifest, paths)
    # Names that differ only in their Unicode spelling are one name: present as a
    # directory when any spelling of it is one.
    kinds: dict[str, set[bool]] = {}
    for path, is_dir in oracle.kinds.items():
        kinds.setdefault(normalize(path), set()).add(is_dir)
    expected = set()
    for text in manifest["exist"]:  # type: ignore[attr-defined]
        pattern = Pattern.compile(text)
        if pattern.is_literal:
            present = kinds.get(pattern.body, set())
            if not present or (pattern.dir_only and True not in present):
                expected.add(pattern.body)
    assert {missing.path for missing in plan.missing} == expected


@settings(max_examples=100, deadline=None)
@given(manifest_strategy, paths_strategy, st.randoms())
def test_same_inputs_give_byte_identical_json(
    manifest: dict[str, object], paths: list[str], rnd: random.Random
) -> None:
    paths = consistent(paths)
    first, _ = run(manifest, paths)
    shuffled = list(paths)
    rnd.shuffle(shuffled)
    second, _ = run(manifest, shuffled)
    from reconciler.render import render_json
    assert render_json(first) == render_json(second)
