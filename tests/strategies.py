"""Hypothesis strategies shared by the property tests: random trees (with names that differ
only in case or Unicode normalisation), random manifests over a fixed set of globs, prune roots
and modes, and a manifest's YAML text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.apply.support import LIBRARY

NFC_E = "\u00e9"  # é as one code point
NFD_E = "e\u0301"  # é as e + combining acute: the same name once NFC-normalised
NAMES = ["a", "b", "c", "x.part", "y.jpg", "B", ".h", NFC_E, NFD_E]
GLOBS = ["a/", "a", "a/**", "**/*.part", "*/b/", "b", "a/b", "a/b/c", "**/c/", "*.jpg",
         "a/*", "**/b/**", "c/", "b/a/", "*/*/c",
         # `?`, character classes, dir-only globstars, case and NFC/NFD spellings
         "?", "?/b", "**/?", "[ab]", "[!a]", "[!a]/", "[a-c]/**", "**/[b]/**", "a/[!b]",
         "*/", "**/", "a/**/", "*/**", "**/*[ab]", "[!.]*/**", "**/.h", "B/", "a?",
         NFC_E, NFD_E + "/", NFC_E + "/**", "*" + NFD_E, "**/" + NFD_E + "/",
         NFC_E + "/a", NFD_E + "/" + NFC_E + "/", "a/" + NFD_E + "/b"]
ROOTS = ["a/", "b/", "a/b/", "c/a/", "", "a/b/c/", "x.part/", NFC_E + "/", NFD_E + "/a/",
         "a/" + NFD_E + "/"]
MODES = ["recycle", "permanent"]

paths_strategy = st.lists(
    st.tuples(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5), st.booleans()),
    min_size=1,
    max_size=30,
).map(lambda items: sorted({"/".join(segs) + ("/" if is_dir else "") for segs, is_dir in items}))

moded = st.tuples(st.sampled_from(GLOBS), st.sampled_from(MODES))
manifest_strategy = st.fixed_dictionaries({
    "exist": st.lists(st.sampled_from(GLOBS), max_size=3),
    "protect": st.lists(st.sampled_from(GLOBS), max_size=2),
    "purge": st.lists(moded, max_size=5),
    "prune": st.lists(st.tuples(st.sampled_from(ROOTS), st.sampled_from(MODES)), max_size=2),
    "mode": st.sampled_from(MODES),
})


def consistent(paths: list[str]) -> list[str]:
    """Drop paths that would make a file also a directory."""
    kinds: dict[str, bool] = {}
    kept = []
    for raw in paths:
        segments = raw.strip("/").split("/")
        clash = False
        for depth in range(1, len(segments) + 1):
            path = "/".join(segments[:depth])
            is_dir = depth < len(segments) or raw.endswith("/")
            if kinds.get(path, is_dir) != is_dir:
                clash = True
        if not clash:
            for depth in range(1, len(segments) + 1):
                kinds["/".join(segments[:depth])] = depth < len(segments) or raw.endswith("/")
            kept.append(raw)
    return kept


# A manifest for end-to-end runs: it always purges something, and its prune roots are never
# the whole space.
apply_manifests = st.fixed_dictionaries({
    "exist": st.lists(st.sampled_from(GLOBS), max_size=3),
    "protect": st.lists(st.sampled_from(GLOBS), max_size=2),
    "purge": st.lists(moded, min_size=1, max_size=5),
    "prune": st.lists(st.tuples(st.sampled_from([r for r in ROOTS if r]),
                                st.sampled_from(MODES)), max_size=2),
})


def manifest_text(manifest: dict[str, Any]) -> str:
    def entries(key: str, field: str | None = None) -> str:
        items = manifest[key]
        if field is None:
            return f"    {key}: {json.dumps(items)}\n"
        return f"    {key}: {json.dumps([{field: p, 'mode': m} for p, m in items])}\n"

    return (f"version: 1\nlibrary: {LIBRARY}\nsafety: {{max_delete_percent: 100}}\n"
            'spaces:\n  - id: "-"\n    allow_whole_space: true\n'
            + entries("exist") + entries("protect") + entries("purge", "pattern")
            + entries("prune", "root"))
