"""Fault injection settings (`POST /_emulator/faults`) and the token bucket behind `rate_limit`.

Setting faults replaces the whole configuration: keys left out go back to their defaults, so
`{}` clears everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_ERROR_STATUSES = (429, 503)


class FaultsError(ValueError):
    """A fault setting has the wrong name, type or range."""


@dataclass(frozen=True)
class PathFault:
    status: int
    code: str
    message: str | None = None


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = DEFAULT_ERROR_STATUSES
    retry_after_s: float | None = None
    drop_rate: float = 0.0
    drop_phase: str = "after"
    async_threshold: int = 100
    task_polls: int = 1
    fail_paths: Mapping[str, PathFault] = field(default_factory=dict)
    rate_limit: float | None = None
    seed: int | None = None
    max_list_limit: int = 1000
    max_list_limit_rejects: bool = False
    space_list_marker_only: bool = False
    entry_types: Mapping[str, str] = field(default_factory=dict)
    task_status: int | None = None
    task_result: bool = True
    recycle_bin_off: bool = False
    stats_unavailable: bool | tuple[str, ...] = False

    def stats_refused(self, path: str | None) -> bool:
        """Whether directory stats of `path` (None: the space file count) are unavailable."""
        if isinstance(self.stats_unavailable, bool):
            return self.stats_unavailable
        return path is not None and path in self.stats_unavailable

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Faults:
        if not isinstance(doc, Mapping):
            raise FaultsError("faults must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(doc) - known
        if unknown:
            raise FaultsError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name in ("latency_ms", "jitter_ms"):
            if name in doc:
                values[name] = _number(doc, name, low=0.0)
        for name in ("error_rate", "drop_rate"):
            if name in doc:
                values[name] = _number(doc, name, low=0.0, high=1.0)
        if doc.get("retry_after_s") is not None:
            values["retry_after_s"] = _number(doc, "retry_after_s", low=0.0)
        if doc.get("rate_limit") is not None:
            values["rate_limit"] = _number(doc, "rate_limit", low=0.0)
            if values["rate_limit"] <= 0:
                raise FaultsError("rate_limit must be > 0 requests per second (or null)")
        for name, low in (("async_threshold", 1), ("task_polls", 0), ("max_list_limit", 1)):
            if name in doc:
                values[name] = _integer(doc, name, low=low)
        if doc.get("seed") is not None:
            values["seed"] = _integer(doc, "seed", low=None)
        if "drop_phase" in doc:
            if doc["drop_phase"] not in ("before", "after"):
                raise FaultsError("drop_phase must be 'before' or 'after'")
            values["drop_phase"] = doc["drop_phase"]
        if "error_statuses" in doc:
            statuses = doc["error_statuses"]
            if (not isinstance(statuses, list) or not statuses
                    or not all(_is_int(s) and 400 <= s <= 599 for s in statuses)):
                raise FaultsError("error_statuses must be a non-empty list of 4xx/5xx statuses")
            values["error_statuses"] = tuple(statuses)
        if "fail_paths" in doc:
            values["fail_paths"] = _fail_paths(doc["fail_paths"])
        if doc.get("task_status") is not None:
            if doc["task_status"] not in (200, 204, 207, 500):
                raise FaultsError("task_status must be 200, 204, 207 or 500 (or null)")
            values["task_status"] = doc["task_status"]
        for name in ("task_result", "recycle_bin_off", "max_list_limit_rejects",
                     "space_list_marker_only"):
            if name in doc:
                if not isinstance(doc[name], bool):
                    raise FaultsError(f"{name} must be true or false")
                values[name] = doc[name]
        if "entry_types" in doc:
            values["entry_types"] = _entry_types(doc["entry_types"])
        if "stats_unavailable" in doc:
            values["stats_unavailable"] = _stats_unavailable(doc["stats_unavailable"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["error_statuses"] = list(self.error_statuses)
        if not isinstance(self.stats_unavailable, bool):
            doc["stats_unavailable"] = list(self.stats_unavailable)
        doc["fail_paths"] = {path: {k: v for k, v in asdict(f).items() if v is not None}
                             for path, f in self.fail_paths.items()}
        return doc


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(doc: Mapping[str, Any], name: str, *, low: float,
            high: float | None = None) -> float:
    value = doc[name]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise FaultsError(f"{name} must be a number")
    if value < low or (high is not None and value > high):
        raise FaultsError(f"{name} must be between {low} and {high}" if high is not None
                          else f"{name} must be >= {low}")
    return float(value)


def _integer(doc: Mapping[str, Any], name: str, *, low: int | None) -> int:
    value = doc[name]
    if not _is_int(value) or (low is not None and value < low):
        raise FaultsError(f"{name} must be an integer" + (f" >= {low}" if low is not None else ""))
    return int(value)


def _stats_unavailable(value: object) -> bool | tuple[str, ...]:
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and all(isinstance(path, str) for path in value):
        return tuple(path.strip("/") for path in value)
    raise FaultsError("stats_unavailable must be true, false or a list of directory paths")


def _fail_paths(doc: object) -> dict[str, PathFault]:
    if not isinstance(doc, Mapping):
        raise FaultsError("fail_paths must map PATH to {status, code}")
    result: dict[str, PathFault] = {}
    for path, spec in doc.items():
        if not isinstance(path, str) or not isinstance(spec, Mapping):
            raise FaultsError("fail_paths must map PATH to {status, code}")
        status = spec.get("status", 500)
        code = spec.get("code", "InternalServerError")
        message = spec.get("message")
        if not _is_int(status) or not 400 <= status <= 599:
            raise FaultsError(f"fail_paths[{path!r}].status must be a 4xx/5xx status")
        if not isinstance(code, str) or not code:
            raise FaultsError(f"fail_paths[{path!r}].code must be a string")
        if message is not None and not isinstance(message, str):
            raise FaultsError(f"fail_paths[{path!r}].message must be a string")
        result["/".join(s for s in path.split("/") if s)] = PathFault(status, code, message)
    return result


def _entry_types(doc: object) -> dict[str, str]:
    if not isinstance(doc, Mapping) or not all(
            isinstance(path, str) and isinstance(kind, str) and kind
            for path, kind in doc.items()):
        raise FaultsError("entry_types must map a file's PATH to the type its listing shows")
    return {"/".join(s for s in path.split("/") if s): kind for path, kind in doc.items()}


class TokenBucket:
    """`rate` tokens a second, holding at most max(1, rate) of them."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one will be available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate
