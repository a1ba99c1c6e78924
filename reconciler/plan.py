"""The plan as a value: immutable changes with a sort key, and its JSON form.

A plan is what `plan` prints and what `apply` carries out. It holds every change, the
drift apply cannot fix (`missing`), the listing errors that withheld deletes, the safety
limits it breaches, what it left alone for its reviewer to look at (`warnings`), and
per-space facts the renderers and apply need. The same plan always
serialises to the same bytes: changes are sorted, JSON keys are sorted.

A plan file is the same JSON plus, for each delete, the remote fingerprint apply re-checks,
and a header: where the library is, and a digest of the manifests it was made from.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum
from typing import Any, Final, TypeVar

import msgspec

from reconciler import wirejson
from reconciler.desired import PERMANENT, RECYCLE, Mode
from reconciler.errors import ReconcileError
from reconciler.listing import DIR, FILE, UNKNOWN, Contents, Counted, EntryType, Fingerprint, Stats
from reconciler.slots import new, slot_setter

FORMAT_VERSION = 1
PLAN_FILE_KIND = "smh-reconcile-plan"


class Action(StrEnum):
    DELETE = "delete"
    EMPTY_RECYCLE_BIN = "empty_recycle_bin"
    CLEAR_HISTORY = "clear_history"
    CREATE_DIRECTORY = "create_directory"
    DELETE_RECYCLED = "delete_recycled"


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete one item (a file, or a whole directory as one item) in one mode."""

    space: str
    path: str
    type: EntryType
    mode: Mode
    reason: str
    fingerprint: Fingerprint = field(default_factory=Fingerprint)
    effective_mode: Mode | None = None
    files: int = 0
    bytes: int | None = None
    """What the item removes: a file counts 1 and its size (None when the server gave none); a
    directory what it holds, recursively, less its inner items deleted on their own."""
    counted: Counted = Counted.STATS
    withdrawn: str | None = None
    """Set by apply on an item of a plan file that the manifests no longer delete as planned
    (the library changed since): why. It is reported stale and never sent."""

    action = Action.DELETE

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (0, self.space, 0, self.path)

    @property
    def final_mode(self) -> Mode:
        """The mode the server will actually apply (permanent where the space has no bin)."""
        return self.effective_mode or self.mode

    def to_json(self, *, fingerprints: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {  # `_value_`, not `value`: a plain attribute, read per item
            "action": self.action._value_,
            "space": self.space,
            "path": self.path,
            "type": self.type._value_,
            "mode": self.mode._value_,
            "reason": self.reason,
            "files": self.files,
            "bytes": self.bytes,
        }
        if self.type is DIR and self.counted is Counted.LISTING:
            data["counted"] = self.counted.value
        if self.effective_mode is not None and self.effective_mode != self.mode:
            data["effective_mode"] = self.effective_mode.value
        if fingerprints:
            data["fingerprint"] = self.fingerprint.to_json()
            if self.withdrawn is not None:
                data["withdrawn"] = self.withdrawn
        return data


@dataclass(frozen=True, slots=True)
class EmptyRecycleBin:
    """Empty one space's recycle bin, after that space's deletes."""

    space: str
    items: int
    reason: str

    action = Action.EMPTY_RECYCLE_BIN

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (0, self.space, 1, "")

    def to_json(self, *, fingerprints: bool = False) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "space": self.space,
            "items": self.items,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ClearHistory:
    """Clear every earlier file version of the library; last of all changes."""

    reason: str
    blocked: bool = False
    versions: int | None = None
    """The earlier versions the library keeps; None when they could not be counted."""

    action = Action.CLEAR_HISTORY

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (1, "", 0, "")

    def to_json(self, *, fingerprints: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action.value, "blocked": self.blocked,
                                "reason": self.reason}
        if self.versions is not None:
            data["versions"] = self.versions
        return data


@dataclass(frozen=True, slots=True)
class CreateDirectory:
    """Create an absent literal `exist` directory (`create_missing: true`), before that space's
    deletes. SMH creates missing parents itself."""

    space: str
    path: str
    reason: str

    action = Action.CREATE_DIRECTORY

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (0, self.space, 0, self.path)

    def to_json(self, *, fingerprints: bool = False) -> dict[str, Any]:
        return {"action": self.action.value, "space": self.space, "path": self.path,
                "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DeleteRecycled:
    """Delete one recycle-bin item for good (`recycle_bin.older_than`), after that space's
    deletes. `bytes` is the bin row's size, None when it has none."""

    space: str
    recycled_item_id: int
    original_path: str
    type: EntryType
    removal_time: str
    bytes: int | None
    reason: str
    age: str = ""
    """How long ago it was removed, when the plan was made (`400d`), for the renders."""
    withdrawn: str | None = None
    """Set by apply on an item of a plan file that the bin no longer holds as planned: why.
    It is reported stale and never sent."""

    action = Action.DELETE_RECYCLED

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (0, self.space, 1, f"{self.original_path}\0{self.recycled_item_id:020d}")

    def to_json(self, *, fingerprints: bool = False) -> dict[str, Any]:
        return {"action": self.action.value, "space": self.space,
                "recycled_item_id": self.recycled_item_id, "original_path": self.original_path,
                "type": self.type.value, "removal_time": self.removal_time, "bytes": self.bytes,
                "age": self.age, "reason": self.reason,
                **({"withdrawn": self.withdrawn}
                   if fingerprints and self.withdrawn is not None else {})}


Change = Delete | EmptyRecycleBin | ClearHistory | CreateDirectory | DeleteRecycled
SpaceChange = Delete | EmptyRecycleBin | CreateDirectory | DeleteRecycled
"""A change of one space: any but the history clear, which is the library's."""


@dataclass(frozen=True, slots=True)
class Missing:
    """A literal `exist` path that is absent: drift apply cannot fix."""

    space: str
    path: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"space": self.space, "path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """Something the listing showed that the plan leaves alone and its reviewer should know:
    an entry of a type the tool does not know, kept with every directory that holds it."""

    space: str
    path: str
    message: str

    def describe(self) -> str:
        where = self.path if self.space == "-" else f"{self.space}:{self.path}"
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"space": self.space, "path": self.path, "message": self.message}


@dataclass(frozen=True, slots=True)
class SafetyViolation:
    """A safety limit the plan breaches; apply refuses it unless forced."""

    limit: str
    message: str
    space: str | None = None
    forceable: bool = True
    """False for the whole-space guard, which `--force` does not pass."""

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "message": self.message, "space": self.space,
                "forceable": self.forceable}


@dataclass(frozen=True, slots=True)
class SpaceReport:
    """What the plan saw of one space."""

    space: str
    listed: int
    removed: int
    recycle_bin: bool
    errors: tuple[str, ...] = ()
    user_id: str | None = None
    files: int = 0
    """The files the space holds outside its bin and history (the percent limit's base)."""
    files_estimated: bool = False
    """True when the server gave no count and `files` is what the listing and stats showed:
    a lower bound, which can only make the percent limit stricter."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "space": self.space,
            "listed": self.listed,
            "removed": self.removed,
            "files": self.files,
            "recycle_bin": "enabled" if self.recycle_bin else "disabled",
            "errors": list(self.errors),
        }
        if self.files_estimated:
            data["files_estimated"] = True
        if self.user_id is not None:
            data["user_id"] = self.user_id
        return data


@dataclass(frozen=True, slots=True)
class SpaceChanges:
    """One space's part of a plan, in the plan's order: its changes (all but the history clear,
    which is the library's), its deletes and what it misses."""

    changes: tuple[SpaceChange, ...] = ()
    deletes: tuple[Delete, ...] = ()
    missing: tuple[Missing, ...] = ()


_NO_CHANGES: Final = SpaceChanges()


@dataclass(frozen=True, slots=True)
class Plan:
    library: str
    changes: tuple[Change, ...]
    missing: tuple[Missing, ...] = ()
    safety: tuple[SafetyViolation, ...] = ()
    spaces: tuple[SpaceReport, ...] = ()
    listed_at: str | None = None
    warnings: tuple[PlanWarning, ...] = ()
    # The changes by kind, found once: apply, the renders and the summary ask many times.
    _deletes: tuple[Delete, ...] = field(init=False, repr=False, compare=False)
    _created: tuple[CreateDirectory, ...] = field(init=False, repr=False, compare=False)
    _bin_deletes: tuple[DeleteRecycled, ...] = field(init=False, repr=False, compare=False)
    _clear_history: ClearHistory | None = field(init=False, repr=False, compare=False)
    # Each space's part, found when first asked for: what is shown and applied space by space
    # then costs each space its own changes, not a pass over the whole plan.
    _by_space: dict[str, SpaceChanges] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        changes = tuple(sorted(self.changes, key=_sort_key))
        object.__setattr__(self, "changes", changes)
        kinds = (Delete, CreateDirectory, DeleteRecycled)
        by_kind: dict[type, list[Change]] = {kind: [] for kind in (*kinds, ClearHistory)}
        for change in changes:
            by_kind.setdefault(type(change), []).append(change)
        for name, kind in zip(("_deletes", "_created", "_bin_deletes"), kinds, strict=True):
            object.__setattr__(self, name, tuple(by_kind[kind]))
        clears = by_kind[ClearHistory]
        object.__setattr__(self, "_clear_history", clears[0] if clears else None)
        object.__setattr__(self, "_by_space", None)
        object.__setattr__(
            self, "missing", tuple(sorted(self.missing, key=lambda m: (m.space, m.path)))
        )
        object.__setattr__(
            self, "warnings", tuple(sorted(self.warnings, key=lambda w: (w.space, w.path)))
        )
        object.__setattr__(self, "spaces", tuple(sorted(self.spaces, key=lambda s: s.space)))

    # -- questions apply and the command line ask -------------------------------------------

    @property
    def deletes(self) -> tuple[Delete, ...]:
        return self._deletes

    def of_space(self, space: str) -> SpaceChanges:
        """The changes, deletes and missing paths of one space."""
        by_space = self._by_space
        if by_space is None:
            changes: dict[str, list[SpaceChange]] = {}
            deletes: dict[str, list[Delete]] = {}
            missing: dict[str, list[Missing]] = {}
            for change in self.changes:
                if isinstance(change, ClearHistory):
                    continue
                changes.setdefault(change.space, []).append(change)
                if isinstance(change, Delete):
                    deletes.setdefault(change.space, []).append(change)
            for entry in self.missing:
                missing.setdefault(entry.space, []).append(entry)
            by_space = {name: SpaceChanges(tuple(changes.get(name, ())),
                                           tuple(deletes.get(name, ())),
                                           tuple(missing.get(name, ())))
                        for name in changes.keys() | missing.keys()}
            object.__setattr__(self, "_by_space", by_space)
        return by_space.get(space, _NO_CHANGES)

    @property
    def created(self) -> tuple[CreateDirectory, ...]:
        return self._created

    @property
    def bin_deletes(self) -> tuple[DeleteRecycled, ...]:
        return self._bin_deletes

    @property
    def errors(self) -> tuple[tuple[str, str], ...]:
        return tuple((report.space, error) for report in self.spaces for error in report.errors)

    @property
    def clear_history(self) -> ClearHistory | None:
        return self._clear_history

    def has_changes(self) -> bool:
        """Whether applying would change the library. A history clear counts when the plan
        counted earlier versions to clear; one that runs only because they could not be
        counted does not (it is on every plan that declares it)."""
        return any(not isinstance(change, ClearHistory) or change.versions is not None
                   for change in self.changes)

    def is_drifted(self) -> bool:
        """What `--detailed-exitcode` reports as 2: changes or missing paths."""
        return self.has_changes() or bool(self.missing)

    def recycles_without_bin(self) -> tuple[Delete, ...]:
        return tuple(
            delete
            for delete in self.deletes
            if delete.mode is RECYCLE and delete.final_mode is PERMANENT
        )

    def refusals(self, *, force: bool) -> list[str]:
        """Why apply must not start, one line each; empty when it may."""
        reasons: list[str] = []
        if self.errors:
            spaces = sorted({space for space, _ in self.errors})
            reasons.append(
                "listing failed in space(s) " + ", ".join(spaces) + ": plan again before applying"
            )
        clear = self.clear_history
        if clear is not None and clear.blocked:
            reasons.append(f"history clear is blocked: {clear.reason}")
        reasons.extend(f"whole-space guard: {violation.message}"
                       for violation in self.safety if not violation.forceable)
        if not force:
            reasons.extend(f"safety limit: {violation.message}"
                           for violation in self.safety if violation.forceable)
            without_bin = self.recycles_without_bin()
            if without_bin:
                reasons.append(
                    f"{len(without_bin)} recycle delete(s) would be permanent because the space "
                    "has no recycle bin"
                )
            if reasons and (any(v.forceable for v in self.safety) or without_bin):
                reasons[-1] += " (use --force to apply anyway)"
        return reasons

    def summary(self) -> dict[str, int]:
        deletes = self.deletes
        return {
            "delete": len(deletes),
            "files": sum(d.files for d in deletes),
            "bytes": sum(d.bytes or 0 for d in deletes),
            "recycle": sum(1 for d in deletes if d.mode is RECYCLE),
            "permanent": sum(1 for d in deletes if d.mode is PERMANENT),
            "effective_permanent": sum(1 for d in deletes if d.final_mode is PERMANENT),
            "empty_recycle_bin": sum(
                1 for change in self.changes if isinstance(change, EmptyRecycleBin)
            ),
            "clear_history": 1 if self.clear_history is not None else 0,
            "create_directory": len(self.created),
            "delete_recycled": len(self.bin_deletes),
            "missing": len(self.missing),
            "errors": len(self.errors),
        }

    def select_spaces(self, spaces: Iterable[str]) -> Plan:
        wanted = set(spaces)
        return replace(
            self,
            changes=tuple(
                c for c in self.changes if isinstance(c, ClearHistory) or c.space in wanted
            ),
            missing=tuple(m for m in self.missing if m.space in wanted),
            warnings=tuple(w for w in self.warnings if w.space in wanted),
            safety=tuple(s for s in self.safety if s.space is None or s.space in wanted),
            spaces=tuple(s for s in self.spaces if s.space in wanted),
        )

    def user_id(self, space: str) -> str | None:
        for report in self.spaces:
            if report.space == space:
                return report.user_id
        return None

    # -- JSON --------------------------------------------------------------------------------

    def to_json(self, *, fingerprints: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "library": self.library,
            "changes": [change.to_json(fingerprints=fingerprints) for change in self.changes],
            "missing": [missing.to_json() for missing in self.missing],
            "safety": [violation.to_json() for violation in self.safety],
            "spaces": [report.to_json() for report in self.spaces],
            "summary": self.summary(),
        }
        if self.listed_at is not None:
            data["listed_at"] = self.listed_at
        if self.warnings:
            data["warnings"] = [warning.to_json() for warning in self.warnings]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        try:
            plan = cls(
                library=str(data["library"]),
                changes=tuple(_change_from_json(change) for change in data["changes"]),
                missing=tuple(
                    Missing(space=m["space"], path=m["path"], reason=m.get("reason", ""))
                    for m in data.get("missing", ())
                ),
                safety=tuple(
                    SafetyViolation(limit=s["limit"], message=s["message"], space=s.get("space"),
                                    forceable=bool(s.get("forceable", True)))
                    for s in data.get("safety", ())
                ),
                spaces=tuple(
                    SpaceReport(
                        space=s["space"],
                        listed=int(s["listed"]),
                        removed=int(s["removed"]),
                        recycle_bin=s["recycle_bin"] == "enabled",
                        errors=tuple(s.get("errors", ())),
                        user_id=s.get("user_id"),
                        files=int(s.get("files", 0)),
                        files_estimated=bool(s.get("files_estimated", False)),
                    )
                    for s in data.get("spaces", ())
                ),
                listed_at=data.get("listed_at"),
                warnings=tuple(
                    PlanWarning(space=w["space"], path=w["path"], message=w["message"])
                    for w in data.get("warnings", ())
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ReconcileError(f"not a valid plan: {error!r}") from None
        seen: set[tuple[str, str]] = set()
        for delete in plan.deletes:
            if (delete.space, delete.path) in seen:
                raise ReconcileError(
                    f"not a valid plan: {delete.path!r} in space {delete.space} is planned twice"
                )
            seen.add((delete.space, delete.path))
        return plan


def _sort_key(change: Change) -> tuple[int, str, int, str]:
    return change.sort_key


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} {value!r} is not a non-empty string")
    return value


_E = TypeVar("_E", bound=Enum)


@functools.cache
def _members(kind: type[_E]) -> dict[object, _E]:
    return {member.value: member for member in kind}


def _member(kind: type[_E], value: object) -> _E:
    """`kind(value)`, found by value first (a plan file holds millions; the enum's own call
    is slow), and failing exactly as that call does."""
    try:
        member: _E = _members(kind)[value]
    except (KeyError, TypeError):
        member = kind(value)
    return member


class _FingerprintRow(msgspec.Struct, gc=False):
    """A delete's `fingerprint` in the types a plan file writes."""

    etag: str | None = None
    modification_time: str | None = None
    size: str | None = None
    crc64: str | None = None
    contents: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None


class _DeleteRow(msgspec.Struct, gc=False):
    """A delete change in the types a plan file writes (its `action` read already)."""

    space: str
    path: str
    type: EntryType
    mode: Mode
    fingerprint: _FingerprintRow
    reason: str = ""
    effective_mode: Mode | None = None
    files: int = 0
    bytes: int | None = None
    counted: Counted = Counted.STATS
    withdrawn: str | None = None


_SET_DELETE: Final = tuple(slot_setter(Delete, name) for name in (
    "space", "path", "type", "mode", "reason", "fingerprint", "effective_mode", "files",
    "bytes", "counted", "withdrawn"))
_SET_FINGERPRINT: Final = tuple(slot_setter(Fingerprint, name) for name in (
    "etag", "modification_time", "size", "crc64", "contents", "stats"))


def make_delete(space: str, path: str, type: EntryType, mode: Mode, reason: str,
                fingerprint: Fingerprint, effective_mode: Mode | None = None, files: int = 0,
                bytes: int | None = None, counted: Counted = Counted.STATS,
                withdrawn: str | None = None) -> Delete:
    """`Delete(...)` of these fields, made by setting its slots (`reconciler.slots`), in half
    the time: a plan, or a plan file, of a large purge has a delete per file."""
    (set_space, set_path, set_type, set_mode, set_reason, set_fingerprint, set_effective,
     set_files, set_bytes, set_counted, set_withdrawn) = _SET_DELETE
    delete = new(Delete)
    set_space(delete, space)
    set_path(delete, path)
    set_type(delete, type)
    set_mode(delete, mode)
    set_reason(delete, reason)
    set_fingerprint(delete, fingerprint)
    set_effective(delete, effective_mode)
    set_files(delete, files)
    set_bytes(delete, bytes)
    set_counted(delete, counted)
    set_withdrawn(delete, withdrawn)
    return delete


def _delete_of(data: object) -> Delete | None:
    """The delete a plan file's change says, read at C speed (`msgspec.convert` checks every
    field's type) when each field has the type the plan file writes and the delete is one
    `_change_from_json` takes; None for any other, which `_change_from_json` then reads (or
    refuses, saying why) field by field. A plan file holds a change per item: millions."""
    try:
        row = msgspec.convert(data, _DeleteRow)
    except msgspec.ValidationError:
        return None
    path = row.path
    if (not row.space or not path or path[0] == "/" or path[-1] == "/"
            or row.type is UNKNOWN):
        return None
    said = row.fingerprint
    contents, stats = said.contents, said.stats
    set_etag, set_time, set_size, set_crc64, set_contents, set_stats = _SET_FINGERPRINT
    fingerprint = new(Fingerprint)
    set_etag(fingerprint, said.etag)
    set_time(fingerprint, said.modification_time)
    set_size(fingerprint, said.size)
    set_crc64(fingerprint, said.crc64)
    set_contents(fingerprint, None if contents is None else Contents.from_json(contents))
    set_stats(fingerprint, None if stats is None else Stats.from_json(stats))
    return make_delete(row.space, path, row.type, row.mode, row.reason, fingerprint,
                       row.effective_mode, row.files, row.bytes, row.counted, row.withdrawn)


def _change_from_json(data: Mapping[str, Any]) -> Change:
    """A plan file's change: a delete as `_delete_of` reads it, any other as `_read_change`."""
    if type(data) is dict and data.get("action") == "delete":
        read = _delete_of(data)
        if read is not None:
            return read
    return _read_change(data)


def _read_change(data: Mapping[str, Any]) -> Change:
    """A plan file's change, read field by field; a `ValueError`, `KeyError` or `TypeError`
    for one this version does not take."""
    action = _member(Action, data["action"])
    if action is Action.DELETE:
        effective = data.get("effective_mode")
        kind = _member(EntryType, data["type"])
        if kind not in (FILE, DIR):
            raise ValueError(f"type {kind.value!r} is never deleted")
        path = _text(data, "path")
        if path.startswith("/") or path.endswith("/"):
            raise ValueError(f"path {path!r} must not start or end with '/'")
        return Delete(
            space=_text(data, "space"),
            path=path,
            type=kind,
            mode=_member(Mode, data["mode"]),
            reason=data.get("reason", ""),
            fingerprint=Fingerprint.from_json(data.get("fingerprint", {})),
            effective_mode=_member(Mode, effective) if effective else None,
            files=int(data.get("files", 0)),
            bytes=None if data.get("bytes") is None else int(data["bytes"]),
            counted=_member(Counted, data.get("counted", Counted.STATS.value)),
            withdrawn=data.get("withdrawn"),
        )
    if action is Action.CREATE_DIRECTORY:
        path = _text(data, "path")
        if path.startswith("/") or path.endswith("/"):
            raise ValueError(f"path {path!r} must not start or end with '/'")
        return CreateDirectory(space=_text(data, "space"), path=path,
                               reason=data.get("reason", ""))
    if action is Action.DELETE_RECYCLED:
        size = data.get("bytes")
        item_id = data["recycled_item_id"]
        if not isinstance(item_id, int) or isinstance(item_id, bool):
            raise ValueError(f"recycled_item_id {item_id!r} is not an integer")
        return DeleteRecycled(
            space=_text(data, "space"), recycled_item_id=item_id,
            original_path=_text(data, "original_path"), type=EntryType(data["type"]),
            removal_time=_text(data, "removal_time"), bytes=None if size is None else int(size),
            reason=data.get("reason", ""), age=data.get("age", ""),
            withdrawn=data.get("withdrawn"))
    if action is Action.EMPTY_RECYCLE_BIN:
        return EmptyRecycleBin(
            space=_text(data, "space"), items=int(data.get("items", 0)),
            reason=data.get("reason", ""),
        )
    versions = data.get("versions")
    return ClearHistory(reason=data.get("reason", ""), blocked=bool(data.get("blocked", False)),
                        versions=None if versions is None else int(versions))


def dumps(document: Mapping[str, Any]) -> str:
    """The canonical JSON text: sorted keys, two-space indent, trailing newline: what
    `json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)` writes."""
    return wirejson.indented(document) + "\n"


@dataclass(frozen=True, slots=True)
class PlanFile:
    """A saved plan: the plan with fingerprints, and where and from what it was made."""

    plan: Plan
    endpoint: str
    manifest_digest: str
    manifest_files: tuple[str, ...] = ()
    created_at: str | None = None
    manifest_digests: Mapping[str, str] = field(default_factory=dict)
    """`sha256:HEX` of each file of `manifest_files`: apply reads them again and compares."""
    signature: str | None = None

    def to_json(self, *, signed: bool = True) -> dict[str, Any]:
        data = self.plan.to_json(fingerprints=True)
        data["kind"] = PLAN_FILE_KIND
        data["endpoint"] = self.endpoint
        data["manifests"] = {"digest": self.manifest_digest, "files": list(self.manifest_files),
                             "digests": dict(sorted(self.manifest_digests.items()))}
        if self.created_at is not None:
            data["created_at"] = self.created_at
        if signed and self.signature is not None:
            data["signature"] = self.signature
        return data

    def signing_text(self) -> bytes:
        """What a signature covers: the whole file but the signature, canonically."""
        return dumps(self.to_json(signed=False)).encode("utf-8")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanFile:
        if data.get("kind") != PLAN_FILE_KIND:
            raise ReconcileError("not a plan file (save one with `plan --out FILE`)")
        if data.get("format_version") != FORMAT_VERSION:
            raise ReconcileError(
                f"plan file format {data.get('format_version')!r} is not supported "
                f"(this version reads format {FORMAT_VERSION})"
            )
        manifests = data.get("manifests") or {}
        return cls(
            plan=Plan.from_json(data),
            endpoint=str(data.get("endpoint", "")),
            manifest_digest=str(manifests.get("digest", "")),
            manifest_files=tuple(str(f) for f in manifests.get("files", ())),
            created_at=data.get("created_at"),
            manifest_digests={str(k): str(v) for k, v in (manifests.get("digests") or {}).items()},
            signature=data.get("signature"),
        )
