"""The clock, as SMH writes times."""

from __future__ import annotations

import datetime as dt


def utc_now() -> str:
    """The current time as SMH writes it: ISO-8601 UTC with milliseconds."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
