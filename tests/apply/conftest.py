"""Fixtures for the apply tests: an emulator per scenario on the library of `support.seed`, a
write client on it, and a journal in the test's temporary directory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.journal import Header, Journal
from reconciler.apply.runner import plan_digest
from reconciler.client import SmhWriteClient
from reconciler.emulator import Emulator
from reconciler.plan import Plan
from tests.apply.support import ENDPOINT, JournalFactory, seed, writer_for


@pytest.fixture
def emu_seed() -> Mapping[str, Any]:
    return seed()


@pytest.fixture
def writer(emu: Emulator) -> Iterator[SmhWriteClient]:
    with writer_for(emu) as client:
        yield client


@pytest.fixture
def new_journal(tmp_path: Path) -> Iterator[JournalFactory]:
    opened: list[Journal] = []

    def create(plan: Plan) -> Journal:
        journal = Journal.create(tmp_path / "state" / f"journal-{plan.library}.jsonl", Header(
            library=plan.library, endpoint=ENDPOINT,
            source={"kind": "manifests", "digest": "d", "spaces": []},
            plan_digest=plan_digest(plan), started_at="2027-01-01T00:00:00.000Z",
            plan=plan.to_json(fingerprints=True),
        ))
        opened.append(journal)
        return journal

    yield create
    for journal in opened:
        journal.close()
