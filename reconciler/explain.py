"""`explain`: why each remote path is deleted, kept or left alone.

Built on the planner itself: the verdict comes from the plan `make_plan` made of the listing
(the delete items, the missing paths) and from the rule engine's own ruling of the path
(`SpaceRules.ruling`), and the entries shown are every manifest entry whose pattern matches the
path or one of its ancestors, in the order the rules weigh them (`SpaceRules.weighing`):
`exist`/`protect` first (they always win), then the `purge` entries (those matching the path
itself in file order, then each ancestor's, nearest first), then the prune roots holding it
(innermost first). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.desired import LibrarySpec, Mode, Rule, RuleKind, SpaceSpec
from reconciler.listing import EntryType, LibraryListing, RemoteEntry, SpaceListing
from reconciler.matching import is_inside, normalize, parent_of
from reconciler.plan import Delete, Plan
from reconciler.predicates import parse_time
from reconciler.rules import SpaceRules, Standing, guarded, holds, keeps


class Verdict(StrEnum):
    DELETE = "delete"
    KEPT = "kept"
    UNTOUCHED = "untouched"
    MISSING = "missing"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Match:
    """One manifest entry that matched the path or an ancestor."""

    rule: Rule
    matched: str
    """The path it matched: the explained path itself, or an ancestor directory."""
    note: str | None = None
    """For an entry with predicates judging a file: whether they hold for it."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.rule.kind.value,
            "entry": self.rule.describe(),
            "location": self.rule.location.short(),
            "matched": self.matched,
        }
        if self.note is not None:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class Explanation:
    space: str
    path: str
    verdict: Verdict
    type: EntryType | None
    matches: tuple[Match, ...]
    mode: Mode | None = None
    item: Delete | None = None
    """The delete item the path goes with (itself, or the deleted directory holding it)."""
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "space": self.space,
            "path": self.path,
            "type": self.type.value if self.type is not None else None,
            "verdict": self.verdict.value,
            "entries": [match.to_json() for match in self.matches],
        }
        if self.mode is not None:
            data["mode"] = self.mode.value
        if self.item is not None:
            data["item"] = {"path": self.item.path, "type": self.item.type.value,
                            "mode": self.item.mode.value, "reason": self.item.reason}
        if self.note is not None:
            data["note"] = self.note
        return data


def explain(
    spec: LibrarySpec, listing: LibraryListing, plan: Plan, paths: Sequence[str],
    found: Mapping[tuple[str, str], RemoteEntry | None] | None = None,
) -> list[Explanation]:
    """An explanation of each of `paths` in each space of `spec`.

    `found` holds what the server said of paths the listing did not reach (None: absent);
    without it such a path is explained by the rules alone, its existence unknown."""
    out = []
    for space in spec.spaces:
        space_listing = listing.spaces.get(space.id) or SpaceListing(space=space.id)
        rules = SpaceRules(space)
        for raw in paths:
            path = raw.strip("/")
            out.append(_explain(space, rules, space_listing, plan, path,
                                listing.listed_at, found or {}))
    return out


def _lookup(listing: SpaceListing, path: str) -> tuple[RemoteEntry | None, bool]:
    """The listed entry at `path`, and whether its parent was listed (so absence is known)."""
    parent = parent_of(path)
    entries = listing.children.get(parent)
    if entries is None:
        return None, False
    key = normalize(path)
    for entry in entries:
        if normalize(entry.path) == key:
            return entry, True
    return None, True


def _explain(
    space: SpaceSpec, rules: SpaceRules, listing: SpaceListing, plan: Plan, path: str,
    listed_at: str | None, found: Mapping[tuple[str, str], RemoteEntry | None],
) -> Explanation:
    entry, known = _lookup(listing, path) if path else (None, False)
    note = None
    if entry is None and (space.id, path) in found:
        entry, known = found[(space.id, path)], True
    elif entry is None and not known:
        note = ("the plan did not need to list the directory holding it, so whether it "
                "exists was not looked up")
    is_dir = entry.is_dir if entry is not None else False
    now = parse_time(listed_at)
    matches = tuple(_matches(rules, path, is_dir, entry, now))
    kind = entry.type if entry is not None else None

    def verdict(what: Verdict, **extra: Any) -> Explanation:
        return Explanation(space.id, path, what, kind, matches, note=extra.pop("note", note),
                           **extra)

    if listing.errors:
        note = ("the space's listing had errors, so the plan deletes nothing in it: "
                + "; ".join(listing.errors))
    item = _item(plan, space.id, path)
    if item is not None and (entry is not None or not known):
        return verdict(Verdict.DELETE, mode=item.mode, item=item)
    if any(m.space == space.id and m.path == path for m in plan.missing):
        return verdict(Verdict.MISSING, note="a literal exist path that is absent")
    if entry is None and known:
        return verdict(Verdict.ABSENT)
    ruling = rules.ruling(path, is_dir=is_dir)
    if ruling.standing is Standing.KEPT or (entry is not None
                                            and keeps(ruling.context, entry, now)):
        return verdict(Verdict.KEPT)
    if is_dir and _holds_kept(rules, listing, path, now):
        return verdict(Verdict.KEPT, note="it holds kept paths, and a directory holding a kept "
                                          "path is kept")
    if ruling.anchors_prune:
        return verdict(Verdict.UNTOUCHED,
                       note="a prune root, or a directory holding one, is never deleted")
    return verdict(Verdict.UNTOUCHED)


def _item(plan: Plan, space: str, path: str) -> Delete | None:
    """The innermost delete item at or above `path`."""
    best: Delete | None = None
    for delete in plan.deletes:
        if delete.space != space or delete.withdrawn is not None:
            continue
        if (delete.path == path or is_inside(path, delete.path)) and (
                best is None or len(delete.path) > len(best.path)):
            best = delete
    return best


def _holds_kept(rules: SpaceRules, listing: SpaceListing, directory: str,
                now: float | None) -> bool:
    """Whether the listing shows a kept path inside `directory` (as the planner keeps it)."""
    for parent, entries in listing.children.items():
        if parent != directory and not is_inside(parent, directory):
            continue
        for entry in entries:
            if entry.type is EntryType.UNKNOWN:
                return True
            if keeps(rules.context_of(entry.path, is_dir=entry.is_dir), entry, now):
                return True
    return False


def _matches(rules: SpaceRules, path: str, is_dir: bool, entry: RemoteEntry | None,
             now: float | None) -> Iterable[Match]:
    def judged(rule: Rule) -> str | None:
        if not rule.conditional:
            return None
        if entry is None or entry.is_dir:
            return "it has predicates, so it judges files only"
        if rule.kind is RuleKind.PROTECT:
            return ("its predicates hold (or an attribute is unknown)"
                    if guarded((rule,), entry, now) is not None else "its predicates do not hold")
        parts = []
        if rule.predicates:
            parts.append("its predicates hold" if holds(rule, entry, now)
                         else "its predicates do not hold (or an attribute is unknown)")
        if rule.keep_newest is not None:
            parts.append(f"it keeps the newest {rule.keep_newest} files of each directory")
        return "; ".join(parts)

    for rule, at in rules.weighing(path, is_dir=is_dir):
        if rule.kind is RuleKind.PRUNE and at == path:
            yield Match(rule, at, "a prune root is never deleted itself")
        else:
            yield Match(rule, at, judged(rule))


def to_json(library: str, listed_at: str | None,
            explanations: Sequence[Explanation]) -> str:
    data = {"library": library, "listed_at": listed_at,
            "paths": [explanation.to_json() for explanation in explanations]}
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_text(explanations: Sequence[Explanation], *, spaces: int) -> str:
    lines: list[str] = []
    for explanation in explanations:
        where = explanation.path or "(space root)"
        if spaces > 1 or explanation.space != "-":
            where = f"{explanation.space}:{where}"
        head = f"{where}: {explanation.verdict.value}"
        if explanation.verdict is Verdict.DELETE and explanation.item is not None:
            item = explanation.item
            head += f" ({explanation.mode.value if explanation.mode else item.mode.value})"
            head += (", as its own item" if item.path == explanation.path
                     else f", with the directory {item.path}/ (one item, {item.mode.value})")
        lines.append(head)
        if explanation.note:
            lines.append(f"  {explanation.note}")
        if not explanation.matches:
            lines.append("  no manifest entry matches it or any directory holding it")
        for number, match in enumerate(explanation.matches, start=1):
            at = ("it" if match.matched == explanation.path else
                  f"{match.matched}/" if match.matched else "the space root")
            line = f"  {number}. {match.rule.describe()} matches {at}"
            if match.note:
                line += f"; {match.note}"
            lines.append(line)
    return "\n".join(lines) + "\n"
