"""The planner: desired state + remote listing -> plan. Pure: no I/O, no clock, no environment.

The manifest rules (README, "The rules") live here, in two parts that share one view of a path:

- `SpaceRules.context` says how the rules see a path given its parent: kept or not, and
  which purge entry or prune root targets it (and so its mode). The walker uses the same
  contexts with `SpaceRules.must_list` to decide which directories it has to list at all.
- `plan_space` walks the listed tree bottom-up: a targeted directory with nothing kept
  inside becomes ONE delete item; inside it, only items whose mode differs stay as their
  own items (apply deletes them first). Kept paths and every directory holding one are
  never deleted; neither is a prune root nor a directory holding one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from reconciler.desired import LibrarySpec, Mode, Rule, SpaceSpec
from reconciler.listing import LibraryListing, RemoteEntry, SpaceListing
from reconciler.matching import Pattern, PatternSet, normalize, parent_of
from reconciler.plan import (
    Change,
    ClearHistory,
    Delete,
    EmptyRecycleBin,
    Missing,
    Plan,
    SafetyViolation,
    SpaceReport,
)
from reconciler.subtree import with_contents


@dataclass(frozen=True, slots=True)
class Context:
    """How the rules see one path.

    `purge` is the purge entry that decides the path's mode: the first entry (file order)
    matching the path itself, else its nearest purge-matched ancestor's. `prune` is the
    innermost prune root strictly containing the path; `prune_root` is set when the path
    is itself a prune root, and is what its children inherit.
    """

    kept: bool = False
    purge: Rule | None = None
    prune: Rule | None = None
    prune_root: Rule | None = None

    @property
    def targeted(self) -> bool:
        return self.purge is not None or self.prune is not None

    @property
    def rule(self) -> Rule | None:
        """The rule that targets the path (and gives its mode and reason)."""
        return self.purge or self.prune

    @property
    def mode(self) -> Mode:
        rule = self.rule
        return rule.mode if rule is not None and rule.mode is not None else Mode.RECYCLE


def _root_key(root: str) -> str:
    return normalize(root).strip("/")


class SpaceRules:
    """One space's manifest entries, compiled.

    Each kind of pattern is one `PatternSet`, so a path is matched against all of them at
    once (10,000 purge entries cost about what one does), and the prune roots are kept with
    every directory above them, so whether a directory anchors one is a set lookup.
    """

    def __init__(self, space: SpaceSpec) -> None:
        self.space = space
        self._keep = [(Pattern.compile(r.pattern), r) for r in (*space.exist, *space.protect)]
        self._purge = [(Pattern.compile(r.pattern), r) for r in sorted(space.purge,
                                                                       key=lambda r: r.order)]
        self._prune = {_root_key(r.pattern): r for r in space.prune}
        self._literal_exist = [
            (pattern, rule)
            for pattern, rule in self._keep[: len(space.exist)]
            if pattern.is_literal and pattern.body
        ]
        self._keep_set = PatternSet(pattern for pattern, _ in self._keep)
        self._purge_set = PatternSet(pattern for pattern, _ in self._purge)
        modes = {rule.mode for _, rule in self._purge}
        self._purge_by_mode = {
            mode: PatternSet(pattern for pattern, rule in self._purge if rule.mode == mode)
            for mode in modes
        }
        self._exist_set = PatternSet(pattern for pattern, _ in self._literal_exist)
        self._prune_anchors: set[str] = set()
        for root in self._prune:
            segments = root.split("/") if root else []
            self._prune_anchors.update("/".join(segments[:depth])
                                       for depth in range(len(segments) + 1))

    def root_context(self) -> Context:
        return Context(prune_root=self._prune.get(""))

    def context(self, parent: Context, path: str, *, is_dir: bool) -> Context:
        """The context of `path`, a child of a directory whose context is `parent`."""
        kept = parent.kept or self._keep_set.any(path, is_dir=is_dir)
        first = self._purge_set.first(path, is_dir=is_dir)
        own = self._purge[first][1] if first is not None else None
        return Context(
            kept=kept,
            purge=own or parent.purge,
            prune=parent.prune_root or parent.prune,
            prune_root=self._prune.get(normalize(path)) if is_dir else None,
        )

    def anchors_prune(self, directory: str) -> bool:
        """Whether `directory` is a prune root or holds one (so it is never deleted)."""
        return normalize(directory) in self._prune_anchors

    def _exist_below(self, directory: str) -> bool:
        return self._exist_set.could_match_below(directory)

    def must_list(self, directory: str, context: Context) -> bool:
        """Whether the plan needs the children of `directory` (whose context is given).

        A directory no rule can touch is never listed, and a directory that will be deleted
        as one item is listed only when a keep pattern, a purge entry of another mode or a
        prune root could apply inside it. Literal `exist` paths below are listed down to so
        that a missing one is reported.
        """
        if self._exist_below(directory) or self.anchors_prune(directory):
            return True
        if context.kept:
            return False
        if context.targeted:
            if self._keep_set.could_match_below(directory):
                return True
            mode = context.mode
            return any(
                patterns.could_match_below(directory)
                for other, patterns in self._purge_by_mode.items()
                if other != mode
            )
        return self._purge_set.could_match_below(directory)

    @property
    def literal_exist(self) -> Sequence[tuple[Pattern, Rule]]:
        return self._literal_exist


@dataclass(slots=True)
class _Node:
    delete: Delete
    inner: list[_Node] = field(default_factory=list)

    def flatten(self) -> Iterable[Delete]:
        yield self.delete
        for node in self.inner:
            yield from node.flatten()


@dataclass(frozen=True, slots=True)
class SpacePlan:
    """The plan of one space, before the library-wide checks."""

    changes: tuple[Change, ...]
    missing: tuple[Missing, ...]
    report: SpaceReport


def plan_space(space: SpaceSpec, listing: SpaceListing) -> SpacePlan:
    rules = SpaceRules(space)
    if listing.errors:
        report = SpaceReport(
            space=space.id,
            listed=listing.entry_count(),
            removed=0,
            recycle_bin=listing.recycle_bin_enabled,
            errors=listing.errors,
            user_id=space.user_id,
        )
        return SpacePlan(changes=(), missing=(), report=report)

    errors: list[str] = []
    bin_enabled = listing.recycle_bin_enabled

    def make_delete(entry: RemoteEntry, context: Context) -> Delete:
        rule = context.rule
        assert rule is not None
        mode = context.mode
        return Delete(
            space=space.id,
            path=entry.path,
            type=entry.type,
            mode=mode,
            reason=rule.describe(),
            fingerprint=entry.fingerprint,
            effective_mode=Mode.PERMANENT if mode is Mode.RECYCLE and not bin_enabled else None,
        )

    def plan_dir(directory: str, context: Context) -> tuple[list[_Node], bool]:
        """The delete forest inside `directory`, and whether it holds anything kept."""
        forest: list[_Node] = []
        holds_kept = False
        for entry in listing.children.get(directory, ()):
            child = rules.context(context, entry.path, is_dir=entry.is_dir)
            if child.kept:
                holds_kept = True
                continue
            if not entry.is_dir:
                if child.targeted:
                    forest.append(_Node(make_delete(entry, child)))
                continue
            if entry.path in listing.children:
                inner, inner_kept = plan_dir(entry.path, child)
            elif rules.must_list(entry.path, child):
                # The rules needed this directory's contents and the listing lacks them:
                # deciding without them could delete something kept.
                errors.append(f"{entry.path}/ was not listed; the plan needs its contents")
                holds_kept = True
                continue
            else:
                inner, inner_kept = [], False
            blocked = inner_kept or rules.anchors_prune(entry.path)
            holds_kept = holds_kept or blocked
            if child.targeted and not blocked:
                node = _Node(make_delete(entry, child))
                for inner_node in inner:
                    # Same mode: the directory's own delete takes it along. Another mode:
                    # it stays its own item, deleted before the directory.
                    if inner_node.delete.mode is node.delete.mode:
                        node.inner.extend(inner_node.inner)
                    else:
                        node.inner.append(inner_node)
                forest.append(node)
            else:
                forest.extend(inner)
        return forest, holds_kept

    forest, _ = plan_dir("", rules.root_context())
    deletes = [delete for node in forest for delete in node.flatten()]
    if errors:
        report = SpaceReport(
            space=space.id,
            listed=listing.entry_count(),
            removed=0,
            recycle_bin=bin_enabled,
            errors=tuple(errors),
            user_id=space.user_id,
        )
        return SpacePlan(changes=(), missing=(), report=report)

    changes: list[Change] = list(deletes)
    recycles = any(delete.final_mode is Mode.RECYCLE for delete in deletes)
    bin_items = listing.recycle_bin_items
    if space.empty_recycle_bin and bin_items is not None and (bin_items > 0 or recycles):
        changes.append(
            EmptyRecycleBin(
                space=space.id,
                items=bin_items,
                reason=f"recycle_bin.empty ({space.location.short()})",
            )
        )
    report = SpaceReport(
        space=space.id,
        listed=listing.entry_count(),
        removed=_removed_entries(listing, deletes),
        recycle_bin=bin_enabled,
        user_id=space.user_id,
    )
    return SpacePlan(
        changes=tuple(changes), missing=tuple(_missing(space, rules, listing)), report=report
    )


def _removed_entries(listing: SpaceListing, deletes: Sequence[Delete]) -> int:
    """How many listed entries the deletes take away (each at or under a delete item)."""
    targets = {delete.path for delete in deletes}
    if not targets:
        return 0
    removed = 0
    for entries in listing.children.values():
        for entry in entries:
            path = entry.path
            while path:
                if path in targets:
                    removed += 1
                    break
                path = parent_of(path)
    return removed


def _missing(space: SpaceSpec, rules: SpaceRules, listing: SpaceListing) -> Iterable[Missing]:
    """Literal `exist` paths the listing proves absent.

    Names are compared NFC-normalised, so names spelled differently on the server count as
    one: present as a directory when any spelling is one, and proven to lack a child only
    when every spelling of the directory was listed.
    """
    kinds: dict[str, set[bool]] = {}
    unlisted: set[str] = set()
    for entries in listing.children.values():
        for entry in entries:
            key = normalize(entry.path)
            kinds.setdefault(key, set()).add(entry.is_dir)
            if entry.is_dir and entry.path not in listing.children:
                unlisted.add(key)
    listed = {normalize(directory) for directory in listing.children} - unlisted
    for pattern, rule in rules.literal_exist:
        segments = pattern.body.split("/")
        for depth in range(1, len(segments) + 1):
            if "/".join(segments[: depth - 1]) not in listed:
                break  # not listed: presence unknown, so nothing is claimed
            present = kinds.get("/".join(segments[:depth]), set())
            needs_dir = depth < len(segments) or pattern.dir_only
            if not present or (needs_dir and True not in present):
                yield Missing(space=space.id, path=pattern.body, reason=rule.describe())
                break


def make_plan(spec: LibrarySpec, listing: LibraryListing) -> Plan:
    """The plan for one library: every space's changes plus the library-wide checks."""
    changes: list[Change] = []
    missing: list[Missing] = []
    reports: list[SpaceReport] = []
    for space in spec.spaces:
        space_listing = listing.spaces.get(space.id)
        if space_listing is None:
            space_listing = SpaceListing(space=space.id, errors=("space was not listed",))
        result = plan_space(space, space_listing)
        changes.extend(result.changes)
        missing.extend(result.missing)
        reports.append(result.report)

    if spec.clear_history:
        where = f"history.clear ({spec.history_location.short()})" if spec.history_location else (
            "history.clear"
        )
        if listing.history_enabled is False:
            changes.append(ClearHistory(reason=where))
        elif listing.history_enabled is None:
            changes.append(ClearHistory(
                reason=f"{where}: the library's history setting could not be read",
                blocked=True,
            ))
        else:
            changes.append(ClearHistory(
                reason=f"{where}: file history is enabled on the library; disable it first",
                blocked=True,
            ))

    plan = Plan(
        library=spec.library,
        changes=tuple(changes),
        missing=tuple(missing),
        safety=tuple(_safety(spec, changes, reports)),
        spaces=tuple(reports),
        listed_at=listing.listed_at,
    )
    return with_contents(plan, listing)


def _safety(
    spec: LibrarySpec, changes: Sequence[Change], reports: Sequence[SpaceReport]
) -> Iterable[SafetyViolation]:
    safety = spec.safety
    deletes = sum(1 for change in changes if isinstance(change, Delete))
    if safety.max_deletes is not None and deletes > safety.max_deletes:
        yield SafetyViolation(
            limit="max_deletes",
            message=f"{deletes} delete items exceed safety.max_deletes ({safety.max_deletes})",
        )
    for report in reports:
        if report.listed < safety.min_existing or report.listed == 0:
            continue
        percent = 100.0 * report.removed / report.listed
        if percent > safety.max_delete_percent:
            yield SafetyViolation(
                limit="max_delete_percent",
                space=report.space,
                message=(
                    f"space {report.space}: removes {report.removed} of {report.listed} listed "
                    f"entries ({percent:.1f}%), over safety.max_delete_percent "
                    f"({safety.max_delete_percent:g}%)"
                ),
            )
