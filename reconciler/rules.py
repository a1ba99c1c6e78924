"""The rule engine: how the manifest's entries of one space see a path.

The manifest rules (README, "The rules") in one place, for the walker, the planner, `explain`,
`coverage` and the plan-file check alike:

- `SpaceRules.context` says how the rules see a path given its parent: kept or not, and
  which purge entry or prune root targets it (and so its mode). The walker uses the same
  contexts with `SpaceRules.must_list` to decide which directories it has to list at all.
- The precedence of the entries: `exist`/`protect` always win; among `purge` entries, those
  matching the path itself in file order, then its nearest matched ancestor's; then the
  innermost prune root holding it. Entries with predicates or `keep_newest` judge files one
  by one (`purge_chain`, `guarded`, `spared_newest`, `targeting`).
- `SpaceRules.ruling` says why a path gets what the rules alone give it (kept, never
  deleted, targeted in which modes) and which entries weigh on it, in that precedence.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from reconciler.desired import RECYCLE, Mode, Rule, SpaceSpec
from reconciler.listing import DIR, FILE, UNKNOWN, RemoteEntry
from reconciler.matching import Pattern, PatternSet, is_inside, normalize
from reconciler.predicates import parse_time


@dataclass(frozen=True, slots=True)
class Context:
    """How the rules see one path.

    `purge` is the purge entry that decides the path's mode: the first entry (file order)
    matching the path itself, else its nearest purge-matched ancestor's. `prune` is the
    innermost prune root strictly containing the path; `prune_root` is set when the path
    is itself a prune root, and is what its children inherit.

    Entries with predicates or `keep_newest` judge files one by one (`reconciler.predicates`):
    `purges` is the chain of purge entries that may target a file here, in the order the
    rules weigh them (empty when no such entry is involved), and `guards` the protect entries
    with predicates that matched the path or an ancestor. Neither ever targets or keeps a
    directory as a whole, and nor does a prune root with predicates.
    """

    kept: bool = False
    purge: Rule | None = None
    prune: Rule | None = None
    prune_root: Rule | None = None
    purges: tuple[Rule, ...] = ()
    guards: tuple[Rule, ...] = ()

    @property
    def targeted(self) -> bool:
        """Whether an entry without predicates targets the path (so a directory whole)."""
        return self.purge is not None or (self.prune is not None and not self.prune.conditional)

    @property
    def rule(self) -> Rule | None:
        """The rule that targets the path (and gives its mode and reason)."""
        return self.purge or (self.prune if self.targeted else None)

    @property
    def judged(self) -> bool:
        """Whether an entry with predicates may delete files at or inside the path."""
        return bool(self.purges) or (self.prune is not None and self.prune.conditional)

    @property
    def candidates(self) -> tuple[Rule, ...]:
        """The entries that may target a file here, first to last: the purge chain, then the
        prune root unless an entry without predicates targets the path first."""
        purges = self.purges or ((self.purge,) if self.purge is not None else ())
        reaches_prune = self.prune is not None and self.purge is None
        return (*purges, *((self.prune,) if reaches_prune and self.prune else ()))

    @property
    def inert(self) -> bool:
        """Whether no entry keeps, protects, targets or judges a file with this context."""
        return not (self.kept or self.guards or self.purges or self.purge is not None
                    or self.prune is not None)

    @property
    def mode(self) -> Mode:
        rule = self.rule
        return rule.mode if rule is not None and rule.mode is not None else RECYCLE


class _Matcher(Protocol):
    def matching(self, key: str, *, is_dir: bool) -> list[int]: ...


# The keep, purge, judge and guard patterns of a space, as sets or as a directory's place in
# them (`PatternSet.inside`).
_Sets = tuple[_Matcher, _Matcher, _Matcher, _Matcher]


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
        self._keep = [(Pattern.compile(r.pattern), r) for r in (*space.exist, *space.protect)
                      if not r.conditional]
        self._purge = [(Pattern.compile(r.pattern), r) for r in sorted(space.purge,
                                                                       key=lambda r: r.order)
                       if not r.conditional]
        self._guards = [(Pattern.compile(r.pattern), r) for r in space.protect if r.conditional]
        self._judges = [(Pattern.compile(r.pattern), r) for r in space.purge if r.conditional]
        self._prune = {_root_key(r.pattern): r for r in space.prune}
        self._literal_exist = [
            (pattern, rule)
            for pattern, rule in self._keep[: len(space.exist)]
            if pattern.is_literal and pattern.body
        ]
        self._keep_set = PatternSet(pattern for pattern, _ in self._keep)
        self._purge_set = PatternSet(pattern for pattern, _ in self._purge)
        # Entries with predicates take part where a directory's files must be looked at.
        self._judge_set = PatternSet(pattern for pattern, _ in self._judges)
        self._guard_set = PatternSet(pattern for pattern, _ in self._guards)
        deleting = (*self._purge, *self._judges)
        modes = {rule.mode for _, rule in deleting}
        self._purge_by_mode = {
            mode: PatternSet(pattern for pattern, rule in deleting if rule.mode == mode)
            for mode in modes
        }
        self._exist_set = PatternSet(pattern for pattern, _ in self._literal_exist)
        self._sets = (self._keep_set, self._purge_set, self._judge_set, self._guard_set)
        # What a file's path must end with for any entry to see it (None: any file may be).
        ends = [patterns.file_suffixes for patterns in self._sets]
        self._file_ends = (None if any(end is None for end in ends)
                           else tuple(sorted({suffix for end in ends for suffix in end or ()})))
        self._prune_anchors: set[str] = set()
        for root in self._prune:
            segments = root.split("/") if root else []
            self._prune_anchors.update("/".join(segments[:depth])
                                       for depth in range(len(segments) + 1))

    def root_context(self) -> Context:
        return Context(prune_root=self._prune.get(""))

    def context(self, parent: Context, path: str, *, is_dir: bool) -> Context:
        """The context of `path`, a child of a directory whose context is `parent`."""
        return self._context(parent, path, path, self._sets, is_dir=is_dir)

    def _context(self, parent: Context, path: str, key: str, sets: _Sets, *,
                 is_dir: bool, shared: dict[tuple[bool, int], Context] | None = None
                 ) -> Context:
        """The context of `path`, matched as `key` against `sets` (the keep, purge, judge and
        guard patterns: the sets themselves, or where the path's directory left them).
        `shared`: the contexts already made for files of the same directory, by what decides
        them when no entry has predicates (whether they are kept, and their own purge entry,
        by identity: the rules hold it); equal contexts, so one object serves them all."""
        keep, purge, judge, guard = sets
        kept = parent.kept or bool(keep.matching(key, is_dir=is_dir))
        found = purge.matching(key, is_dir=is_dir)
        own = self._purge[found[0]][1] if found else None
        purges, guards = parent.purges, parent.guards
        judged = bool(self._judges or self._guards)
        alike = (kept, id(own))
        if shared is not None and not judged:
            made = shared.get(alike)
            if made is not None:
                return made
        if judged:
            judges = [self._judges[i][1] for i in judge.matching(key, is_dir=is_dir)]
            purges = purge_chain(judges, own, parent.purges, parent.purge)
            guards = (*(self._guards[i][1] for i in guard.matching(key, is_dir=is_dir)),
                      *guards)
        context = Context(
            kept=kept,
            purge=own or parent.purge,
            prune=parent.prune_root or parent.prune,
            prune_root=self._prune.get(normalize(path)) if is_dir else None,
            purges=purges,
            guards=guards,
        )
        if shared is not None and not judged:
            shared[alike] = context
        return context

    def child_contexts(self, directory: str, parent: Context, entries: Sequence[RemoteEntry]
                       ) -> list[tuple[RemoteEntry, Context | None]]:
        """The entries of `directory` (whose context is `parent`) the rules have something to
        say about, each with its context (None for an entry of a type this tool does not
        know).

        A file whose path ends with no file pattern's literal ending is matched by no entry:
        it takes its directory's view as it is, one context they share, and where that view
        neither keeps, protects, targets nor judges a file, the file is left out altogether.
        The others are matched from where the directory left each pattern set's trie, one
        name each.
        """
        unseen = Context(kept=parent.kept, purge=parent.purge,
                         prune=parent.prune_root or parent.prune, purges=parent.purges,
                         guards=parent.guards)
        passed = unseen.inert
        ends = self._file_ends
        within: _Sets | None = None
        prefix = f"{directory}/" if directory else ""
        out: list[tuple[RemoteEntry, Context | None]] = []
        shared: dict[tuple[bool, int], Context] = {}
        for entry in entries:
            kind, path = entry.type, entry.path
            if kind is FILE and ends is not None and not (
                    path if path.isascii() else normalize(path)).endswith(ends):
                if not passed:
                    out.append((entry, unseen))
                continue
            if kind is UNKNOWN:
                out.append((entry, None))
                continue
            is_dir, name = kind is DIR, path[len(prefix):]
            if not path.startswith(prefix) or "/" in name:
                out.append((entry, self.context(parent, path, is_dir=is_dir)))
                continue
            if within is None:
                keep, purge, judge, guard = (patterns.inside(directory) for patterns in self._sets)
                within = (keep, purge, judge, guard)
            out.append((entry, self._context(parent, path, name, within, is_dir=is_dir,
                                             shared=None if is_dir else shared)))
        return out

    def context_of(self, path: str, *, is_dir: bool) -> Context:
        """The context of any path, from the root down through its ancestors (directories)."""
        context = self.root_context()
        segments = path.split("/")
        for depth in range(1, len(segments) + 1):
            last = depth == len(segments)
            context = self.context(context, "/".join(segments[:depth]),
                                   is_dir=is_dir or not last)
        return context

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
            if (context.guards or self._keep_set.could_match_below(directory)
                    or self._guard_set.could_match_below(directory)):
                return True
            mode = context.mode
            if any(rule.mode != mode for rule in context.purges):
                return True  # an entry of another mode judges the files inside
            return any(
                patterns.could_match_below(directory)
                for other, patterns in self._purge_by_mode.items()
                if other != mode
            )
        if context.judged:
            return True
        return (self._purge_set.could_match_below(directory)
                or self._judge_set.could_match_below(directory))

    @property
    def literal_exist(self) -> Sequence[tuple[Pattern, Rule]]:
        return self._literal_exist

    def touches(self, path: str, *, is_dir: bool) -> bool:
        """Whether any entry governs `path` or, for a directory, anything inside it: what
        `coverage` asks of each top-level entry."""
        context = self.context_of(path, is_dir=is_dir)
        if context.kept or context.targeted:
            return True
        return is_dir and (self.anchors_prune(path) or any(
            p.could_match_below(path) for p, _ in (*self._keep, *self._purge)))

    def ruling(self, path: str, *, is_dir: bool) -> Ruling:
        """What the rules alone give `path`, whatever the library holds, and why."""
        context = self.context_of(path, is_dir=is_dir)
        anchors = is_dir and self.anchors_prune(path)
        modes: frozenset[Mode] = frozenset()
        if context.kept:
            standing = Standing.KEPT
        elif is_dir:
            if not context.targeted:
                standing = Standing.JUDGED if context.judged else Standing.UNTARGETED
            elif anchors:
                standing = Standing.PRUNE_ANCHOR
            else:
                standing, modes = Standing.TARGETED, frozenset({context.mode})
        else:
            # Which entry targets a file can hang on its attributes and its siblings: any of
            # its candidates may.
            modes = frozenset(rule.mode or RECYCLE for rule in context.candidates)
            standing = Standing.TARGETED if modes else Standing.UNTARGETED
        return Ruling(context=context, standing=standing, modes=modes, anchors_prune=anchors)

    def weighing(self, path: str, *, is_dir: bool) -> Iterable[tuple[Rule, str]]:
        """Every entry matching `path` or one of its ancestors, with the path it matched, in
        the order the rules weigh them: `exist`/`protect` first (each at its nearest match),
        then the `purge` entries (those matching the path itself in file order, then each
        ancestor's, nearest first), then the prune roots holding it (innermost first)."""
        segments = path.split("/") if path else []
        levels = ["/".join(segments[:depth]) for depth in range(len(segments), 0, -1)]

        def matched(pattern: Pattern, at: str) -> bool:
            return pattern.matches(at, is_dir=is_dir or at != path)

        space = self.space
        for rule in (*space.exist, *space.protect):
            for at in levels:
                if matched(Pattern.compile(rule.pattern), at):
                    yield rule, at
                    break
        purges = sorted(space.purge, key=lambda rule: rule.order)
        for at in levels:
            for rule in purges:
                if matched(Pattern.compile(rule.pattern), at):
                    yield rule, at
        for rule in sorted(space.prune, key=lambda rule: -len(rule.pattern)):
            root = _root_key(rule.pattern)
            if path == root or is_inside(path, root):
                yield rule, root


class Standing(StrEnum):
    """What the rules alone give a path."""

    KEPT = "kept"
    UNTARGETED = "untargeted"
    JUDGED = "judged"
    """A directory only entries with predicates could target: they judge files only."""
    PRUNE_ANCHOR = "prune_anchor"
    TARGETED = "targeted"


_WHY_NOT = {
    Standing.KEPT: "an exist or protect entry keeps it",
    Standing.UNTARGETED: "no purge or prune entry targets it",
    Standing.JUDGED: ("no purge or prune entry without predicates targets it (an entry with "
                      "predicates judges files only)"),
    Standing.PRUNE_ANCHOR: "it is a prune root or holds one",
}


@dataclass(frozen=True, slots=True)
class Ruling:
    """What the rules alone say of one path (`SpaceRules.ruling`).

    `modes` are the modes an entry may delete it in (empty unless it is targeted: for a file,
    its attributes and siblings decide which candidate, if any, does); `anchors_prune` says
    that a directory is a prune root or holds one, so it is never deleted.
    """

    context: Context
    standing: Standing
    modes: frozenset[Mode]
    anchors_prune: bool

    @property
    def why_not_deleted(self) -> str | None:
        """Why no library could get the path deleted from these rules; None if one could."""
        return _WHY_NOT.get(self.standing)


def keeps(context: Context, entry: RemoteEntry, now: float | None) -> bool:
    """Whether the rules keep a listed entry: an entry without predicates keeps it, or it is a
    file a protect entry with predicates keeps."""
    return context.kept or (not entry.is_dir and bool(context.guards)
                            and guarded(context.guards, entry, now) is not None)


def purge_chain(
    own: Sequence[Rule], own_unconditional: Rule | None, parent_chain: tuple[Rule, ...],
    parent_purge: Rule | None,
) -> tuple[Rule, ...]:
    """The purge entries that may target a path, in the order the rules weigh them.

    The entries matching the path itself come first (file order), then its nearest matched
    ancestor's; the chain ends at the first entry without predicates, which always holds.
    Empty when no entry with predicates is involved (then the context's `purge` decides).
    `own` are the entries with predicates that match the path itself.
    """
    if not own:
        return () if own_unconditional is not None else parent_chain
    level = sorted((*own, *([own_unconditional] if own_unconditional else [])),
                   key=lambda rule: rule.order)
    if own_unconditional is not None:
        return tuple(level[: level.index(own_unconditional) + 1])
    inherited = parent_chain or ((parent_purge,) if parent_purge is not None else ())
    return (*level, *(rule for rule in inherited if rule not in level))


def holds(rule: Rule, entry: RemoteEntry, now: float | None) -> bool:
    """Whether a delete entry's predicates hold for a file (an absent attribute: no)."""
    return rule.predicates.holds(entry.fingerprint, now, absent=False)


def guarded(guards: Iterable[Rule], entry: RemoteEntry, now: float | None) -> Rule | None:
    """The first protect entry with predicates that keeps a file (an absent attribute: yes)."""
    for rule in guards:
        if rule.predicates.holds(entry.fingerprint, now, absent=True):
            return rule
    return None


def spared_newest(
    files: Sequence[tuple[RemoteEntry, Sequence[Rule]]], now: float | None
) -> dict[str, frozenset[Rule]]:
    """For the files of one directory (each with the entries that may target it), the
    `keep_newest` entries that spare each file: of the files such an entry would delete, the
    `N` newest by modification time (ties by path) are not targeted by it. A file without a
    modification time is never deleted by a `keep_newest` entry, and does not count."""
    wanted: dict[Rule, list[tuple[float, str]]] = {}
    spared: dict[str, set[Rule]] = {}
    for entry, rules in files:
        for rule in dict.fromkeys(rules):
            if rule.keep_newest is None or not holds(rule, entry, now):
                continue
            modified = parse_time(entry.fingerprint.modification_time)
            if modified is None:
                spared.setdefault(entry.path, set()).add(rule)
            else:
                wanted.setdefault(rule, []).append((modified, entry.path))
    for rule, candidates in wanted.items():
        assert rule.keep_newest is not None
        for _, path in sorted(candidates, reverse=True)[: rule.keep_newest]:
            spared.setdefault(path, set()).add(rule)
    return {path: frozenset(rules) for path, rules in spared.items()}


def targeting(
    rules: Sequence[Rule], entry: RemoteEntry, now: float | None, spared: frozenset[Rule],
) -> Rule | None:
    """The first of `rules` (in precedence order) that targets a file."""
    for rule in rules:
        if rule in spared:
            continue
        if not rule.conditional or holds(rule, entry, now):
            return rule
    return None
