"""Applying a saved plan: a plan file can only narrow what the manifests allow.

A plan file travels (a CI artifact, a file on disk), so apply trusts nothing in it that it can
work out again:

- the manifests it was made from are read again and must be byte for byte what the plan
  recorded (`check_manifests`);
- every change must be one those manifests give: a delete of that path, in that type and
  mode, that no exist or protect entry keeps (`unjustified`), maintenance they declare, a
  directory created only where a space with `create_missing: true` names it as a literal
  `exist` directory, and a recycle-bin item deleted only where `recycle_bin.older_than` is;
- the library is planned again from them, and the saved plan is carried out only as far as
  that fresh plan agrees (`narrow`): an item the fresh plan no longer deletes is withdrawn
  (reported stale), a directory is created only while it is still missing, a bin item is
  deleted only while the bin still holds it and still finds it old enough, each space's
  recycle bin is as found now, and the safety limits and the
  whole-space guard are computed from the items and today's counts, never read from the file;
- the endpoint comes from the manifests, `SMH_ENDPOINT` or `--endpoint`, never from the file;
- with `SMH_PLAN_SIGNING_KEY` set, `plan --out` signs the file (HMAC-SHA256) and apply refuses
  a file whose signature is missing or wrong, so a pipeline can refuse any edit at all.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from reconciler.desired import LibrarySpec, SpaceSpec
from reconciler.errors import ReconcileError
from reconciler.listing import LibraryListing
from reconciler.manifest import InvalidManifests
from reconciler.manifest.load import check_manifests
from reconciler.manifest.resolve import resolve
from reconciler.plan import (
    Change,
    ClearHistory,
    CreateDirectory,
    Delete,
    DeleteRecycled,
    EmptyRecycleBin,
    Plan,
    PlanFile,
    SafetyViolation,
)
from reconciler.planner import check_limits, whole_space_violations, why_not_deleted
from reconciler.rules import SpaceRules

SIGNING_KEY_ENV = "SMH_PLAN_SIGNING_KEY"


def sign(saved: PlanFile, env: Mapping[str, str]) -> PlanFile:
    """`saved` signed with the key in the environment (unchanged when there is none)."""
    key = env.get(SIGNING_KEY_ENV)
    if not key:
        return saved
    return replace(saved, signature=_signature(saved, key))


def _signature(saved: PlanFile, key: str) -> str:
    mac = hmac.new(key.encode("utf-8"), saved.signing_text(), hashlib.sha256)
    return "hmac-sha256:" + mac.hexdigest()


def check_signature(saved: PlanFile, env: Mapping[str, str]) -> None:
    key = env.get(SIGNING_KEY_ENV)
    if not key:
        return
    if saved.signature is None:
        raise ReconcileError(f"refusing to apply: {SIGNING_KEY_ENV} is set and the plan file "
                             "is not signed; save it again with that key set")
    if not hmac.compare_digest(saved.signature, _signature(saved, key)):
        raise ReconcileError("refusing to apply: the plan file's signature does not match: it "
                             "was edited after it was saved, or signed with another key")


def check_manifests_unchanged(saved: PlanFile, paths: Sequence[str] | None, *,
                              base: Path = Path()) -> LibrarySpec:
    """The library spec of the manifests the plan was made from, read again.

    They are read from `paths` (`--manifests`) or else from where the plan recorded them,
    relative to `base` (the working directory), and must hold exactly the files the plan
    recorded, with the same bytes.
    """
    recorded = dict(saved.manifest_digests)
    if not recorded:
        raise ReconcileError("refusing to apply: the plan file records no manifest digests "
                             "(it was made by an older version, or edited); plan again")
    sources = list(paths) if paths else sorted(recorded)
    missing = [path for path in sources if not (base / path).exists()]
    if missing:
        raise ReconcileError(
            f"refusing to apply: the manifests the plan was made from are not here "
            f"({', '.join(missing)}); run apply where the plan ran, or pass them with "
            "--manifests PATH")
    checked = check_manifests(sources, base=base)
    if checked.problems:
        raise InvalidManifests(checked.problems)
    state = resolve(checked.documents)
    specs = [spec for spec in state.libraries if spec.library == saved.plan.library]
    if not specs:
        raise ReconcileError(f"refusing to apply: the manifests do not describe library "
                             f"{saved.plan.library}, which the plan is for")
    spec = specs[0]
    found = {path: state.file_digests[path] for path in spec.sources}
    changed = sorted(path for path in set(found) | set(recorded)
                     if found.get(path) != recorded.get(path))
    if changed:
        raise ReconcileError(
            "refusing to apply: the manifests differ from those the plan was made from ("
            + ", ".join(f"{path}: {_difference(found.get(path), recorded.get(path))}"
                        for path in changed)
            + "); plan again")
    planned = {report.space for report in saved.plan.spaces}
    unknown = planned - {space.id for space in spec.spaces}
    if unknown:
        raise ReconcileError(f"refusing to apply: the plan names spaces the manifests do not "
                             f"({', '.join(sorted(unknown))})")
    return replace(spec, spaces=tuple(s for s in spec.spaces if s.id in planned))


def _difference(found: str | None, recorded: str | None) -> str:
    if found is None:
        return "not among them now"
    if recorded is None:
        return "not recorded in the plan"
    return "changed"


def unjustified(spec: LibrarySpec, plan: Plan, fresh: Plan | None = None) -> list[str]:
    """Every change of `plan` the manifests of `spec` could never give, one line each.

    `fresh`, a plan of `spec` made now, gives a delete it holds (that path, type and mode)
    at once: the manifests gave it to this library. The rules alone are asked of the rest.
    """
    rules = {space.id: SpaceRules(space) for space in spec.spaces}
    specs = {space.id: space for space in spec.spaces}
    given = set() if fresh is None else {
        (d.space, d.path, d.type, d.mode) for d in fresh.deletes if d.space in rules}
    problems: list[str] = []
    for change in plan.changes:
        if isinstance(change, Delete):
            if (change.space, change.path, change.type, change.mode) in given:
                continue
            space_rules = rules.get(change.space)
            why = ("its space is not in the manifests" if space_rules is None
                   else why_not_deleted(space_rules, change))
            if why is not None:
                problems.append(f"delete {change.path} ({change.type.value}, {change.mode.value})"
                                f" in space {change.space}: {why}")
        elif isinstance(change, EmptyRecycleBin):
            space = specs.get(change.space)
            if space is None or not space.empty_recycle_bin:
                problems.append(f"empty the recycle bin of space {change.space}: the manifests "
                                "do not declare recycle_bin.empty there")
        elif isinstance(change, ClearHistory) and not spec.clear_history:
            problems.append("clear history: the manifests do not declare history.clear")
        elif isinstance(change, CreateDirectory):
            space = specs.get(change.space)
            if space is None or not _creatable(space, change.path):
                problems.append(f"create directory {change.path} in space {change.space}: the "
                                "manifests do not give it as a literal exist directory of a "
                                "space with create_missing: true")
        elif isinstance(change, DeleteRecycled):
            space = specs.get(change.space)
            if space is None or space.recycle_older_than is None:
                problems.append(f"delete recycle-bin item {change.recycled_item_id} "
                                f"({change.original_path}) in space {change.space}: the "
                                "manifests do not declare recycle_bin.older_than there")
    return problems


def _creatable(space: SpaceSpec, path: str) -> bool:
    """Whether `path` is a literal `exist` directory of a space that creates missing ones."""
    return space.create_missing and any(
        pattern.dir_only and pattern.body == path
        for pattern, _ in SpaceRules(space).literal_exist)


def narrow(saved: Plan, fresh: Plan, listing: LibraryListing, spec: LibrarySpec) -> Plan:
    """The saved plan as far as the fresh plan (the same manifests, planned now) agrees.

    Each saved delete takes the fresh plan's counts and recycle-bin state; one the fresh plan
    does not delete in the same way is withdrawn. The fresh plan's listing errors, its
    history setting and today's safety limits over the remaining items replace the file's.
    """
    fresh_deletes = {(d.space, d.path): d for d in fresh.deletes}
    fresh_created = {(c.space, c.path) for c in fresh.created}
    fresh_bin = {(b.space, b.recycled_item_id): b for b in fresh.bin_deletes}
    changes: list[Change] = []
    for change in saved.changes:
        if isinstance(change, CreateDirectory):
            # Created only while still absent and still given: else there is nothing to do.
            if (change.space, change.path) in fresh_created:
                changes.append(change)
            continue
        if isinstance(change, DeleteRecycled):
            # Only an item the bin still holds, at the same original path, still old enough.
            now_item = fresh_bin.get((change.space, change.recycled_item_id))
            if now_item is not None and now_item.original_path == change.original_path:
                changes.append(now_item)
            else:
                changes.append(replace(change, withdrawn=(
                    "the recycle bin no longer holds it as planned (gone, or not the item the "
                    "plan saw): it is not deleted")))
            continue
        if isinstance(change, Delete):
            now = fresh_deletes.get((change.space, change.path))
            if now is None or now.type is not change.type:
                changes.append(replace(change, withdrawn=(
                    "the manifests no longer delete it as planned: the library changed "
                    "since the plan was made")))
            else:
                changes.append(_as_now(change, now))
        elif isinstance(change, ClearHistory):
            if fresh.clear_history is not None:  # None: no earlier versions left to clear
                changes.append(fresh.clear_history)
        else:
            listed = listing.spaces.get(change.space)
            if listed is None or listed.recycle_bin_enabled:
                changes.append(change)
    live = [c for c in changes if isinstance(c, Delete) and c.withdrawn is None]
    bin_deletes = [c for c in changes if isinstance(c, DeleteRecycled) and c.withdrawn is None]
    safety: list[SafetyViolation] = [*check_limits(spec, live, fresh.spaces,
                                                   bin_deletes=bin_deletes),
                                     *whole_space_violations(spec, live, listing)]
    return replace(saved, changes=tuple(changes), safety=tuple(safety), spaces=fresh.spaces)


def _as_now(saved: Delete, now: Delete) -> Delete:
    """The saved delete with the fresh plan's counts and bin state (itself when it has them)."""
    if (saved.effective_mode, saved.files, saved.bytes, saved.counted) == (
            now.effective_mode, now.files, now.bytes, now.counted):
        return saved
    return replace(saved, effective_mode=now.effective_mode, files=now.files, bytes=now.bytes,
                   counted=now.counted)
