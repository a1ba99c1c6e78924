"""Defensive readers for JSON answers: a field of the wrong type is a `ShapeError`, never a
`KeyError` or `TypeError` from deep inside the client.

The request pipeline turns a `ShapeError` into an `SmhRequestError` that names the request.

`server_text` is the one way in for the free text a server sends back (error codes and
messages, request ids, a batch item's `code` and `message`): it is redacted as it is read, so a
token or secret echoed by the server reaches no output, report or journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from reconciler.auth import redact

JsonObject = Mapping[str, object]

_SECRET_ROOM: Final = 4096
"""Characters read past a text's shown length, so a secret that straddles the cut is whole."""


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


def get_rows(data: JsonObject, key: str, what: str, *, fields: tuple[str, ...]) -> list[object]:
    """A listing's rows: `data[key]` must be a list (absent or null is not an empty one: a page
    that lost its rows must never read as an empty directory), and every row an object whose
    `fields` are non-empty strings."""
    rows = get_list(data, key, what)
    for index, row in enumerate(rows):
        where = f"{key}[{index}]"
        obj = as_object(row, where)
        for field in fields:
            if not get_str(obj, field, where):
                raise ShapeError(f"{where}.{field} is empty")
    return rows


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


def server_text(value: object, limit: int = 300) -> str | None:
    """Free text from a server as it may be shown: printable, at most `limit` characters, and
    redacted; None when `value` is not a string."""
    if not isinstance(value, str):
        return None
    # Redacted before it is cut short, so that no secret is cut in two and shown in part.
    text = redact(value[: limit + _SECRET_ROOM])
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text if len(text) <= limit else text[:limit] + "..."


def get_opt_server_text(data: JsonObject, key: str, what: str) -> str | None:
    """An optional free-text field (see `server_text`)."""
    get_opt_str(data, key, what)
    return server_text(data.get(key))


def usable_name(name: str) -> bool:
    """Whether a directory entry's name is one whole segment, fit to be joined to a path."""
    # Two substring tests, not a set lookup per character: this runs for every listed entry.
    return name not in ("", ".", "..") and "/" not in name and "\x00" not in name


def check_name(name: str, what: str) -> str:
    """A directory entry's name, which is joined to a path: it must be one whole segment."""
    if not usable_name(name):
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
