"""Resolution of valid manifest documents into the frozen desired state.

Here defaults are applied once, so later stages never look at raw manifests: each purge and
prune rule gets its effective mode (entry, else space, else top-level, else recycle) and its
position among the space's purge entries; paths are NFC-normalised; files naming the same
library are merged into one `LibrarySpec` whose spaces are sorted by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.desired import (
    DesiredState,
    LibrarySpec,
    Location,
    Mode,
    Rule,
    RuleKind,
    Safety,
    SpaceSpec,
)
from reconciler.manifest.problems import PathStep
from reconciler.manifest.yaml_loader import YamlDocument
from reconciler.matching import normalize
from reconciler.predicates import DURATION_KEYS, NO_PREDICATES, PREDICATE_KEYS, Predicates
from reconciler.units import parse_duration, parse_size


def manifest_digest(documents: Sequence[YamlDocument]) -> str:
    """`sha256:HEX` over the manifests' paths and bytes, in path order.

    Each path and content is length-prefixed, so no two different sets of files can feed the
    hash the same bytes.
    """
    import hashlib  # here, not with the module: `validate` digests nothing

    digest = hashlib.sha256()
    for document in sorted(documents, key=lambda doc: doc.file):
        name = document.file.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(document.content).to_bytes(8, "big") + document.content)
    return "sha256:" + digest.hexdigest()


def resolve(documents: Sequence[YamlDocument]) -> DesiredState:
    """The desired state of valid `documents` (schema and semantic checks passed)."""
    by_library: dict[str, list[YamlDocument]] = {}
    for document in documents:
        by_library.setdefault(document.data["library"], []).append(document)
    libraries = tuple(
        _library(name, docs) for name, docs in sorted(by_library.items())
    )
    return DesiredState(
        libraries=libraries,
        digest=manifest_digest(documents),
        file_digests={document.file: file_digest(document.content) for document in documents},
    )


def file_digest(content: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(content).hexdigest()


def _library(name: str, documents: Sequence[YamlDocument]) -> LibrarySpec:
    spaces: list[SpaceSpec] = []
    endpoint: str | None = None
    safety = Safety()
    clear_history = False
    history_location: Location | None = None
    for document in documents:
        data = document.data
        endpoint = endpoint or data.get("endpoint")
        if "safety" in data:
            safety = _safety(data["safety"])
        history = data.get("history") or {}
        if history.get("clear") is True and not clear_history:
            clear_history = True
            history_location = document.location(("history", "clear"))
        default_mode = Mode(data.get("mode", Mode.RECYCLE))
        for index, space in enumerate(data["spaces"]):
            spaces.append(_space(document, index, space, default_mode))
    return LibrarySpec(
        library=name,
        spaces=tuple(sorted(spaces, key=lambda space: space.id)),
        endpoint=endpoint,
        safety=safety,
        clear_history=clear_history,
        history_location=history_location,
        sources=tuple(document.file for document in documents),
    )


def _safety(data: dict[str, Any]) -> Safety:
    defaults = Safety()
    max_deletes = data.get("max_deletes", defaults.max_deletes)
    max_bytes = data.get("max_delete_bytes")
    return Safety(
        max_deletes=None if max_deletes is None else int(max_deletes),
        max_delete_percent=float(data.get("max_delete_percent", defaults.max_delete_percent)),
        min_existing=int(data.get("min_existing", defaults.min_existing)),
        max_delete_bytes=None if max_bytes is None else parse_size(max_bytes),
    )


def _space(document: YamlDocument, index: int, data: dict[str, Any], default: Mode) -> SpaceSpec:
    base: tuple[PathStep, ...] = ("spaces", index)
    mode = Mode(data["mode"]) if "mode" in data else default

    def rules(key: str, kind: RuleKind, field: str, *, deletes: bool) -> tuple[Rule, ...]:
        entries = data.get(key) or []
        locations = document.item_locations((*base, key))
        out = []
        for order, (entry, location) in enumerate(zip(entries, locations, strict=True)):
            if isinstance(entry, dict):
                text = entry[field]
                entry_mode = Mode(entry["mode"]) if "mode" in entry else mode
                predicates, newest = _predicates(entry), entry.get("keep_newest")
            else:
                text, entry_mode, predicates, newest = entry, mode, NO_PREDICATES, None
            out.append(
                Rule(
                    kind=kind,
                    pattern=normalize(text),
                    location=location,
                    mode=entry_mode if deletes else None,
                    order=order,
                    predicates=predicates,
                    keep_newest=newest,
                )
            )
        return tuple(out)

    recycle_bin = data.get("recycle_bin") or {}
    older_than = recycle_bin.get("older_than")
    return SpaceSpec(
        id=data["id"],
        location=document.location(base),
        mode=mode,
        user_id=data.get("user_id"),
        exist=rules("exist", RuleKind.EXIST, "pattern", deletes=False),
        protect=rules("protect", RuleKind.PROTECT, "pattern", deletes=False),
        purge=rules("purge", RuleKind.PURGE, "pattern", deletes=True),
        prune=rules("prune", RuleKind.PRUNE, "root", deletes=True),
        empty_recycle_bin=bool(recycle_bin.get("empty", False)),
        allow_whole_space=bool(data.get("allow_whole_space", False)),
        create_missing=bool(data.get("create_missing", False)),
        recycle_older_than=None if older_than is None else parse_duration(older_than),
        recycle_older_than_text=older_than,
        recycle_older_than_location=None if older_than is None else document.location(
            (*base, "recycle_bin", "older_than")),
    )


def _predicates(entry: dict[str, Any]) -> Predicates:
    """An entry's predicates, parsed (the semantic checks have read every value once)."""
    if not any(key in entry for key in PREDICATE_KEYS):
        return NO_PREDICATES
    values = {key: (parse_duration(entry[key]) if key in DURATION_KEYS else parse_size(entry[key]))
              for key in PREDICATE_KEYS if key in entry}
    written = tuple((key, str(entry[key]).strip()) for key in PREDICATE_KEYS if key in entry)
    return Predicates(**values, written=written)
