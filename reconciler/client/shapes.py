"""Defensive readers for JSON answers: a field of the wrong type is a `ShapeError`, never a
`KeyError` or `TypeError` from deep inside the client.

The request pipeline turns a `ShapeError` into an `SmhRequestError` that names the request.
"""

from __future__ import annotations

from collections.abc import Mapping

JsonObject = Mapping[str, object]



class ShapeError(ValueError):
    """The server's answer does not have the documented shape."""


def as_object(value: object, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise ShapeError(f"{what} is {_kind(value)}, not an object")
    return value


def as_list(value: object, what: str) -> list[object]:
    if not isinstance(value, list):
        raise ShapeError(f"{what} is {_kind(value)}, not a list")
    return value


def get_list(data: JsonObject, key: str, what: str, *, default_empty: bool = False) -> list[object]:
    value = data.get(key)
    if value is None and default_empty:
        return []
    return as_list(value, f"{what}.{key}")


def get_str(data: JsonObject, key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ShapeError(f"{what}.{key} is {_kind(value)}, not a string")
    return value


def get_opt_str(data: JsonObject, key: str, what: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ShapeError(f"{what}.{key} is {_kind(value)}, not a string")


def get_opt_text(data: JsonObject, key: str, what: str) -> str | None:
    """A string field that some servers send as a number (sizes, crc64): kept as its text."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ShapeError(f"{what}.{key} is {_kind(value)}, not a string")


def to_int(value: object, what: str) -> int:
    """An integer, also when sent as a string of digits (ids are int64 and may be quoted)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ShapeError(f"{what} is {_kind(value)}, not an integer")


def get_int(data: JsonObject, key: str, what: str) -> int:
    return to_int(data.get(key), f"{what}.{key}")


def get_opt_int(data: JsonObject, key: str, what: str) -> int | None:
    value = data.get(key)
    return None if value is None else to_int(value, f"{what}.{key}")


def get_bool(data: JsonObject, key: str, what: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    raise ShapeError(f"{what}.{key} is {_kind(value)}, not a boolean")


def get_marker(data: JsonObject, key: str, what: str) -> str | None:
    """A paging cursor: a string or an integer; empty, null or absent means the end."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ShapeError(f"{what}.{key} is {_kind(value)}, not a string or integer")


def check_name(name: str, what: str) -> str:
    """A directory entry's name, which is joined to a path: it must be one whole segment."""
    # Two substring tests, not a set lookup per character: this runs for every listed entry.
    if name in ("", ".", "..") or "/" in name or "\x00" in name:
        raise ShapeError(f"{what} has an unusable name {name!r}")
    return name


def path_from(value: object, what: str) -> str:
    """A path the server sends as an array of segments (or, tolerated, a `/`-joined string)."""
    if isinstance(value, str):
        return value.strip("/")
    segments = as_list(value, what)
    parts: list[str] = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, str):
            raise ShapeError(f"{what}[{index}] is {_kind(segment)}, not a string")
        parts.append(segment)
    return "/".join(parts)


def _kind(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
