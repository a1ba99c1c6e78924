"""Fixtures every test folder shares: a clock the test controls, and an emulator serving the
library the folder's own conftest names in `emu_seed`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import settings

from reconciler.emulator import Clock, Emulator

# The property tests draw the same examples on every run, so that a run passes or fails the
# same way wherever it runs (CI on a fresh machine included); `HYPOTHESIS_PROFILE=explore`
# draws new ones on each run, to search for what the fixed ones miss.
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

CLOCK_START = 1_800_000_000.0
"""Where the test clock starts: 2027-01-15, so ages and expiries are the same in every run."""


@pytest.fixture
def clock() -> Clock:
    return Clock(start=CLOCK_START)


@pytest.fixture
def emu_seed() -> Mapping[str, Any]:
    raise pytest.UsageError("the `emu` fixture needs an `emu_seed` fixture in this folder")


@pytest.fixture
def emu(emu_seed: Mapping[str, Any], clock: Clock) -> Emulator:
    return Emulator.from_seed(emu_seed, clock=clock)
