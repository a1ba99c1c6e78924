"""`run_apply`, the one owner of an apply run, called as the demo calls it: a `Source`, a
confirmation, a progress display and a stop signal in, the report out; paths relative to a
folder of its own, output to a stream of its own, the journal held for the run's life."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.apply.journal import journal_path
from reconciler.apply.progress import NoProgress
from reconciler.apply.report import Outcome
from reconciler.apply.runner import (
    ApplyOptions,
    Source,
    SourceKind,
    exit_code,
    run_apply,
    stored_report_path,
)
from reconciler.emulator import Clock, Emulator
from reconciler.errors import ReconcileError
from tests.apply.scenarios import HEAD, Scenario
from tests.apply.support import LIBRARY, TOKEN

pytestmark = pytest.mark.e2e

PATHS = ["tmp/a.bin", "tmp/b.part", "old.log", "keep/k.txt"]
MANIFEST = HEAD + """\
  - id: "-"
    exist: [keep/]
    purge: [tmp/, "*.log"]
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Emulator, str]]:
    scenario = Scenario("runner", {"-": PATHS}, MANIFEST, {"-": ["keep/", "keep/k.txt"]},
                        {"-": ["old.log", "tmp"]}, ("-", "old.log"))
    emu = Emulator.from_seed(scenario.seed(), clock=Clock(start=1_800_000_000.0))
    (tmp_path / "library.yaml").write_text(MANIFEST, encoding="utf-8")
    with emu.serve() as url:
        yield emu, url


def env_for(url: str) -> dict[str, str]:
    return {"SMH_ACCESS_TOKEN": TOKEN, "SMH_ENDPOINT": url}


def sent(emu: Emulator) -> list[str]:
    return [entry["method"] for entry in emu.request_log() if entry["method"] != "GET"]


def test_a_run_asks_applies_and_reports_in_its_own_folder(
    served: tuple[Emulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu, url = served
    asked: list[str] = []
    out = io.StringIO()
    source = Source.of(["library.yaml"], cwd=tmp_path)
    options = ApplyOptions(state_dir=Path("state"), report_file="report.json", cwd=tmp_path,
                           out=out)
    report = run_apply(source, options, env=env_for(url), confirm=asked.append,
                       progress=NoProgress(), stop=threading.Event())

    assert source.kind is SourceKind.MANIFESTS
    assert asked == [f"Do you want to apply this plan to library {LIBRARY} at {url}?"]
    assert report is not None and exit_code(report) == 0
    assert {(item.path, item.outcome) for item in report.items} == {
        ("old.log", Outcome.RECYCLED), ("tmp", Outcome.RECYCLED)}
    assert emu.state()["spaces"]["-"]["paths"] == ["keep/", "keep/k.txt"]
    assert (tmp_path / "report.json").exists()
    assert stored_report_path(tmp_path / "state", report.run_id).exists()
    assert not journal_path(tmp_path / "state", LIBRARY).exists()
    assert "Report written to report.json." in out.getvalue()
    assert Path.cwd() != tmp_path and capsys.readouterr().out == ""


def test_a_refused_confirmation_sends_nothing_and_keeps_no_journal(
    served: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = served

    def refuse(question: str) -> None:
        raise ReconcileError("apply cancelled; nothing was changed")

    with pytest.raises(ReconcileError, match="cancelled"):
        run_apply(Source.of(["library.yaml"], cwd=tmp_path),
                  ApplyOptions(state_dir=Path("state"), cwd=tmp_path, out=io.StringIO()),
                  env=env_for(url), confirm=refuse, progress=NoProgress(),
                  stop=threading.Event())
    assert sent(emu) == []
    assert not journal_path(tmp_path / "state", LIBRARY).exists()


def test_a_stopped_run_leaves_its_journal_for_the_next_run_to_finish(
    served: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = served
    stop = threading.Event()
    stop.set()
    options = ApplyOptions(state_dir=Path("state"), cwd=tmp_path, out=io.StringIO())
    source = Source.of(["library.yaml"], cwd=tmp_path)
    first = run_apply(source, options, env=env_for(url), confirm=lambda question: None,
                      progress=NoProgress(), stop=stop)
    assert first is not None and exit_code(first) == 130
    assert {item.outcome for item in first.items} == {Outcome.NOT_ATTEMPTED}
    assert sent(emu) == []
    assert journal_path(tmp_path / "state", LIBRARY).exists()

    out = io.StringIO()
    second = run_apply(source, ApplyOptions(state_dir=Path("state"), cwd=tmp_path, out=out),
                       env=env_for(url), confirm=lambda question: None,
                       progress=NoProgress(), stop=threading.Event())
    assert second is not None and exit_code(second) == 0
    assert "Finishing the unfinished apply" in out.getvalue()
    assert not journal_path(tmp_path / "state", LIBRARY).exists()
    assert os.environ.get("SMH_ENDPOINT") != url
