"""Fixtures for the SMH client tests: an emulator per scenario, and clients that talk HTTP to it
(in process through its transport, or over real loopback where a test says so), with a clock
and a sleep the test controls."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest

from reconciler.auth import Credentials
from reconciler.client import RetryPolicy, SmhReadClient, SmhWriteClient
from reconciler.client.session import REQUEST_DEADLINE
from reconciler.emulator import Clock, Emulator
from tests.client.support import (
    ENDPOINT,
    LIBRARY,
    SEED,
    Connect,
    Sleeps,
    secret_credentials,
)


@pytest.fixture
def emu_seed() -> Mapping[str, Any]:
    return SEED


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connect(emu: Emulator, clock: Clock, sleeps: Sleeps) -> Iterator[Connect]:
    """Builds clients against `emu` (in process unless given another endpoint/transport)."""
    opened: list[SmhReadClient] = []
    emulator_clock = clock

    def make(
        cls: type[SmhReadClient] = SmhReadClient,
        *,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        endpoint: str = ENDPOINT,
        attempts: int = 4,
        throttled_for: float = 300.0,
        page_size: int = 1000,
        clock: Callable[[], float] | None = None,
        timeout: float = 30.0,
        deadline: float = REQUEST_DEADLINE,
    ) -> Any:
        client = cls(
            endpoint=endpoint,
            library=LIBRARY,
            credentials=credentials or secret_credentials(),
            transport=transport if transport is not None or endpoint != ENDPOINT
            else emu.transport(),
            retry=RetryPolicy(attempts=attempts, throttled_for=throttled_for, base_delay=0.5,
                              max_delay=8.0, sleep=sleeps, random=lambda: 0.5),
            timeout=timeout,
            deadline=deadline,
            page_size=page_size,
            clock=clock or emulator_clock,
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def reader(connect: Connect) -> SmhReadClient:
    client: SmhReadClient = connect()
    return client


@pytest.fixture
def writer(connect: Connect) -> SmhWriteClient:
    client: SmhWriteClient = connect(SmhWriteClient)
    return client
