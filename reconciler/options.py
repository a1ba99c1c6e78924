"""What the command line offers and defaults to, in a module that imports nothing else: the
commands declare their options from it without loading the code that does the work."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Format(StrEnum):
    """The renders of a plan."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


DEFAULT_CONCURRENCY: Final = 8
"""Directories listed at once."""
MAX_SPACES_AT_ONCE: Final = 32
"""Spaces a plan walks, or an apply carries out, side by side (their requests share the
`--concurrency` of the run)."""
MAX_BATCH_SIZE: Final = 1000
"""Items per batch delete call, at most (SMH's limit)."""
MAX_RESTORE_ITEMS: Final = 1000
"""Items per batch restore call, at most."""
DEFAULT_STATE_DIR: Final = ".smh-reconcile"
"""Where apply keeps its journal, each run's report, and the plan files it finished."""
ENDPOINT_ENV: Final = "SMH_ENDPOINT"
