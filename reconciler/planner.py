"""The planner: desired state + remote listing -> plan. Pure: no I/O, no clock, no environment.

It decides with the rule engine (`reconciler.rules`: how the manifest's entries see each
path) and walks the listed tree bottom-up: a targeted directory with nothing kept inside
becomes ONE delete item; inside it, only items whose mode differs stay as their own items
(apply deletes them first). Kept paths and every directory holding one are never deleted;
neither is a prune root nor a directory holding one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from reconciler.collector import gc_paused
from reconciler.desired import PERMANENT, RECYCLE, LibrarySpec, Rule, SpaceSpec
from reconciler.listing import (
    DIR,
    FILE,
    LibraryListing,
    RemoteEntry,
    SpaceListing,
    Stats,
    entry_names,
)
from reconciler.matching import normalize, parent_of
from reconciler.plan import (
    Change,
    ClearHistory,
    CreateDirectory,
    Delete,
    DeleteRecycled,
    EmptyRecycleBin,
    Missing,
    Plan,
    PlanWarning,
    SafetyViolation,
    SpaceReport,
    make_delete,
)
from reconciler.predicates import parse_time
from reconciler.rules import Context, SpaceRules, keeps, spared_newest, targeting
from reconciler.subtree import with_contents
from reconciler.units import format_duration, format_size


@dataclass(slots=True)
class _Node:
    delete: Delete
    inner: list[_Node] = field(default_factory=list)

    def flatten(self) -> Iterable[Delete]:
        yield self.delete
        for node in self.inner:
            yield from node.flatten()


@dataclass(frozen=True, slots=True)
class _Planned:
    """A subtree planned ahead (`_Forest.plan_ahead`): the context it was planned in, its
    items, whether it holds anything kept, and the errors and warnings planning it gave."""

    context: Context
    nodes: list[_Node]
    holds_kept: bool
    errors: list[str]
    warnings: list[PlanWarning]


@dataclass(frozen=True, slots=True)
class SpacePlan:
    """The plan of one space, before the library-wide checks."""

    changes: tuple[Change, ...]
    missing: tuple[Missing, ...]
    report: SpaceReport
    warnings: tuple[PlanWarning, ...] = ()


class _Forest:
    """The delete items of one space as a forest: each directory item holds the items inside
    it that are deleted on their own (another mode), before it."""

    def __init__(self, space: SpaceSpec, listing: SpaceListing, now: float | None) -> None:
        self.space = space
        self.listing = listing
        self.now = now
        self.rules = SpaceRules(space)
        self._keeps_newest = any(rule.keep_newest is not None
                                 for rule in (*space.purge, *space.prune))
        self.errors: list[str] = []
        self.warnings: list[PlanWarning] = []
        self._planned: dict[str, _Planned] = {}
        self._roots: list[_Node] | None = None
        self._reasons: dict[int, tuple[Rule, str]] = {}  # a rule's reason text, by its id()

    @property
    def roots(self) -> list[_Node]:
        """The items of the space, each with the items deleted on their own inside it."""
        return self.plan()

    def plan(self) -> list[_Node]:
        """Find the items of the space (once: the subtrees planned ahead are used up)."""
        if self._roots is None:
            self._roots, _ = self._plan_dir("", self.rules.root_context())
            self._planned.clear()
        return self._roots

    def plan_ahead(self, directory: str, context: Context) -> None:
        """Plan the subtree at `directory` (seen in `context`) before the space's plan is
        asked for: all of it is listed. Planning the space then takes it as it is."""
        if self._roots is not None:
            return
        errors, warnings = self.errors, self.warnings
        self.errors, self.warnings = [], []
        try:
            nodes, holds_kept = self._plan_dir(directory, context)
            self._planned[directory] = _Planned(context, nodes, holds_kept, self.errors,
                                                self.warnings)
        finally:
            self.errors, self.warnings = errors, warnings

    def deleted_whole(self, directory: str, context: Context) -> bool:
        """Whether the plan will delete `directory`, planned ahead in `context`, as one item:
        only said of a directory right under the root, which no plan deletes, so nothing
        above it can take it in. It is what `_plan_dir` of the root decides for it: a rule
        deletes it, nothing keeps it, and nothing inside it must stay."""
        if "/" in directory or context.kept or context.rule is None:
            return False
        planned = self._planned.get(directory)
        return (planned is not None and planned.context == context and not planned.holds_kept
                and not planned.errors and not self.rules.anchors_prune(directory))

    def _delete(self, entry: RemoteEntry, rule: Rule) -> Delete:
        """The item deleting `entry` as `rule` says: a file with what it removes (itself and
        its size), a directory counted later (`_counted`)."""
        mode = rule.mode if rule.mode is not None else RECYCLE
        without_bin = mode is RECYCLE and not self.listing.recycle_bin_enabled
        # The same text for each of the (many) items one entry deletes. The cache holds the
        # rule itself, so that no other rule can take its id while it is there.
        known = self._reasons.get(id(rule))
        if known is None or known[0] is not rule:
            known = self._reasons[id(rule)] = (rule, rule.describe())
        reason = known[1]
        fingerprint = entry.fingerprint
        is_file = entry.type is FILE
        return make_delete(self.space.id, entry.path, entry.type, mode, reason, fingerprint,
                           PERMANENT if without_bin else None, 1 if is_file else 0,
                           fingerprint.size_bytes if is_file else None)

    def _plan_dir(self, directory: str, context: Context) -> tuple[list[_Node], bool]:
        """The delete forest inside `directory`, and whether it holds anything kept."""
        planned = self._planned.pop(directory, None)
        if planned is not None and planned.context == context:
            self.errors.extend(planned.errors)
            self.warnings.extend(planned.warnings)
            return planned.nodes, planned.holds_kept
        forest: list[_Node] = []
        holds_kept = False
        entries = self.rules.child_contexts(
            directory, context, self.listing.children.get(directory, ()))
        spared = self._spared(entries)
        for entry, child in entries:
            if child is None:
                # It might be a container holding kept paths: kept, and so is its directory.
                self.warnings.append(PlanWarning(self.space.id, entry.path, (
                    f"entry type {entry.server_type!r} is not one this tool knows; it is "
                    "kept, and so is every directory that holds it")))
                holds_kept = True
            elif keeps(child, entry, self.now):
                holds_kept = True
            elif not entry.is_dir:
                rule = child.rule if not child.judged else targeting(
                    child.candidates, entry, self.now, spared.get(entry.path, frozenset()))
                if rule is not None:
                    forest.append(_Node(self._delete(entry, rule)))
            else:
                inner, blocked = self._plan_subdir(entry, child)
                holds_kept = holds_kept or blocked
                if child.rule is not None and not blocked:
                    forest.append(self._collapse(self._delete(entry, child.rule), inner))
                else:
                    forest.extend(inner)
        return forest, holds_kept

    def _spared(self, entries: Sequence[tuple[RemoteEntry, Context | None]]
                ) -> dict[str, frozenset[Rule]]:
        """The `keep_newest` entries that spare each file of one directory."""
        if not self._keeps_newest:
            return {}
        files = [(entry, context.candidates) for entry, context in entries
                 if context is not None and not entry.is_dir
                 and not keeps(context, entry, self.now)]
        return spared_newest(files, self.now)

    def _plan_subdir(self, entry: RemoteEntry, context: Context) -> tuple[list[_Node], bool]:
        """A child directory's forest, and whether it must stay (it holds something kept)."""
        if entry.path in self.listing.children:
            inner, inner_kept = self._plan_dir(entry.path, context)
        elif self.rules.must_list(entry.path, context):
            # The rules needed this directory's contents and the listing lacks them:
            # deciding without them could delete something kept.
            self.errors.append(f"{entry.path}/ was not listed; the plan needs its contents")
            return [], True
        else:
            inner, inner_kept = [], False
        return inner, inner_kept or self.rules.anchors_prune(entry.path)

    @staticmethod
    def _collapse(delete: Delete, inner: list[_Node]) -> _Node:
        """One item for a deleted directory. Inner items of the same mode go with it; those of
        another mode stay their own items, deleted before it."""
        node = _Node(delete)
        for inner_node in inner:
            if inner_node.delete.mode is delete.mode:
                node.inner.extend(inner_node.inner)
            else:
                node.inner.append(inner_node)
        return node

    def nodes(self) -> Iterable[_Node]:
        stack = list(self.roots)
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.inner)


_FORESTS: OrderedDict[tuple[int, int, bool, float | None],
                      tuple[SpaceSpec, object, _Forest]] = OrderedDict()
_FORESTS_LOCK = threading.Lock()  # spaces are walked, and planned ahead, side by side


def _forest(space: SpaceSpec, listing: SpaceListing, listed_at: str | None, *,
            planned: bool = True) -> _Forest:
    """The forest of `space` over `listing` made at `listed_at` (`planned`: with its items
    found). The walker plans subtrees ahead in it as it lists them, needs it to know what to
    count, and the planner again once the counts are in; counts never change it, so each call
    takes the one before's (same spec, listed children, bin state and time)."""
    now = parse_time(listed_at)
    key = (id(space), id(listing.children), listing.recycle_bin_enabled, now)
    with _FORESTS_LOCK:
        cached = _FORESTS.get(key)
        if cached is not None and cached[0] is space and cached[1] is listing.children:
            forest = cached[2]
        else:
            forest = _Forest(space, listing, now)
            _FORESTS[key] = (space, listing.children, forest)
            while len(_FORESTS) > 64:
                _FORESTS.popitem(last=False)
    if planned:
        forest.listing = listing
        forest.plan()
    return forest


def plan_listed(space: SpaceSpec, children: Mapping[str, Sequence[RemoteEntry]],
                directory: str, context: Context, *, recycle_bin_enabled: bool,
                listed_at: str | None) -> bool:
    """Plan the subtree at `directory` of `space`, seen in `context`, now that the walker has
    listed all of it into `children` (the listing it goes on filling), so that no plan of the
    whole space waits for it after the walk. The space's plan takes it only if it is made
    over the same children, bin state and time, and sees the directory in that context.

    True when the directory is sure to be one of the plan's directory items, so that the
    walker may count it while the walk goes on (see `_Forest.deleted_whole`)."""
    listing = SpaceListing(space.id, children,
                           recycle_bin_items=0 if recycle_bin_enabled else None)
    forest = _forest(space, listing, listed_at, planned=False)
    forest.plan_ahead(directory, context)
    return forest.deleted_whole(directory, context)


def why_not_deleted(rules: SpaceRules, delete: Delete) -> str | None:
    """Why the manifests could never give `delete`, whatever the library holds; None when
    some library would get exactly that item (that path, type and mode) from them (for a file,
    apply's fresh plan then decides on what the library holds now)."""
    ruling = rules.ruling(delete.path, is_dir=delete.type is DIR)
    why = ruling.why_not_deleted
    if why is None and delete.mode not in ruling.modes:
        shown = " or ".join(sorted(mode.value for mode in ruling.modes))
        return f"the manifests delete it in {shown} mode, not {delete.mode.value}"
    return why


def deleted_directories(space: SpaceSpec, listing: SpaceListing,
                        listed_at: str | None = None) -> list[str]:
    """The directory items the plan of `space` deletes, which the walker must count."""
    forest = _forest(space, listing, listed_at)
    if forest.errors:
        return []
    return sorted(node.delete.path for node in forest.nodes()
                  if node.delete.type is DIR)


def _raw_counts(listing: SpaceListing, delete: Delete) -> Stats | None:
    """What an item holds in all, its inner items included; None when nobody counted it."""
    if delete.type is FILE:
        return Stats(files=1, bytes=delete.fingerprint.size_bytes or 0)
    return listing.stats.get(delete.path)


def _counted(listing: SpaceListing, node: _Node, errors: list[str]) -> Iterable[Delete]:
    """The items of `node`, each with the files and bytes it removes on its own."""
    delete = node.delete
    if delete.type is FILE:  # made with its counts, and nothing is inside it
        yield delete
        return
    raw = _raw_counts(listing, delete)
    if raw is None:
        errors.append(f"{delete.path}/ was not counted; the plan needs what it holds")
        return
    files, size = raw.files, raw.bytes
    for inner in node.inner:
        inner_raw = _raw_counts(listing, inner.delete)
        if inner_raw is not None:
            files, size = files - inner_raw.files, size - inner_raw.bytes
    known_size = delete.type is DIR or delete.fingerprint.size_bytes is not None
    fingerprint = delete.fingerprint
    if delete.type is DIR:
        fingerprint = replace(fingerprint, stats=raw)
    # Stats may lag behind the tree (SMH recomputes them as a task): never below zero.
    yield replace(delete, files=max(0, files), bytes=max(0, size) if known_size else None,
                  counted=raw.counted, fingerprint=fingerprint)
    for inner in node.inner:
        yield from _counted(listing, inner, errors)


def plan_space(space: SpaceSpec, listing: SpaceListing, *, now: str | None = None) -> SpacePlan:
    """One space's plan; `now` (ISO-8601 UTC, when the listing was made) is what the ages of
    files and of recycle-bin items are measured against."""
    if listing.errors:
        return _failed(space, listing, listing.errors)
    forest = _forest(space, listing, now)
    errors = list(forest.errors)
    deletes = [d for root in forest.roots for d in _counted(listing, root, errors)]
    if errors:
        return _failed(space, listing, tuple(errors))
    changes: list[Change] = [*deletes, *_bin_emptied(space, listing, deletes)]
    files, estimated = _space_files(listing, deletes)
    report = _report(space, listing, removed=_removed_entries(listing, deletes), files=files,
                     estimated=estimated)
    missing = list(_missing(space, forest.rules, listing))
    if space.create_missing:
        created, missing = created_directories(space, forest.rules, listing, missing, deletes)
        changes.extend(created)
    changes.extend(recycled_deletes(space, listing, now))
    return SpacePlan(
        changes=tuple(changes), missing=tuple(missing),
        report=report, warnings=tuple(forest.warnings),
    )


def _bin_emptied(space: SpaceSpec, listing: SpaceListing,
                 deletes: Sequence[Delete]) -> list[EmptyRecycleBin]:
    """`recycle_bin.empty`: the bin is emptied when it holds items or the plan recycles some."""
    recycles = any(delete.final_mode is RECYCLE for delete in deletes)
    bin_items = listing.recycle_bin_items
    if not space.empty_recycle_bin or bin_items is None or not (bin_items > 0 or recycles):
        return []
    return [EmptyRecycleBin(space=space.id, items=bin_items,
                            reason=f"recycle_bin.empty ({space.location.short()})")]


def created_directories(
    space: SpaceSpec, rules: SpaceRules, listing: SpaceListing, missing: Sequence[Missing],
    deletes: Sequence[Delete],
) -> tuple[list[CreateDirectory], list[Missing]]:
    """`create_missing: true`: each missing literal `exist` directory that apply can create
    becomes a `create_directory` change; what stays missing is a file path, a path where a
    file stands in the way, or a path inside an item the plan deletes."""
    directories = {pattern.body for pattern, _ in rules.literal_exist if pattern.dir_only}
    files = {normalize(entry.path) for entries in listing.children.values()
             for entry in entries if not entry.is_dir}
    deleted = {normalize(delete.path) for delete in deletes}
    created: list[CreateDirectory] = []
    still: list[Missing] = []
    for entry in missing:
        segments = entry.path.split("/")
        prefixes = {"/".join(segments[:depth]) for depth in range(1, len(segments) + 1)}
        if entry.path in directories and not prefixes & (files | deleted):
            created.append(CreateDirectory(space=space.id, path=entry.path,
                                           reason=f"create_missing: {entry.reason}"))
        else:
            still.append(entry)
    return created, still


def recycled_deletes(space: SpaceSpec, listing: SpaceListing,
                     now: str | None) -> list[DeleteRecycled]:
    """`recycle_bin.older_than`: each bin item removed longer ago than the duration, measured
    against `now` (when the listing was made). An item without a readable removal time, or a
    plan without `now`, deletes nothing: its age is unknown."""
    reference = parse_time(now)
    if space.recycle_older_than is None or listing.recycled is None or reference is None:
        return []
    where = space.recycle_older_than_location or space.location
    reason = f"recycle_bin.older_than {space.recycle_older_than_text} ({where.short()})"
    out: list[DeleteRecycled] = []
    for item in listing.recycled:
        removed = parse_time(item.removal_time)
        if removed is None or item.removal_time is None:
            continue
        age = reference - removed
        if age > space.recycle_older_than:
            out.append(DeleteRecycled(
                space=space.id, recycled_item_id=item.recycled_item_id,
                original_path=item.original_path, type=item.type,
                removal_time=item.removal_time, bytes=item.size, reason=reason,
                age=format_duration(age)))
    return out


def _failed(space: SpaceSpec, listing: SpaceListing, errors: Sequence[str]) -> SpacePlan:
    """A space that could not be listed or counted completely: no change in it at all."""
    report = _report(space, listing, removed=0, files=listing.files or 0,
                     estimated=listing.files is None, errors=errors)
    return SpacePlan(changes=(), missing=(), report=report)


def _report(space: SpaceSpec, listing: SpaceListing, *, removed: int, files: int,
            estimated: bool, errors: Sequence[str] = ()) -> SpaceReport:
    return SpaceReport(
        space=space.id,
        listed=listing.entry_count(),
        removed=removed,
        recycle_bin=listing.recycle_bin_enabled,
        errors=tuple(errors),
        user_id=space.user_id,
        files=files,
        files_estimated=estimated,
    )


def _space_files(listing: SpaceListing, deletes: Sequence[Delete]) -> tuple[int, bool]:
    """The files the space holds, and whether that is only what the plan saw of it.

    Without the server's count it is the files listed plus those held by each directory
    counted without being listed: a lower bound, never below what the plan removes.
    """
    if listing.files is not None:
        return listing.files, False
    seen = sum(1 for entries in listing.children.values() for e in entries if not e.is_dir)
    seen += sum(stats.files for path, stats in listing.stats.items()
                if path not in listing.children)
    return max(seen, sum(delete.files for delete in deletes)), True


def _removed_entries(listing: SpaceListing, deletes: Sequence[Delete]) -> int:
    """How many listed entries the deletes take away (each at or under a delete item)."""
    targets = {delete.path for delete in deletes}
    if not targets:
        return 0
    # Each item is an entry of its directory's listing: the names each directory loses.
    names: dict[str, set[str]] = {}
    for path in targets:
        directory, _, name = path.rpartition("/")
        names.setdefault(directory, set()).add(name)
    removed = 0
    for directory, entries in listing.children.items():
        if _at_or_under(directory, targets):
            removed += len(entries)
        elif directory in names:
            removed += sum(map(names[directory].__contains__, entry_names(directory, entries)))
    return removed


def _at_or_under(directory: str, targets: set[str]) -> bool:
    while directory:
        if directory in targets:
            return True
        directory = parent_of(directory)
    return False


def _missing(space: SpaceSpec, rules: SpaceRules, listing: SpaceListing) -> Iterable[Missing]:
    """Literal `exist` paths the listing proves absent.

    Names are compared NFC-normalised, so names spelled differently on the server count as
    one: present as a directory when any spelling is one, and proven to lack a child only
    when every spelling of the directory was listed.
    """
    if not rules.literal_exist:
        return
    # Only the paths on the way to a literal `exist` path are ever asked about.
    asked = {"/".join(segments[:depth]) for segments in
             (pattern.body.split("/") for pattern, _ in rules.literal_exist)
             for depth in range(len(segments) + 1)}
    kinds: dict[str, set[bool]] = {}
    unlisted: set[str] = set()
    for entries in listing.children.values():
        for entry in entries:
            key = normalize(entry.path)
            if key not in asked:
                continue
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


@gc_paused()  # a plan over a large listing is many small acyclic objects
def make_plan(spec: LibrarySpec, listing: LibraryListing, *, now: str | None = None) -> Plan:
    """The plan for one library: every space's changes plus the library-wide checks.

    Ages are measured against the listing's `listed_at`, else `now` (the time a live
    listing was made, which a live plan does not show as `listed_at`)."""
    changes: list[Change] = []
    missing: list[Missing] = []
    reports: list[SpaceReport] = []
    warnings: list[PlanWarning] = []
    for space in spec.spaces:
        space_listing = listing.spaces.get(space.id)
        if space_listing is None:
            space_listing = SpaceListing(space=space.id, errors=("space was not listed",))
        result = plan_space(space, space_listing, now=listing.listed_at or now)
        changes.extend(result.changes)
        missing.extend(result.missing)
        reports.append(result.report)
        warnings.extend(result.warnings)
    clear = _clear_history(spec, listing)
    if clear is not None:
        changes.append(clear)
    plan = Plan(
        library=spec.library,
        changes=tuple(changes),
        missing=tuple(missing),
        safety=tuple(_safety(spec, changes, reports, listing)),
        spaces=tuple(reports),
        listed_at=listing.listed_at,
        warnings=tuple(warnings),
    )
    return with_contents(plan, listing)


def _clear_history(spec: LibrarySpec, listing: LibraryListing) -> ClearHistory | None:
    """The history clear, unless the library is known to keep no earlier versions."""
    if not spec.clear_history or listing.history_files == 0:
        return None
    where = f"history.clear ({spec.history_location.short()})" if spec.history_location else (
        "history.clear"
    )
    versions = listing.history_files
    if listing.history_enabled is False:
        return ClearHistory(reason=where, versions=versions)
    if listing.history_enabled is None:
        return ClearHistory(
            reason=f"{where}: the library's history setting could not be read", blocked=True,
            versions=versions,
        )
    return ClearHistory(
        reason=f"{where}: file history is enabled on the library; disable it first",
        blocked=True, versions=versions,
    )


def _safety(
    spec: LibrarySpec, changes: Sequence[Change], reports: Sequence[SpaceReport],
    listing: LibraryListing,
) -> Iterable[SafetyViolation]:
    """The limits the plan breaches, counted in what its deletes remove (files and bytes)."""
    deletes = [change for change in changes if isinstance(change, Delete)]
    bin_deletes = [change for change in changes if isinstance(change, DeleteRecycled)]
    yield from check_limits(spec, deletes, reports, bin_deletes=bin_deletes)
    yield from whole_space_violations(spec, deletes, listing)


def whole_space_violations(
    spec: LibrarySpec, deletes: Sequence[Delete], listing: LibraryListing
) -> Iterable[SafetyViolation]:
    """The whole-space guard: `deletes` would leave a space with nothing at its root."""
    gone_by_space: dict[str, set[str]] = {}
    for delete in deletes:
        gone_by_space.setdefault(delete.space, set()).add(delete.path)
    for space in spec.spaces:
        listed = listing.spaces.get(space.id)
        entries = listed.children.get("", ()) if listed is not None else ()
        gone = gone_by_space.get(space.id, set())
        if space.allow_whole_space or not entries or any(e.path not in gone for e in entries):
            continue
        yield SafetyViolation(
            limit="whole_space",
            space=space.id,
            forceable=False,
            message=(
                f"space {space.id}: the plan deletes all {len(entries)} entries at its root "
                "and would leave it empty; set `allow_whole_space: true` on the space if that "
                "is meant (--force does not pass this check)"
            ),
        )


def check_limits(
    spec: LibrarySpec, deletes: Sequence[Delete], reports: Sequence[SpaceReport], *,
    bin_deletes: Sequence[DeleteRecycled] = (),
) -> Iterable[SafetyViolation]:
    """The count, percent and byte limits of `spec.safety` that `deletes` breach. Recycle-bin
    items deleted for good count toward `max_deletes` and `max_delete_bytes`."""
    safety = spec.safety
    items = len(deletes) + len(bin_deletes)
    if safety.max_deletes is not None and items > safety.max_deletes:
        yield SafetyViolation(
            limit="max_deletes",
            message=(
                f"{items} delete items exceed safety.max_deletes ({safety.max_deletes}) "
                f"by {items - safety.max_deletes}: {_removes(deletes, bin_deletes)}"
            ),
        )
    by_space: dict[str, list[Delete]] = {}
    for delete in deletes:
        by_space.setdefault(delete.space, []).append(delete)
    for report in reports:
        removed = by_space.get(report.space, [])
        files = sum(delete.files for delete in removed)
        if report.files < safety.min_existing or report.files == 0 or not removed:
            continue
        percent = 100.0 * files / report.files
        if percent > safety.max_delete_percent:
            allowed = int(report.files * safety.max_delete_percent / 100)
            holds = f"{report.files:,}{'+' if report.files_estimated else ''}"
            yield SafetyViolation(
                limit="max_delete_percent",
                space=report.space,
                message=(
                    f"space {report.space}: removes {files:,} of the {holds} files it holds "
                    f"({percent:.1f}%, {format_size(_bytes(removed))}), over "
                    f"safety.max_delete_percent ({safety.max_delete_percent:g}%) by "
                    f"{files - allowed:,} files"
                ),
            )
    if safety.max_delete_bytes is not None:
        size = _bytes(deletes) + sum(item.bytes or 0 for item in bin_deletes)
        unknown = (sum(1 for delete in deletes if delete.bytes is None)
                   + sum(1 for item in bin_deletes if item.bytes is None))
        if size > safety.max_delete_bytes or unknown:
            over = (f"over safety.max_delete_bytes ({format_size(safety.max_delete_bytes)}) by "
                    f"{format_size(max(0, size - safety.max_delete_bytes))}")
            if unknown:
                over += f"; the server gave no size for {unknown} of them"
            yield SafetyViolation(limit="max_delete_bytes",
                                  message=f"the plan {_removes(deletes, bin_deletes)}, {over}")


def _bytes(deletes: Iterable[Delete]) -> int:
    return sum(delete.bytes or 0 for delete in deletes)


def _removes(deletes: Sequence[Delete], bin_deletes: Sequence[DeleteRecycled] = ()) -> str:
    files = sum(delete.files for delete in deletes)
    text = f"removes {files:,} {'file' if files == 1 else 'files'}, {format_size(_bytes(deletes))}"
    if bin_deletes:
        size = sum(item.bytes or 0 for item in bin_deletes)
        text += (f", and deletes {len(bin_deletes)} recycle-bin "
                 f"{'item' if len(bin_deletes) == 1 else 'items'} for good ({format_size(size)})")
    return text
