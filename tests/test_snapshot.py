"""Offline planning: `snapshot` saves a listing, `plan --from-listing` plans from it later with
no credentials and no server, and gives the plan a live `plan` gives of the same state."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
DEMO_MANIFEST = ROOT / "manifests" / "demo.yaml"
DEMO_SEED = ROOT / "reconciler" / "data" / "demo-seed.yaml"
TOKEN = "snapshot-test-token-5678"
NO_CREDENTIALS: dict[str, str | None] = {"SMH_ACCESS_TOKEN": None, "SMH_LIBRARY_SECRET": None}


def run(*args: str, env: dict[str, str | None]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", **env})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def snapshot_and_live_plan(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, dict[str, Any], str]:
    """A snapshot and a live JSON plan of one state of the demo library, made over loopback;
    the server is stopped before any test uses them.

    Returns (listing text, live plan JSON, the stopped server's URL).
    """
    seed: dict[str, Any] = yaml.safe_load(DEMO_SEED.read_text(encoding="utf-8"))
    seed["token"] = TOKEN
    listing = tmp_path_factory.mktemp("snapshot") / "listing.json"
    with Emulator.from_seed(seed).serve() as url:
        env: dict[str, str | None] = {"SMH_ENDPOINT": url, "SMH_ACCESS_TOKEN": TOKEN,
                                      "SMH_LIBRARY_SECRET": None}
        code, out, err = run("snapshot", str(DEMO_MANIFEST), "--out", str(listing), env=env)
        assert code == 0, err
        assert str(listing) in out
        code, out, err = run("plan", str(DEMO_MANIFEST), "--format", "json", env=env)
        assert code == 0, err
    return listing.read_text(encoding="utf-8"), json.loads(out), url


@pytest.fixture
def live(
    snapshot_and_live_plan: tuple[str, dict[str, Any], str], tmp_path: Path
) -> tuple[Path, dict[str, Any], str]:
    """(this test's copy of the listing file, the live plan JSON, the stopped server's URL)."""
    text, planned, url = snapshot_and_live_plan
    listing = tmp_path / "listing.json"
    listing.write_text(text, encoding="utf-8")
    return listing, copy.deepcopy(planned), url


def test_offline_plan_equals_the_live_plan_but_for_listed_at(
    live: tuple[Path, dict[str, Any], str]
) -> None:
    listing, planned, stopped = live
    code, out, err = run("plan", str(DEMO_MANIFEST), "--from-listing", str(listing),
                         "--format", "json", env={"SMH_ENDPOINT": stopped, **NO_CREDENTIALS})
    assert code == 0, err
    offline = json.loads(out)
    listed_at = json.loads(listing.read_text())["listed_at"]
    assert listed_at and offline.pop("listed_at") == listed_at
    assert "listed_at" not in planned or planned["listed_at"] is None
    planned.pop("listed_at", None)
    assert offline == planned
    assert planned["changes"] and planned["missing"]  # a plan worth comparing


def test_offline_text_and_markdown_show_when_the_listing_was_made(
    live: tuple[Path, dict[str, Any], str]
) -> None:
    listing, _, _ = live
    listed_at = json.loads(listing.read_text())["listed_at"]
    for fmt in ("text", "markdown"):
        code, out, err = run("plan", str(DEMO_MANIFEST), "--from-listing", str(listing),
                             "--format", fmt, env=NO_CREDENTIALS)
        assert code == 0, err
        assert "listing" in out and listed_at in out


def test_offline_plan_file_can_be_shown(
    live: tuple[Path, dict[str, Any], str], tmp_path: Path
) -> None:
    listing, _, _ = live
    saved = tmp_path / "plan.json"
    code, _, err = run("plan", str(DEMO_MANIFEST), "--from-listing", str(listing),
                       "--out", str(saved), "--format", "markdown", env=NO_CREDENTIALS)
    assert code == 0, err
    code, out, err = run("show", str(saved), "--format", "markdown", env=NO_CREDENTIALS)
    assert code == 0, err
    assert out.startswith("<!-- smh-reconcile-plan -->")


def test_a_listing_of_another_library_is_refused(
    live: tuple[Path, dict[str, Any], str]
) -> None:
    listing, _, _ = live
    other = ROOT / "manifests" / "single-tenant.yaml"
    code, out, err = run("plan", str(other), "--from-listing", str(listing),
                         env=NO_CREDENTIALS)
    assert code == 1
    assert "lists library smhdemo, the manifests describe smhteamdocs" in err
    assert out == ""


def test_a_listing_made_for_other_manifests_warns_and_fails_where_it_lacks_a_space(
    live: tuple[Path, dict[str, Any], str], tmp_path: Path
) -> None:
    listing, _, _ = live
    changed = tmp_path / "changed.yaml"
    changed.write_text("version: 1\nlibrary: smhdemo\nspaces:\n"
                       "  - id: marketing\n    purge: [tmp/]\n"
                       "  - id: newcomers\n    purge: [tmp/]\n")
    code, out, err = run("plan", str(changed), "--from-listing", str(listing),
                         env=NO_CREDENTIALS)
    assert "manifests changed since this listing was made" in err
    assert code == 1  # nothing is planned for a space the listing does not hold
    assert "newcomers" in out and "space was not listed" in out


DAMAGES: dict[str, tuple[Callable[[str], bytes], str]] = {
    "truncated": (lambda text: text[: len(text) // 2].encode(), "is not valid JSON"),
    "empty": (lambda text: b"", "is not valid JSON"),
    "not-a-listing": (lambda text: b'{"kind": "something else"}', "not a listing saved by"),
    "missing-key": (lambda text: text.replace('"children"', '"kinder"').encode(),
                    "the listing is damaged"),
    "bad-entry": (lambda text: text.replace('"file"', '"folder"', 1).encode(),
                  "the listing is damaged"),
    "future-format": (lambda text: text.replace('"format_version": 2,',
                                                '"format_version": 99,').encode(),
                      "is not supported"),
    "not-utf8": (lambda text: b"\xff\xfe" + text.encode(), "cannot read the listing"),
    "too-deep": (lambda text: b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_listing_is_one_clear_error(
    live: tuple[Path, dict[str, Any], str], damage: str
) -> None:
    listing, _, _ = live
    spoil, message = DAMAGES[damage]
    listing.write_bytes(spoil(listing.read_text(encoding="utf-8")))
    code, out, err = run("plan", str(DEMO_MANIFEST), "--from-listing", str(listing),
                         env=NO_CREDENTIALS)
    assert code == 1
    assert out == ""
    assert message in err and str(listing) in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_listing_is_one_clear_error(tmp_path: Path) -> None:
    absent = tmp_path / "nowhere.json"
    code, _, err = run("plan", str(DEMO_MANIFEST), "--from-listing", str(absent),
                       env=NO_CREDENTIALS)
    assert code == 1
    assert err.strip() == f"Error: {absent}: no such listing"


def test_snapshot_needs_credentials(tmp_path: Path) -> None:
    code, _, err = run("snapshot", str(DEMO_MANIFEST), "--out", str(tmp_path / "l.json"),
                       env={"SMH_ENDPOINT": "http://127.0.0.1:9", **NO_CREDENTIALS})
    assert code == 1
    assert "no SMH credentials" in err
    assert not (tmp_path / "l.json").exists()


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_a_plan_for_machines_or_reviews_loads_no_terminal_renderer(
    live: tuple[Path, dict[str, Any], str], fmt: str
) -> None:
    import subprocess
    import sys

    listing, _, _ = live
    script = ("import sys\nfrom reconciler.cli import main\n"
              "code = main.main(sys.argv[1:], standalone_mode=False)\n"
              "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'rich'}))")
    done = subprocess.run(
        [sys.executable, "-c", script, "plan", str(DEMO_MANIFEST), "--from-listing",
         str(listing), "--format", fmt],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout[-500:] + done.stderr[-500:]
