"""Resolution into the desired state: modes, order, NFC, merging, digest."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from reconciler.desired import Location, Mode, RuleKind, Safety
from reconciler.manifest import InvalidManifests, load_desired_state

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


MODES = """\
version: 1
library: smhdemo
mode: permanent
spaces:
  - id: inherits
    purge:
      - tmp/
      - {pattern: "**/*.part", mode: recycle}
    prune:
      - photos/
  - id: overrides
    mode: recycle
    purge:
      - {pattern: cache/}
      - {pattern: old/, mode: permanent}
      - logs/
    prune:
      - {root: exports/, mode: permanent}
      - {root: imports/}
"""


def test_each_rule_gets_its_effective_mode_and_order(tmp_path: Path) -> None:
    state = load_desired_state([write(tmp_path / "modes.yaml", MODES)])
    library = state.libraries[0]

    inherits = library.space("inherits")
    assert inherits.mode is Mode.PERMANENT
    assert [(rule.pattern, rule.mode, rule.order) for rule in inherits.purge] == [
        ("tmp/", Mode.PERMANENT, 0),
        ("**/*.part", Mode.RECYCLE, 1),
    ]
    assert [(rule.pattern, rule.mode) for rule in inherits.prune] == [("photos/", Mode.PERMANENT)]

    overrides = library.space("overrides")
    assert overrides.mode is Mode.RECYCLE
    assert [(rule.pattern, rule.mode, rule.order) for rule in overrides.purge] == [
        ("cache/", Mode.RECYCLE, 0),
        ("old/", Mode.PERMANENT, 1),
        ("logs/", Mode.RECYCLE, 2),
    ]
    assert [(rule.pattern, rule.mode) for rule in overrides.prune] == [
        ("exports/", Mode.PERMANENT),
        ("imports/", Mode.RECYCLE),
    ]
    assert all(rule.kind is RuleKind.PURGE for rule in overrides.purge)


def test_without_any_mode_everything_is_recycled(tmp_path: Path) -> None:
    text = "version: 1\nlibrary: l\nspaces:\n  - id: a\n    purge: [tmp/]\n    prune: [x/]\n"
    space = load_desired_state([write(tmp_path / "m.yaml", text)]).libraries[0].spaces[0]

    assert space.mode is Mode.RECYCLE
    assert space.purge[0].mode is Mode.RECYCLE
    assert space.prune[0].mode is Mode.RECYCLE


def test_exist_and_protect_rules_carry_no_mode_and_keep_their_locations(tmp_path: Path) -> None:
    text = (
        "version: 1\nlibrary: l\nspaces:\n  - id: a\n    user_id: bot\n"
        "    exist:\n      - photos/\n      - docs/a.pdf\n    protect: ['contracts/**']\n"
    )
    manifest = write(tmp_path / "m.yaml", text)
    space = load_desired_state([manifest]).libraries[0].spaces[0]

    assert space.user_id == "bot"
    assert space.location == Location(manifest.as_posix(), 4, 5)
    assert [(rule.pattern, rule.mode, rule.location.line) for rule in space.exist] == [
        ("photos/", None, 7),
        ("docs/a.pdf", None, 8),
    ]
    assert space.protect[0].location == Location(manifest.as_posix(), 9, 15)
    assert space.protect[0].describe() == "protect contracts/** (m.yaml:9)"


def test_paths_are_nfc_normalised(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "café/résumé.pdf")
    text = f"version: 1\nlibrary: l\nspaces:\n  - id: a\n    exist: ['{decomposed}']\n"
    space = load_desired_state([write(tmp_path / "m.yaml", text)]).libraries[0].spaces[0]

    assert decomposed != "café/résumé.pdf"
    assert space.exist[0].pattern == unicodedata.normalize("NFC", "café/résumé.pdf")


def test_files_of_one_library_merge_sorted_by_space(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", "version: 1\nlibrary: lib\nspaces:\n  - id: zeta\n  - id: alpha\n")
    write(
        tmp_path / "a.yml",
        "version: 1\nlibrary: lib\nendpoint: http://127.0.0.1:9000\n"
        "safety: {max_deletes: 5}\nspaces:\n  - id: mid\nhistory: {clear: true}\n",
    )
    write(tmp_path / "other/c.yaml", "version: 1\nlibrary: else\nspaces:\n  - id: '-'\n")

    state = load_desired_state([tmp_path])

    assert [library.library for library in state.libraries] == ["else", "lib"]
    lib = state.libraries[1]
    assert [space.id for space in lib.spaces] == ["alpha", "mid", "zeta"]
    assert lib.sources == ((tmp_path / "a.yml").as_posix(), (tmp_path / "b.yaml").as_posix())
    assert lib.endpoint == "http://127.0.0.1:9000"
    assert lib.safety == Safety(max_deletes=5)
    assert lib.clear_history is True
    assert lib.history_location == Location((tmp_path / "a.yml").as_posix(), 7, 18)
    assert state.libraries[0].clear_history is False
    assert state.libraries[0].default_endpoint == "https://else.api.tencentsmh.cn"


def test_space_flags(tmp_path: Path) -> None:
    text = (
        "version: 1\nlibrary: l\nspaces:\n  - id: a\n    allow_whole_space: true\n"
        "    purge: ['*']\n    prune: ['']\n    recycle_bin: {empty: true}\n"
    )
    space = load_desired_state([write(tmp_path / "m.yaml", text)]).libraries[0].spaces[0]

    assert space.allow_whole_space is True
    assert space.empty_recycle_bin is True
    assert space.prune[0].pattern == ""
    assert space.prune[0].describe().startswith("prune (space root)")


def test_digest_is_stable_and_follows_the_bytes(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.yaml", MODES)
    first = load_desired_state([manifest]).digest
    again = load_desired_state([manifest]).digest

    assert first == again
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64

    manifest.write_text(MODES + "# a comment changes the bytes\n", encoding="utf-8")
    assert load_desired_state([manifest]).digest != first


def test_digest_does_not_depend_on_argument_order(tmp_path: Path) -> None:
    one = write(tmp_path / "one.yaml", "version: 1\nlibrary: l\nspaces:\n  - id: a\n")
    two = write(tmp_path / "two.yaml", "version: 1\nlibrary: l\nspaces:\n  - id: b\n")

    assert load_desired_state([one, two]).digest == load_desired_state([two, one]).digest


def test_invalid_manifests_raise_with_every_problem(tmp_path: Path) -> None:
    text = "version: 2\nlibrary: l\nspaces:\n  - id: a\n    exist: [/x]\n    purg: []\n"
    manifest = write(tmp_path / "m.yaml", text)

    with pytest.raises(InvalidManifests) as raised:
        load_desired_state([manifest])

    assert [problem.location.line for problem in raised.value.located] == [1, 5, 6]
    assert raised.value.problems == [str(problem) for problem in raised.value.located]
    assert raised.value.exit_code == 1


def test_example_manifests_resolve() -> None:
    state = load_desired_state([REPO / "manifests"])

    demo = next(library for library in state.libraries if library.library == "smhdemo")
    assert [space.id for space in demo.spaces] == ["archive", "marketing"]
    marketing = demo.space("marketing")
    assert marketing.empty_recycle_bin
    assert {rule.mode for rule in marketing.purge} == {Mode.RECYCLE, Mode.PERMANENT}
    assert marketing.prune and marketing.protect and marketing.exist
    assert demo.clear_history is False
