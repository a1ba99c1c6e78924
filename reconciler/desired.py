"""The desired state: validated manifests resolved into frozen objects.

Everything later stages need is here, already resolved: the effective deletion mode of every
purge and prune entry (entry, else space, else top-level, else recycle), the safety limits, and
where each rule came from so that a plan can say why it deletes something.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from reconciler.predicates import NO_PREDICATES, Predicates


class Mode(StrEnum):
    """How an item is deleted: moved to the recycle bin, or removed for good."""

    RECYCLE = "recycle"
    PERMANENT = "permanent"


# The members under plain names, for the code that reads the mode of every item
# (`reconciler.listing.FILE` says why).
RECYCLE: Final = Mode.RECYCLE
PERMANENT: Final = Mode.PERMANENT


class RuleKind(StrEnum):
    EXIST = "exist"
    PROTECT = "protect"
    PURGE = "purge"
    PRUNE = "prune"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value was written: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def short(self) -> str:
        """`name.yaml:LINE`, the form plans use in reasons."""
        name = self.file.replace("\\", "/").rsplit("/", 1)[-1]
        return f"{name}:{self.line}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One manifest entry.

    `pattern` is as written (NFC-normalised): a glob for exist/protect/purge, the root for
    prune (`""` is the whole space, `photos/` a directory). A trailing `/` means "directories
    only". `mode` is the resolved deletion mode for purge and prune entries, None otherwise.
    `order` is the entry's position among the space's purge entries (file order), which
    decides precedence when several purge entries match one path. `predicates` and
    `keep_newest` (section "Age and size" of the README) make the entry judge files one by
    one: such an entry never deletes, or keeps, a directory as a whole.
    """

    kind: RuleKind
    pattern: str
    location: Location
    mode: Mode | None = None
    order: int = 0
    predicates: Predicates = NO_PREDICATES
    keep_newest: int | None = None

    @property
    def conditional(self) -> bool:
        """Whether the entry judges files one by one (it has predicates or `keep_newest`)."""
        return bool(self.predicates) or self.keep_newest is not None

    def describe(self) -> str:
        """`purge logs/**/*.log older_than 90d (m.yaml:12)`: the reason a plan shows."""
        newest = f" keep_newest {self.keep_newest}" if self.keep_newest is not None else ""
        return (f"{self.kind.value} {self.pattern or '(space root)'}"
                f"{self.predicates.describe()}{newest} ({self.location.short()})")


@dataclass(frozen=True, slots=True)
class Safety:
    """Limits checked before the first delete call of an apply."""

    max_deletes: int | None = None
    max_delete_percent: float = 30.0
    min_existing: int = 10
    max_delete_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class SpaceSpec:
    """What one tenant space must look like."""

    id: str
    location: Location
    mode: Mode = Mode.RECYCLE
    user_id: str | None = None
    exist: tuple[Rule, ...] = ()
    protect: tuple[Rule, ...] = ()
    purge: tuple[Rule, ...] = ()
    prune: tuple[Rule, ...] = ()
    empty_recycle_bin: bool = False
    allow_whole_space: bool = False
    create_missing: bool = False
    """Absent literal `exist` directories are created (`create_directory` changes)."""
    recycle_older_than: int | None = None
    """`recycle_bin.older_than` in seconds: bin items removed longer ago are deleted."""
    recycle_older_than_text: str | None = None
    """`recycle_bin.older_than` as written (`30d`), for reasons."""
    recycle_older_than_location: Location | None = None


@dataclass(frozen=True, slots=True)
class LibrarySpec:
    """One media library, merged from every manifest file that names it."""

    library: str
    spaces: tuple[SpaceSpec, ...]
    endpoint: str | None = None
    safety: Safety = Safety()
    clear_history: bool = False
    history_location: Location | None = None
    sources: tuple[str, ...] = ()

    def space(self, space_id: str) -> SpaceSpec:
        for space in self.spaces:
            if space.id == space_id:
                return space
        raise KeyError(space_id)

    @property
    def default_endpoint(self) -> str:
        return self.endpoint or f"https://{self.library}.api.tencentsmh.cn"


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Every library the given manifests describe, and a digest of the manifests' bytes."""

    libraries: tuple[LibrarySpec, ...]
    digest: str
    file_digests: Mapping[str, str] = field(default_factory=dict)
    """`sha256:HEX` of each manifest file's bytes, by the path it was read from."""
