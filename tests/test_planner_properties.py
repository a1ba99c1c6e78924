"""Property tests: the planner's guarantees over random trees and random manifests.

The expected outcome is computed here by brute force over the WHOLE tree, straight from the
words of the manifest rules in the README, independently of the planner and of what the
walker chose to list.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired import Location, Mode, Rule, RuleKind, SpaceSpec
from reconciler.listing import EntryType, SpaceListing
from reconciler.matching import Pattern, is_inside, normalize, parent_of
from reconciler.plan import Plan
from reconciler.planner import deleted_directories, make_plan, plan_listed
from reconciler.predicates import DURATION_KEYS, PREDICATE_KEYS, Predicates
from reconciler.rules import Context, SpaceRules
from reconciler.units import parse_duration, parse_size
from tests.strategies import (
    GLOBS,
    MODES,
    consistent,
    manifest_strategy,
    paths_strategy,
)
from tests.support import PurgeEntry, library_listing, library_spec, space_spec, tree, walk


def ancestors(path: str) -> list[str]:
    """The directories holding `path`, nearest first (the root left out)."""
    out = []
    while "/" in path:
        path = parent_of(path)
        out.append(path)
    return out


class Oracle:
    """The manifest rules, applied to every path of a complete tree."""

    def __init__(self, manifest: dict[str, object], paths: list[str]) -> None:
        self.kinds = {e.path: e.is_dir for entries in tree(paths).values() for e in entries}
        keep = [Pattern.compile(p) for p in (*manifest["exist"], *manifest["protect"])]  # type: ignore[misc]
        purge: list[tuple[str, str]] = manifest["purge"]  # type: ignore[assignment]
        prune: list[tuple[str, str]] = manifest["prune"]  # type: ignore[assignment]
        self.purge = [(Pattern.compile(p), Mode(m)) for p, m in purge]
        self.prune = {normalize(root).strip("/"): Mode(m) for root, m in prune}

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


def manifest_space(manifest: dict[str, object]) -> SpaceSpec:
    """The space a drawn manifest describes."""
    purge: list[PurgeEntry] = list(manifest["purge"])  # type: ignore[call-overload]
    prune: list[PurgeEntry] = list(manifest["prune"])  # type: ignore[call-overload]
    return space_spec(exist=manifest["exist"], protect=manifest["protect"],  # type: ignore[arg-type]
                      purge=purge, prune=prune, mode=str(manifest["mode"]))


def run(manifest: dict[str, object], paths: list[str]) -> tuple[Plan, Oracle]:
    space = manifest_space(manifest)
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


# -- rules that see age and size ---------------------------------------------------------------

LISTED_AT = "2027-01-15T08:00:00.000Z"
LISTED_EPOCH = 1_800_000_000
DAYS = [None, 0, 1, 5, 30, 100]  # a file's age in days (None: no modificationTime)
SIZES = [None, 0, 10, 1000, 5000]  # a file's size (None: the server gave none)
PREDICATES: list[dict[str, str]] = [
    {}, {"older_than": "7d"}, {"newer_than": "2d"}, {"larger_than": "100"},
    {"smaller_than": "1 kB".replace("kB", "KB")}, {"older_than": "2d", "larger_than": "5"},
]
PREDICATE_GLOBS = ["**", "a/", "a", "**/*.part", "*/b/", "b", "a/**", "**/c", "*", "?/b"]


def _rule(kind: RuleKind, pattern: str, line: int, order: int, *, mode: str | None,
          predicates: dict[str, str], keep_newest: int | None) -> Rule:
    values = {key: parse_duration(value) if key in DURATION_KEYS else parse_size(value)
              for key, value in predicates.items()}
    written = tuple((key, predicates[key]) for key in PREDICATE_KEYS if key in predicates)
    return Rule(kind, pattern, Location("p.yaml", line, 5), Mode(mode) if mode else None,
                order, Predicates(**values, written=written), keep_newest)


entry_strategy = st.tuples(st.sampled_from(PREDICATE_GLOBS), st.sampled_from(MODES),
                           st.sampled_from(PREDICATES), st.sampled_from([None, None, 1, 2]))
predicate_manifest = st.fixed_dictionaries({
    "exist": st.lists(st.sampled_from(GLOBS), max_size=1),
    "protect": st.lists(st.tuples(st.sampled_from(PREDICATE_GLOBS),
                                  st.sampled_from(PREDICATES)), max_size=2),
    "purge": st.lists(entry_strategy, max_size=4),
    "prune": st.lists(st.tuples(st.sampled_from(["a/", "b/", "", "a/b/"]), st.sampled_from(MODES),
                                st.sampled_from(PREDICATES), st.sampled_from([None, 1])),
                      max_size=1, unique_by=lambda entry: normalize(entry[0]).strip("/")),
})
# Trees with several files side by side, so that `keep_newest` has files to choose among.
sibling_paths = st.tuples(
    paths_strategy,
    st.lists(st.tuples(st.sampled_from(["", "a/", "a/b/", "c/", "b/"]),
                       st.sampled_from(["f1", "f2", "f3", "x.part", "y.part", "c"])),
             min_size=2, max_size=12),
).map(lambda drawn: sorted({*drawn[0], *(d + name for d, name in drawn[1])}))
attribute_strategy = st.lists(st.tuples(st.sampled_from(DAYS), st.sampled_from(SIZES)),
                              min_size=40, max_size=40)


def predicate_space(manifest: dict[str, Any]) -> SpaceSpec:
    line = iter(range(1, 1000))
    exist = tuple(Rule(RuleKind.EXIST, p, Location("p.yaml", next(line), 5))
                  for p in manifest["exist"])
    protect = tuple(_rule(RuleKind.PROTECT, p, next(line), i, mode=None, predicates=preds,
                          keep_newest=None) for i, (p, preds) in enumerate(manifest["protect"]))
    purge = tuple(_rule(RuleKind.PURGE, p, next(line), i, mode=m, predicates=preds,
                        keep_newest=n) for i, (p, m, preds, n) in enumerate(manifest["purge"]))
    prune = tuple(_rule(RuleKind.PRUNE, p, next(line), i, mode=m, predicates=preds,
                        keep_newest=n) for i, (p, m, preds, n) in enumerate(manifest["prune"]))
    return SpaceSpec(id="-", location=Location("p.yaml", 1, 1), exist=exist, protect=protect,
                     purge=purge, prune=prune, allow_whole_space=True)


def attributes_of(paths: list[str], drawn: list[tuple[int | None, int | None]]
                  ) -> dict[str, tuple[str | None, str | None]]:
    files = sorted(e.path for entries in tree(paths).values() for e in entries if not e.is_dir)
    out: dict[str, tuple[str | None, str | None]] = {}
    for index, path in enumerate(files):
        days, size = drawn[index % len(drawn)]
        mtime = None if days is None else iso_time(LISTED_EPOCH - days * 86400 - index)
        out[path] = (mtime, None if size is None else str(size))
    return out


def iso_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class PredicateOracle:
    """SPEC section 7, by brute force over the whole tree: predicates judge files only."""

    def __init__(self, space: SpaceSpec, paths: list[str],
                 attributes: dict[str, tuple[str | None, str | None]]) -> None:
        self.space = space
        self.kinds = {e.path: e.is_dir for entries in tree(paths).values() for e in entries}
        self.attributes = attributes
        self.prune = {normalize(r.pattern).strip("/"): r for r in space.prune}

        def matches(rule: Rule, path: str) -> str | None:
            """The nearest of `path` and its ancestors that `rule` matches."""
            for at in [path, *self.ancestors(path)]:
                if at in self.kinds and Pattern.compile(rule.pattern).matches(
                        at, is_dir=self.kinds[at]):
                    return at
            return None

        self.matches = matches
        direct = set()
        for path, is_dir in self.kinds.items():
            for rule in (*space.exist, *space.protect):
                if matches(rule, path) is None:
                    continue
                if not rule.conditional or (not is_dir and self.holds(rule, path, absent=True)):
                    direct.add(path)
        self.kept = {p for p in self.kinds
                     if p in direct or any(a in direct and not self.conditional_keep(a)
                                           for a in self.ancestors(p))}
        self.holds_kept = {a for p in self.kept for a in self.ancestors(p)}
        self.anchored = {p for p, d in self.kinds.items()
                         if d and any(r == normalize(p) or is_inside(r, normalize(p))
                                      for r in self.prune)}
        self.spared = self._spare()

    def conditional_keep(self, path: str) -> bool:
        """Whether `path` is kept only by entries with predicates (so not with its contents)."""
        return not any(not rule.conditional and self.matches(rule, path) == path
                       for rule in (*self.space.exist, *self.space.protect)) and not any(
            not rule.conditional and self.matches(rule, a) == a
            for rule in (*self.space.exist, *self.space.protect) for a in self.ancestors(path))

    ancestors = staticmethod(ancestors)

    def holds(self, rule: Rule, path: str, *, absent: bool) -> bool:
        mtime, size = self.attributes.get(path, (None, None))
        p = rule.predicates
        if p.older_than is not None or p.newer_than is not None:
            if mtime is None:
                if not absent:
                    return False
            else:
                age = LISTED_EPOCH - dt.datetime.fromisoformat(
                    mtime.replace("Z", "+00:00")).timestamp()
                if p.older_than is not None and not age > p.older_than:
                    return False
                if p.newer_than is not None and not age < p.newer_than:
                    return False
        if p.larger_than is not None or p.smaller_than is not None:
            if size is None:
                if not absent:
                    return False
            else:
                if p.larger_than is not None and not int(size) > p.larger_than:
                    return False
                if p.smaller_than is not None and not int(size) < p.smaller_than:
                    return False
        return True

    def innermost_root(self, path: str) -> Rule | None:
        roots = [r for r in self.prune if is_inside(normalize(path), r)]
        return self.prune[max(roots, key=len)] if roots else None

    def candidates(self, path: str) -> list[Rule]:
        """Purge entries matching the path or an ancestor (nearest first, file order), then
        the innermost prune root, up to the first entry without predicates: no entry after it
        is ever asked."""
        levels = [path, *self.ancestors(path)]
        out = [rule for at in levels for rule in sorted(self.space.purge, key=lambda r: r.order)
               if at in self.kinds and Pattern.compile(rule.pattern).matches(
                   at, is_dir=self.kinds[at])]
        root = self.innermost_root(path)
        out += [root] if root is not None else []
        unconditional = [i for i, rule in enumerate(out) if not rule.conditional]
        return out[: unconditional[0] + 1] if unconditional else out

    def _spare(self) -> set[tuple[str, Rule]]:
        """(file, keep_newest entry) pairs: the entry spares the file."""
        spared = set()
        for rule in (*self.space.purge, *self.space.prune):
            if rule.keep_newest is None:
                continue
            by_dir: dict[str, list[tuple[str, str]]] = {}
            for path, is_dir in self.kinds.items():
                if is_dir or path in self.kept or rule not in self.candidates(path):
                    continue
                if not self.holds(rule, path, absent=False):
                    continue
                mtime = self.attributes[path][0]
                if mtime is None:
                    spared.add((path, rule))
                else:
                    by_dir.setdefault(parent_of(path), []).append((mtime, path))
            for files in by_dir.values():
                for _, path in sorted(files, reverse=True)[: rule.keep_newest]:
                    spared.add((path, rule))
        return spared

    def target(self, path: str) -> Rule | None:
        """The entry that targets `path` (a directory only by one without predicates)."""
        for rule in self.candidates(path):
            if rule.kind is RuleKind.PRUNE and self.kinds[path] and rule.conditional:
                return None
            if not rule.conditional:
                return rule
            if self.kinds[path] or (path, rule) in self.spared:
                continue
            if self.holds(rule, path, absent=False):
                return rule
        return None

    def deleted(self) -> dict[str, Rule]:
        return {p: rule for p in self.kinds if (rule := self.target(p)) is not None
                and p not in self.kept and p not in self.holds_kept and p not in self.anchored}


def run_predicates(manifest: dict[str, Any], paths: list[str],
                   drawn: list[tuple[int | None, int | None]]
                   ) -> tuple[Plan, PredicateOracle]:
    space = predicate_space(manifest)
    attributes = attributes_of(paths, drawn)
    listing, _ = walk(space, paths, attributes=attributes, listed_at=LISTED_AT)
    assert not listing.errors, listing.errors
    plan = make_plan(library_spec(space), library_listing(listing, listed_at=LISTED_AT))
    return plan, PredicateOracle(space, paths, attributes)


@settings(max_examples=300, deadline=None)
@given(predicate_manifest, sibling_paths, attribute_strategy)
def test_with_predicates_exactly_the_judged_paths_go_and_nothing_kept(
    manifest: dict[str, Any], paths: list[str], drawn: list[tuple[int | None, int | None]]
) -> None:
    plan, oracle = run_predicates(manifest, consistent(paths), drawn)
    assert not plan.errors
    removed: dict[str, Mode] = {}
    for path in oracle.kinds:
        item = innermost_item(plan, path)
        if item is not None:
            removed[path] = item[1]
    expected = oracle.deleted()
    assert set(removed) == set(expected)
    for path, mode in removed.items():
        assert mode is expected[path].mode, path
    for delete in plan.deletes:
        assert delete.path not in oracle.kept and delete.path not in oracle.holds_kept
        assert not any(is_inside(kept, delete.path) for kept in oracle.kept)
        if delete.type is EntryType.DIR:  # a directory goes whole only by an entry without
            assert not any(word in delete.reason for word in PREDICATE_WORDS)


PREDICATE_WORDS = (*PREDICATE_KEYS, "keep_newest")


@settings(max_examples=200, deadline=None)
@given(predicate_manifest, paths_strategy)
def test_a_file_without_attributes_is_never_deleted_by_a_predicate(
    manifest: dict[str, Any], paths: list[str]
) -> None:
    plan, _ = run_predicates(manifest, consistent(paths), [(None, None)])
    for delete in plan.deletes:
        assert not any(word in delete.reason for word in PREDICATE_WORDS), delete


@settings(max_examples=200, deadline=None)
@given(sibling_paths, attribute_strategy, st.sampled_from(["**", "a/**", "**/*.part", "a/"]),
       st.integers(min_value=1, max_value=3))
def test_keep_newest_keeps_exactly_n_per_directory(
    paths: list[str], drawn: list[tuple[int | None, int | None]], pattern: str, newest: int
) -> None:
    paths = consistent(paths)
    manifest: dict[str, Any] = {"exist": [], "protect": [], "prune": [],
                "purge": [(pattern, "recycle", {}, newest)]}
    plan, oracle = run_predicates(manifest, paths, drawn)
    gone = {d.path for d in plan.deletes}
    rule = oracle.space.purge[0]
    by_dir: dict[str, list[str]] = {}
    for path, is_dir in oracle.kinds.items():
        if not is_dir and oracle.matches(rule, path) is not None \
                and oracle.attributes[path][0] is not None:
            by_dir.setdefault(parent_of(path), []).append(path)
    for files in by_dir.values():
        assert sum(1 for f in files if f not in gone) == min(newest, len(files))
        assert all(d.type is EntryType.FILE for d in plan.deletes)


@settings(max_examples=100, deadline=None)
@given(predicate_manifest, sibling_paths, attribute_strategy, st.randoms(),
       st.floats(min_value=0, max_value=4e9))
def test_with_predicates_the_plan_is_byte_identical_for_any_order_and_local_clock(
    manifest: dict[str, Any], paths: list[str], drawn: list[tuple[int | None, int | None]],
    rnd: random.Random, local: float,
) -> None:
    from reconciler.render import render_json

    paths = consistent(paths)
    first, _ = run_predicates(manifest, paths, drawn)
    shuffled = list(paths)
    rnd.shuffle(shuffled)
    attributes = attributes_of(paths, drawn)
    space = predicate_space(manifest)
    with mock.patch("time.time", return_value=local):
        listing, _ = walk(space, shuffled, attributes=attributes, listed_at=LISTED_AT)
        second = make_plan(library_spec(space), library_listing(listing, listed_at=LISTED_AT))
    assert render_json(first) == render_json(second)


# -- subtrees planned while the walk goes on ---------------------------------------------------

def planned_ahead(space: SpaceSpec, listing: SpaceListing, rnd: random.Random,
                  listed_at: str | None) -> SpaceListing:
    """`listing` over a copy of its children in which some subtrees were planned ahead,
    children before parents, as the walker hands them on: most in their own context, at the
    listing's time and with its bin; some in another context, at another time or without the
    bin, which planning the space must not take."""
    children = dict(listing.children)
    rules = SpaceRules(space)
    directories = [directory for directory in children if directory]
    rnd.shuffle(directories)
    directories.sort(key=lambda directory: -directory.count("/"))
    for directory in directories:
        if rnd.random() < 0.2:
            continue
        context = (rules.context_of(directory, is_dir=True) if rnd.random() < 0.8
                   else Context(kept=rnd.random() < 0.5))
        plan_listed(space, children, directory, context,
                    recycle_bin_enabled=listing.recycle_bin_enabled ^ (rnd.random() < 0.1),
                    listed_at=listed_at if rnd.random() < 0.9 else "2027-01-01T00:00:00.000Z")
    return replace(listing, children=children)


def _plans_alike(space: SpaceSpec, listing: SpaceListing, rnd: random.Random,
                 listed_at: str | None) -> None:
    from reconciler.render import render_json

    spec = library_spec(space)
    at_once = make_plan(spec, library_listing(replace(listing, children=dict(listing.children)),
                                              listed_at=listed_at))
    ahead = make_plan(spec, library_listing(planned_ahead(space, listing, rnd, listed_at),
                                            listed_at=listed_at))
    assert render_json(ahead) == render_json(at_once)
    assert ahead.warnings == at_once.warnings and ahead.errors == at_once.errors


@settings(max_examples=200, deadline=None)
@given(manifest_strategy, paths_strategy, st.randoms(), st.booleans())
def test_subtrees_planned_ahead_give_the_plan_made_at_once(
    manifest: dict[str, Any], paths: list[str], rnd: random.Random, with_bin: bool
) -> None:
    paths = consistent(paths)
    space = manifest_space(manifest)
    files = [path for path in paths if not path.endswith("/")]
    unknown = {path: "hologram" for path in files if rnd.random() < 0.1}
    listing, _ = walk(space, paths, bin_items=0 if with_bin else None, unknown=unknown,
                      ahead=False)
    _plans_alike(space, listing, rnd, None)


@settings(max_examples=200, deadline=None)
@given(predicate_manifest, sibling_paths, attribute_strategy, st.randoms())
def test_with_predicates_subtrees_planned_ahead_give_the_plan_made_at_once(
    manifest: dict[str, Any], paths: list[str], drawn: list[tuple[int | None, int | None]],
    rnd: random.Random,
) -> None:
    paths = consistent(paths)
    space = predicate_space(manifest)
    listing, _ = walk(space, paths, attributes=attributes_of(paths, drawn),
                      listed_at=LISTED_AT, ahead=False)
    _plans_alike(space, listing, rnd, LISTED_AT)


@settings(max_examples=200, deadline=None)
@given(manifest_strategy, paths_strategy)
def test_the_listed_entries_a_plan_removes_are_those_at_or_under_its_items(
    manifest: dict[str, Any], paths: list[str]
) -> None:
    paths = consistent(paths)
    space = manifest_space(manifest)
    listing, _ = walk(space, paths)
    plan = make_plan(library_spec(space), library_listing(listing))
    items = [delete.path for delete in plan.deletes]
    listed = [entry.path for entries in listing.children.values() for entry in entries]
    expected = sum(1 for path in listed
                   if any(path == item or is_inside(path, item) for item in items))
    (report,) = plan.spaces
    assert report.removed == expected


def _counted_while_walking(space: SpaceSpec, paths: list[str], **walking: Any) -> None:
    """The directories the planner, planning ahead, says the plan deletes whole (the walker
    counts them before the walk ends) are the plan's directory items right under the root
    that were listed: none the plan keeps or takes into another item, and none left out."""
    listing, lister = walk(space, paths, **walking)
    deleted = deleted_directories(space, listing, walking.get("listed_at"))
    assert sorted(lister.deleted_whole) == [
        path for path in deleted if "/" not in path and path in listing.children]


@settings(max_examples=200, deadline=None)
@given(manifest_strategy, paths_strategy, st.booleans())
def test_the_directories_counted_while_walking_are_the_plans_own(
    manifest: dict[str, Any], paths: list[str], with_bin: bool
) -> None:
    _counted_while_walking(manifest_space(manifest), consistent(paths),
                           bin_items=0 if with_bin else None)


@settings(max_examples=200, deadline=None)
@given(predicate_manifest, sibling_paths, attribute_strategy)
def test_with_predicates_the_directories_counted_while_walking_are_the_plans_own(
    manifest: dict[str, Any], paths: list[str], drawn: list[tuple[int | None, int | None]],
) -> None:
    paths = consistent(paths)
    _counted_while_walking(predicate_space(manifest), paths,
                           attributes=attributes_of(paths, drawn), listed_at=LISTED_AT)
