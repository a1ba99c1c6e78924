"""One broken manifest per row: each is rejected with exactly one problem, on the right line
and column, with a message a person understands."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifest import check_paths

HEAD = "version: 1\nlibrary: smhdemo\n"

# (name, manifest text, line, column, where, words the message must contain)
BROKEN: list[tuple[str, str, int, int, str, str]] = [
    # -- YAML itself --------------------------------------------------------------------------
    ("duplicate_key", HEAD + "spaces:\n  - id: a\nlibrary: other\n", 5, 1, "library",
     "duplicate key `library` (first written on line 2)"),
    ("duplicate_key_in_space", HEAD + "spaces:\n  - id: a\n    exist: [x]\n    exist: [y]\n",
     6, 5, "spaces[0].exist", "duplicate key `exist`"),
    ("alias", HEAD + "spaces:\n  - id: a\n    exist: &paths [x]\n    protect: *paths\n",
     6, 14, "spaces[0].protect", "aliases (*paths) are not allowed"),
    ("python_tag", HEAD + "spaces:\n  - id: !!python/object:os.system a\n", 4, 9,
     "spaces[0].id", "tag !!python/object:os.system is not allowed"),
    ("custom_tag", HEAD + "spaces:\n  - id: a\n    exist: !paths [x]\n", 5, 12,
     "spaces[0].exist", "tag !paths is not allowed"),
    ("binary_tag", HEAD + "spaces:\n  - id: !!binary YWJj\n", 4, 9, "spaces[0].id",
     "tag !!binary is not allowed"),
    ("syntax_unclosed_flow", HEAD + "spaces:\n  - id: a\n    exist: [x, y\n", 6, 1, "",
     "invalid YAML"),
    ("syntax_bad_indent", HEAD + "spaces:\n  - id: a\n   exist: [x]\n", 5, 4, "",
     "invalid YAML: did not find expected '-' indicator"),
    ("tab_indent", HEAD + "spaces:\n\t- id: a\n", 4, 1, "", "invalid YAML"),
    ("two_documents", HEAD + "spaces:\n  - id: a\n---\nversion: 1\n", 5, 1, "",
     "holds one YAML document"),
    ("empty_file", "", 1, 1, "", "the file is empty"),
    ("comments_only", "# nothing here\n", 1, 1, "", "the file is empty"),
    ("control_character", HEAD + "spaces:\n  - id: a\x07b\n", 4, 10, "",
     "character U+0007 is not allowed"),
    # -- schema -------------------------------------------------------------------------------
    ("not_a_mapping", "- version: 1\n", 1, 1, "", "a manifest must be a mapping"),
    ("missing_version", "library: smhdemo\nspaces:\n  - id: a\n", 1, 1, "",
     "missing required key `version`"),
    ("missing_library", "version: 1\nspaces:\n  - id: a\n", 1, 1, "",
     "missing required key `library`"),
    ("missing_spaces", HEAD, 1, 1, "", "missing required key `spaces`"),
    ("wrong_version", "version: 2\nlibrary: smhdemo\nspaces:\n  - id: a\n", 1, 10, "version",
     "must be 1 (got the number 2)"),
    ("version_as_string", 'version: "1"\nlibrary: smhdemo\nspaces:\n  - id: a\n', 1, 10,
     "version", 'must be 1 (got "1")'),
    ("unknown_top_level_key", HEAD + "spaces:\n  - id: a\nspace:\n  - id: b\n", 5, 1, "space",
     "unknown key `space`; did you mean `spaces`?"),
    ("unknown_space_key", HEAD + "spaces:\n  - id: a\n    purg: [tmp/]\n", 5, 5,
     "spaces[0].purg", "unknown key `purg`; did you mean `purge`?"),
    ("unknown_key_no_suggestion", HEAD + "spaces:\n  - id: a\n    colour: red\n", 5, 5,
     "spaces[0].colour", "unknown key `colour`; known keys are"),
    ("spaces_empty", HEAD + "spaces: []\n", 3, 9, "spaces", "must not be empty"),
    ("spaces_mapping", HEAD + "spaces:\n  id: a\n", 4, 3, "spaces",
     "must be a list (got a mapping)"),
    ("space_without_id", HEAD + "spaces:\n  - exist: [x]\n", 4, 5, "spaces[0]",
     "missing required key `id`"),
    ("space_id_number", HEAD + "spaces:\n  - id: 42\n", 4, 9, "spaces[0].id",
     "must be a string (got the number 42)"),
    ("space_id_with_slash", HEAD + "spaces:\n  - id: a/b\n", 4, 9, "spaces[0].id",
     'must be "-" (single-tenant library) or a space id'),
    ("library_with_dot", "version: 1\nlibrary: smh.demo\nspaces:\n  - id: a\n", 2, 10,
     "library", "must be a LibraryId"),
    ("endpoint_not_url", HEAD + "endpoint: smhdemo.example\nspaces:\n  - id: a\n", 3, 11,
     "endpoint", "must be an http:// or https:// URL"),
    ("top_mode_typo", HEAD + "mode: delete\nspaces:\n  - id: a\n", 3, 7, "mode",
     'must be one of recycle, permanent (got "delete")'),
    ("purge_entry_mode_typo",
     HEAD + "spaces:\n  - id: a\n    purge:\n      - tmp/\n      - {pattern: x, mode: perm}\n",
     7, 28, "spaces[0].purge[1].mode", "must be one of recycle, permanent"),
    ("purge_entry_without_pattern",
     HEAD + "spaces:\n  - id: a\n    purge:\n      - {mode: permanent}\n", 6, 9,
     "spaces[0].purge[0]", "missing required key `pattern`"),
    ("purge_entry_list", HEAD + "spaces:\n  - id: a\n    purge:\n      - [tmp/]\n", 6, 9,
     "spaces[0].purge[0]", "must be a string or a mapping with `pattern` (got a list)"),
    ("purge_entry_unknown_key",
     HEAD + "spaces:\n  - id: a\n    purge:\n      - {pattern: tmp/, mod: permanent}\n", 6, 25,
     "spaces[0].purge[0].mod", "unknown key `mod`; did you mean `mode`?"),
    ("prune_entry_number", HEAD + "spaces:\n  - id: a\n    prune: [7]\n", 5, 13,
     "spaces[0].prune[0]", "must be a string or a mapping with `root`"),
    ("prune_entry_without_root",
     HEAD + "spaces:\n  - id: a\n    prune:\n      - {mode: recycle}\n", 6, 9,
     "spaces[0].prune[0]", "missing required key `root`"),
    ("exist_not_a_list", HEAD + "spaces:\n  - id: a\n    exist: photos/\n", 5, 12,
     "spaces[0].exist", "must be a list (got \"photos/\")"),
    ("exist_entry_mapping", HEAD + "spaces:\n  - id: a\n    exist:\n      - {pattern: x}\n",
     6, 9, "spaces[0].exist[0]", "must be a string (got a mapping)"),
    ("protect_empty_string", HEAD + "spaces:\n  - id: a\n    protect: ['']\n", 5, 15,
     "spaces[0].protect[0]", "must not be empty"),
    ("exist_null", HEAD + "spaces:\n  - id: a\n    exist:\n      -\n", 6, 8,
     "spaces[0].exist[0]", "must be a string (got null)"),
    ("recycle_bin_bool", HEAD + "spaces:\n  - id: a\n    recycle_bin: true\n", 5, 18,
     "spaces[0].recycle_bin", "must be a mapping with `empty`, `older_than` (got true)"),
    ("recycle_bin_empty_string",
     HEAD + "spaces:\n  - id: a\n    recycle_bin:\n      empty: 'yes'\n", 6, 14,
     "spaces[0].recycle_bin.empty", 'must be true or false (got "yes")'),
    ("allow_whole_space_string",
     HEAD + "spaces:\n  - id: a\n    allow_whole_space: yes\n", 5, 24,
     "spaces[0].allow_whole_space", 'must be true or false (got "yes")'),
    ("history_clear_string", HEAD + "spaces:\n  - id: a\nhistory:\n  clear: sometimes\n", 6, 10,
     "history.clear", "must be true or false"),
    ("safety_percent_too_high",
     HEAD + "safety:\n  max_delete_percent: 150\nspaces:\n  - id: a\n", 4, 23,
     "safety.max_delete_percent", "must be at most 100 (got the number 150)"),
    ("safety_negative_deletes", HEAD + "safety:\n  max_deletes: -1\nspaces:\n  - id: a\n",
     4, 16, "safety.max_deletes", "must be at least 0"),
    ("safety_min_existing_float",
     HEAD + "safety:\n  min_existing: 2.5\nspaces:\n  - id: a\n", 4, 17,
     "safety.min_existing", "must be a whole number (got the number 2.5)"),
    ("safety_percent_nan",
     HEAD + "safety:\n  max_delete_percent: .nan\nspaces:\n  - id: a\n", 4, 23,
     "safety.max_delete_percent", "must be a number (got .nan)"),
    ("user_id_empty", HEAD + "spaces:\n  - id: a\n    user_id: ''\n", 5, 14,
     "spaces[0].user_id", "must not be empty"),
    ("duration_without_unit",
     HEAD + "spaces:\n  - id: a\n    purge:\n      - {pattern: a.log, older_than: 90}\n",
     6, 38, "spaces[0].purge[0].older_than", "90 is not a duration: write an integer with a unit"),
    ("duration_unknown_unit",
     HEAD + "spaces:\n  - id: a\n    protect:\n      - {pattern: '**', newer_than: 1y}\n",
     6, 37, "spaces[0].protect[0].newer_than", "an integer with a unit s, m, h, d or w"),
    ("duration_fraction",
     HEAD + "spaces:\n  - id: a\n    prune:\n      - {root: x/, older_than: 1.5d}\n",
     6, 32, "spaces[0].prune[0].older_than", "must be a duration"),
    ("keep_newest_zero",
     HEAD + "spaces:\n  - id: a\n    purge:\n      - {pattern: b/*.tar, keep_newest: 0}\n",
     6, 41, "spaces[0].purge[0].keep_newest", "must be at least 1"),
    ("keep_newest_on_protect",
     HEAD + "spaces:\n  - id: a\n    protect:\n      - {pattern: b/*.tar, keep_newest: 3}\n",
     6, 28, "spaces[0].protect[0].keep_newest", "unknown key `keep_newest`"),
    ("size_negative",
     HEAD + "spaces:\n  - id: a\n    purge:\n      - {pattern: x, larger_than: -1}\n",
     6, 35, "spaces[0].purge[0].larger_than", "must be at least 0"),
    # -- semantics ----------------------------------------------------------------------------
    ("size_unknown_unit",
     HEAD + "spaces:\n  - id: a\n    purge:\n      - {pattern: x, larger_than: 5 GBs}\n",
     6, 35, "spaces[0].purge[0].larger_than", "'5 GBs' is not a size"),
    ("size_in_protect",
     HEAD + "spaces:\n  - id: a\n    protect:\n      - {pattern: x, smaller_than: lots}\n",
     6, 36, "spaces[0].protect[0].smaller_than", "'lots' is not a size"),
    ("leading_slash", HEAD + "spaces:\n  - id: a\n    exist: [/photos/]\n", 5, 13,
     "spaces[0].exist[0]", "must be relative to the space root"),
    ("dot_dot_segment", HEAD + "spaces:\n  - id: a\n    purge:\n      - photos/../tmp/\n", 6, 9,
     "spaces[0].purge[0]", "has a `..` segment"),
    ("dot_segment", HEAD + "spaces:\n  - id: a\n    protect: [./contracts/**]\n", 5, 15,
     "spaces[0].protect[0]", "has a `.` segment"),
    ("empty_segment", HEAD + "spaces:\n  - id: a\n    exist: [photos//2024]\n", 5, 13,
     "spaces[0].exist[0]", "has an empty segment"),
    ("backslash", HEAD + "spaces:\n  - id: a\n    exist: ['photos\\2024']\n", 5, 13,
     "spaces[0].exist[0]", "contains `\\`; separate directories with `/`"),
    ("colon_in_name", HEAD + "spaces:\n  - id: a\n    purge: ['tmp/a:b']\n", 5, 13,
     "spaces[0].purge[0]", "contains `:`, which SMH does not allow"),
    ("pipe_in_name", HEAD + "spaces:\n  - id: a\n    purge:\n      - {pattern: 'a|b'}\n", 6, 19,
     "spaces[0].purge[0].pattern", "contains `|`"),
    ("tab_in_path", HEAD + 'spaces:\n  - id: a\n    exist: ["a\\tb"]\n', 5, 13,
     "spaces[0].exist[0]", "control character (U+0009)"),
    ("name_too_long", HEAD + f"spaces:\n  - id: a\n    exist: [{'n' * 256}]\n", 5, 13,
     "spaces[0].exist[0]", "longer than 255 characters"),
    ("purge_star", HEAD + "spaces:\n  - id: a\n    purge: ['*']\n", 5, 13, "spaces[0].purge[0]",
     "matches every top-level name and would purge the whole space"),
    ("purge_globstar", HEAD + "spaces:\n  - id: a\n    purge:\n      - {pattern: '**'}\n", 6, 19,
     "spaces[0].purge[0].pattern", "allow_whole_space: true"),
    ("purge_globstar_star", HEAD + "spaces:\n  - id: a\n    purge: ['**/*']\n", 5, 13,
     "spaces[0].purge[0]", "matches every top-level name"),
    ("purge_every_directory", HEAD + "spaces:\n  - id: a\n    purge: ['*/']\n", 5, 13,
     "spaces[0].purge[0]", "matches every top-level name"),
    ("prune_whole_space", HEAD + "spaces:\n  - id: a\n    prune: ['']\n", 5, 13,
     "spaces[0].prune[0]", 'prune root "" is the whole space'),
    ("prune_whole_space_mapping",
     HEAD + "spaces:\n  - id: a\n    prune:\n      - {root: '', mode: permanent}\n", 6, 16,
     "spaces[0].prune[0].root", "is the whole space"),
    ("prune_root_twice",
     HEAD + "spaces:\n  - id: a\n    prune:\n      - photos/\n"
     "      - {root: photos, mode: permanent}\n", 7, 16, "spaces[0].prune[1].root",
     "prune root `photos` is already given (line 6)"),
    ("prune_root_pattern", HEAD + "spaces:\n  - id: a\n    prune: ['photos/*/']\n", 5, 13,
     "spaces[0].prune[0]", "a prune root is a directory, not a pattern"),
    ("purge_exist_twin",
     HEAD + "spaces:\n  - id: a\n    exist: [docs/handbook.pdf]\n"
     "    purge:\n      - tmp/\n      - docs/handbook.pdf\n", 8, 9, "spaces[0].purge[1]",
     "`docs/handbook.pdf` is also an `exist` path (line 5)"),
    ("purge_exist_twin_directory",
     HEAD + "spaces:\n  - id: a\n    exist: [tmp]\n    purge: [tmp/]\n", 6, 13,
     "spaces[0].purge[0]", "is also an `exist` path"),
    ("same_space_twice", HEAD + "spaces:\n  - id: a\n  - id: b\n  - id: a\n", 6, 9,
     "spaces[2].id", "space `a` of library `smhdemo` is already declared at"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "where", "words"),
    [pytest.param(*row[1:], id=row[0]) for row in BROKEN],
)
def test_broken_manifest_is_rejected_with_one_located_problem(
    tmp_path: Path, text: str, line: int, column: int, where: str, words: str
) -> None:
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(text, encoding="utf-8")

    problems = check_paths([manifest])

    assert len(problems) == 1, [str(problem) for problem in problems]
    problem = problems[0]
    assert (problem.location.line, problem.location.column) == (line, column), str(problem)
    assert problem.where == where
    assert words in problem.message
    prefix = f"{manifest.as_posix()}:{line}:{column}: "
    assert str(problem) == prefix + (f"{where}: " if where else "") + problem.message


def test_the_table_is_large_and_names_are_unique() -> None:
    assert len(BROKEN) >= 30
    assert len({row[0] for row in BROKEN}) == len(BROKEN)
