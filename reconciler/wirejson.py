"""JSON on the wire: the bodies sent and the answers read, by msgspec, as `json` reads them.

Every listing page, batch and answer is decoded and encoded here, on both ends (the client and
the emulator), so that its cost per request is msgspec's: about half of the standard library's
to read a page or a batch's answer, a tenth to write a batch. The canonical text of plan
digests and journal records, and the indented text of plan files and reports, are written here
too. What is accepted stays exactly what `json.loads` accepts: a text msgspec refuses (NaN, a
lone surrogate, a byte order mark, UTF-16, nesting too deep) is read again by `json.loads`,
which accepts or refuses it as it always did, with its own error.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

__all__ = ["canonical", "dumps", "indented", "loads"]

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def loads(text: bytes | str) -> Any:
    """`json.loads(text)`: the same value, or the same `ValueError` or `RecursionError`."""
    try:
        return _decode(text)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(text)


def dumps(value: object) -> bytes:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()`, for a JSON value.

    The same bytes for any value of JSON's types (dicts with string keys, lists and tuples,
    strings, integers, booleans, None) and no float; a float reads back as the same float but
    is spelled as msgspec spells it (`1e16` where `json` writes `1e+16`; NaN and the infinities,
    which JSON has no text for, as `null`). What msgspec cannot write is written by `json`.
    """
    try:
        return _encode(value)
    except (msgspec.EncodeError, TypeError, OverflowError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def canonical(value: object) -> str:
    """`json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`.

    The same text for any value without floats (plans and journal records hold none); a float
    is spelled as `dumps` says. Keys that are not strings, and text UTF-8 cannot hold (a lone
    surrogate), are written by `json`.
    """
    try:
        return _encode_sorted(value).decode()
    except (msgspec.EncodeError, TypeError, OverflowError, UnicodeError):
        return _json_sorted(value)


def indented(value: object) -> str:
    """`json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`, the same text.

    The standard library's indenting encoder is pure Python; its compact one is C. The compact
    text (json's own, so floats too are spelled as json spells them) is indented by msgspec,
    which copies each value's text as it is. A text msgspec cannot read (NaN and the
    infinities, lone surrogates) is written by the indenting encoder.
    """
    compact = _json_sorted(value)
    try:
        return msgspec.json.format(compact, indent=2)
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _json_sorted(value: object) -> str:
    """The compact text `json` writes, keys sorted."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
