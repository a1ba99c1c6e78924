"""Semantic checks: whole-space patterns, path syntax, and problems across files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reconciler.manifest import check_paths
from reconciler.manifest.semantics import path_syntax_problem, takes_every_top_level_name
from reconciler.matching import Pattern


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("pattern", "whole"),
    [
        ("*", True),
        ("**", True),
        ("**/*", True),
        ("*/", True),
        ("**/", True),
        ("**/**", True),
        ("*/**", False),  # empties every directory but takes no top-level name itself
        ("?*", True),
        ("*?", True),
        ("??*", False),
        ("?", False),
        ("**/*/**", False),
        ("[!.]*", False),
        ("[a-z]*", False),
        ("*.jpg", False),
        ("**/*.part", False),
        ("tmp/", False),
        ("tmp/**", False),
        ("a*", False),
        ("**/tmp", False),
    ],
)
def test_patterns_that_take_every_top_level_name(pattern: str, whole: bool) -> None:
    assert takes_every_top_level_name(pattern) is whole


@pytest.mark.parametrize(
    "path",
    ["a", "a/", "photos/2024/", "**/*.part", "...", "a b/c d", "名前/写真.jpg", "[ab]c", "n" * 255],
)
def test_valid_paths(path: str) -> None:
    assert path_syntax_problem(path) is None


def test_whole_space_is_allowed_when_the_space_says_so(tmp_path: Path) -> None:
    text = (
        "version: 1\nlibrary: l\nspaces:\n  - id: a\n    allow_whole_space: true\n"
        "    purge: ['*', '**']\n    prune: ['']\n"
    )
    assert check_paths([write(tmp_path / "m.yaml", text)]) == []


def test_same_space_in_two_files_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "version: 1\nlibrary: l\nspaces:\n  - id: shared\n")
    second = write(
        tmp_path / "b.yaml", "version: 1\nlibrary: l\nspaces:\n  - id: other\n  - id: shared\n"
    )

    problems = check_paths([tmp_path])

    assert [str(problem) for problem in problems] == [
        f"{second.as_posix()}:5:9: spaces[1].id: space `shared` of library `l` is already "
        f"declared at {first.as_posix()}:4:9; each space may appear once across all manifests"
    ]


def test_same_space_id_in_two_libraries_is_fine(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "version: 1\nlibrary: one\nspaces:\n  - id: '-'\n")
    write(tmp_path / "b.yaml", "version: 1\nlibrary: two\nspaces:\n  - id: '-'\n")

    assert check_paths([tmp_path]) == []


def test_conflicting_endpoints_of_one_library(tmp_path: Path) -> None:
    first = write(
        tmp_path / "a.yaml",
        "version: 1\nlibrary: l\nendpoint: https://a.example\nspaces:\n  - id: x\n",
    )
    write(
        tmp_path / "b.yaml",
        "version: 1\nlibrary: l\nendpoint: https://b.example\nspaces:\n  - id: y\n",
    )
    write(tmp_path / "c.yaml", "version: 1\nlibrary: l\nspaces:\n  - id: z\n")

    problems = check_paths([tmp_path])

    assert len(problems) == 1
    assert problems[0].where == "endpoint"
    assert problems[0].location.file.endswith("b.yaml")
    assert f"https://a.example at {first.as_posix()}:3:11" in problems[0].message


def test_conflicting_safety_of_one_library(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        "version: 1\nlibrary: l\nsafety: {max_deletes: 10}\nspaces:\n  - id: x\n",
    )
    write(
        tmp_path / "b.yaml",
        "version: 1\nlibrary: l\nsafety: {max_deletes: 20}\nspaces:\n  - id: y\n",
    )

    problems = check_paths([tmp_path])

    assert [(problem.where, problem.location.line) for problem in problems] == [("safety", 3)]
    assert "different safety limits" in problems[0].message


def test_safety_spelled_out_with_defaults_is_no_conflict(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        "version: 1\nlibrary: l\nsafety: {max_delete_percent: 30}\nspaces:\n  - id: x\n",
    )
    write(
        tmp_path / "b.yaml",
        "version: 1\nlibrary: l\nsafety: {min_existing: 10}\nspaces:\n  - id: y\n",
    )

    assert check_paths([tmp_path]) == []


def test_several_problems_are_all_reported_sorted_by_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path / "b.yaml",
        "version: 1\nlibrary: l\nspaces:\n  - id: a\n    purge: ['*']\n    exist: [../x]\n",
    )
    write(
        tmp_path / "a.yaml",
        "version: 3\nlibrary: l\nmode: gone\nspaces:\n  - id: a\n    bogus: 1\n",
    )

    problems = check_paths([tmp_path])

    assert [(Path(p.location.file).name, p.location.line) for p in problems] == [
        ("a.yaml", 1),
        ("a.yaml", 3),
        ("a.yaml", 6),
        ("b.yaml", 4),  # space `a` again
        ("b.yaml", 5),
        ("b.yaml", 6),
    ]


def test_semantic_checks_run_beside_schema_errors(tmp_path: Path) -> None:
    text = "version: 1\nlibrary: l\nspaces:\n  - id: a\n    mode: often\n    exist: [/abs]\n"

    problems = check_paths([write(tmp_path / "m.yaml", text)])

    assert [problem.where for problem in problems] == ["spaces[0].mode", "spaces[0].exist[0]"]


def test_a_broken_file_does_not_hide_problems_of_the_others(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "version: 1\nlibrary: l\nspaces: [\n")
    write(tmp_path / "b.yaml", "version: 1\nlibrary: l\nspaces:\n  - id: a\n    exist: [/x]\n")

    problems = check_paths([tmp_path])

    assert [Path(problem.location.file).name for problem in problems] == ["a.yaml", "b.yaml"]


def test_missing_paths_and_empty_directories_are_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "notes/readme.txt", "not a manifest")

    problems = check_paths([tmp_path / "nope.yaml", tmp_path / "empty", tmp_path / "notes"])

    assert [problem.message for problem in problems] == [
        "directory holds no *.yaml or *.yml manifests",
        "no such file or directory",
        "directory holds no *.yaml or *.yml manifests",
    ]


def test_directories_are_searched_recursively_skipping_hidden_ones(tmp_path: Path) -> None:
    write(tmp_path / "deep/er/m.yml", "version: 1\nlibrary: l\nspaces:\n  - id: a\n")
    write(tmp_path / ".git/x.yaml", "not: [valid")

    assert check_paths([tmp_path]) == []


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.yaml", "version: 1\nlibrary: l\nspaces:\n  - id: a\n")

    assert check_paths([manifest, tmp_path, manifest]) == []


_SEGMENTS = st.sampled_from(["*", "**", "?", "??", "?*", "a", "[ab]", "[!a]*", "*.x", "b*"])
_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
    min_size=1,
    max_size=6,
)


@given(
    # Mostly `*` and `**`, so that many of the patterns drawn do take the whole space.
    segments=st.lists(st.sampled_from(["*", "**", "*", "**", "?*", "a"]), min_size=1,
                      max_size=3),
    trailing_slash=st.booleans(),
    name=_NAMES,
)
def test_a_whole_space_pattern_matches_any_top_level_name(
    segments: list[str], trailing_slash: bool, name: str
) -> None:
    pattern = "/".join(segments) + ("/" if trailing_slash else "")
    assume(takes_every_top_level_name(pattern))
    assert Pattern(pattern).matches(name, is_dir=True)


@given(segments=st.lists(_SEGMENTS, min_size=1, max_size=4), trailing_slash=st.booleans())
def test_a_pattern_not_taking_the_whole_space_misses_some_name(
    segments: list[str], trailing_slash: bool
) -> None:
    pattern = "/".join(segments) + ("/" if trailing_slash else "")
    assume(not takes_every_top_level_name(pattern))
    compiled = Pattern(pattern)
    assert not all(compiled.matches(name, is_dir=True) for name in ("a", "b", "bb", "x.x"))
