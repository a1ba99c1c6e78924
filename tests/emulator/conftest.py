"""Fixtures for the emulator conformance tests: an emulator per scenario, reached through httpx
(in process by default, over real loopback where the test says so)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator
from tests.emulator.support import ADMIN, BASE_SEED


@pytest.fixture
def emu_seed() -> Mapping[str, Any]:
    return BASE_SEED


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.transport(), base_url="https://smhtest.api.tencentsmh.cn",
                      params={"access_token": ADMIN}) as c:
        yield c


@pytest.fixture
def anon(emu: Emulator) -> Iterator[httpx.Client]:
    """A client that sends no token unless the test adds one."""
    with httpx.Client(transport=emu.transport(),
                      base_url="https://smhtest.api.tencentsmh.cn") as c:
        yield c
