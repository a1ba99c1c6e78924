"""Sizes and durations as people write them (`50 GB`, `1.5 GiB`, `30d`) and as renders show them.

Decimal units are powers of 1000 and binary units powers of 1024, as SPEC section 7 says; the
renders use decimal units with one decimal, the way file managers and SMH's console do.
"""

from __future__ import annotations

import re
from typing import Final

UNITS: Final = {
    "B": 1,
    "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
    "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*$")
_SHOWN: Final = (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("kB", 1000))


def parse_size(value: object) -> int:
    """Bytes from an integer or a size text; ValueError with a message for a person."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    unit = (match[2] or "B").upper() if match else ""
    if match is None or unit not in UNITS:
        raise ValueError(
            f"{value!r} is not a size: write bytes as an integer, or a number with B, KB, MB, "
            "GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. \"50 GB\""
        )
    from decimal import Decimal, InvalidOperation  # here: most manifests give no size

    try:
        return int(Decimal(match[1]) * UNITS[unit])
    except InvalidOperation:  # pragma: no cover - the pattern only admits decimal numbers
        raise ValueError(f"{value!r} is not a size") from None


def format_size(size: int | None) -> str:
    """`3.1 GB`, `512 B`; `? B` for an unknown size."""
    if size is None:
        return "? B"
    for unit, scale in _SHOWN:
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


DURATION_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_duration(text: object) -> int:
    """Seconds from a duration text: an integer with a unit s, m, h, d or w (`90d`, `24h`);
    ValueError with a message for a person."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: write an integer with a unit s, m, h, d or w, "
            "e.g. \"30d\""
        )
    return int(match[1]) * DURATION_UNITS[match[2]]


def format_duration(seconds: float) -> str:
    """An age as people read it: `400d`, `5h`, `12m`, `30s` (whole units, rounded down)."""
    for unit, scale in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= scale:
            return f"{int(seconds // scale)}{unit}"
    return f"{max(0, int(seconds))}s"
