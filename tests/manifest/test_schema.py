"""The manifest JSON Schema: shipped, valid, used by the examples, and its fast path sound."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reconciler.manifest import schema as schema_module
from reconciler.manifest.schema import document_accept, fast_accept, inline_refs, load_schema

REPO = Path(__file__).resolve().parents[2]


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_top_level_schema_is_a_link_to_the_packaged_one() -> None:
    link = REPO / "schemas" / "manifest.schema.json"

    assert link.is_symlink()
    assert link.resolve() == (REPO / "reconciler" / "schemas" / "manifest.schema.json").resolve()
    assert json.loads(link.read_text(encoding="utf-8")) == load_schema()


def test_example_manifests_point_editors_at_the_schema() -> None:
    examples = sorted((REPO / "manifests").glob("*.yaml"))

    assert {path.name for path in examples} >= {
        "single-tenant.yaml",
        "multi-tenant.yaml",
        "demo.yaml",
    }
    for path in examples:
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        assert first_line == "# yaml-language-server: $schema=../schemas/manifest.schema.json"
        assert (path.parent / "../schemas/manifest.schema.json").exists()


def test_every_key_of_the_spec_example_is_in_the_schema() -> None:
    schema = load_schema()
    space = schema["$defs"]["space"]["properties"]

    assert set(schema["properties"]) == {
        "version", "library", "endpoint", "mode", "safety", "spaces", "history",
    }
    assert set(space) == {
        "id", "user_id", "mode", "allow_whole_space", "create_missing", "exist", "protect",
        "purge", "prune", "recycle_bin",
    }


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False, width=16)
    | st.sampled_from(["", "tmp/", "recycle", "permanent", "x", "-", "Recycle"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(["pattern", "root", "mode", "empty", "id", "other"]), children, max_size=3
    ),
    max_leaves=6,
)


def _item_schemas() -> list[tuple[str, Any]]:
    schema = load_schema()
    inlined = inline_refs(schema, schema["$defs"])
    space = inlined["properties"]["spaces"]["items"]["properties"]
    return [
        ("path", space["exist"]["items"]),
        ("purge", space["purge"]["items"]),
        ("prune", space["prune"]["items"]),
        ("mode", space["mode"]),
        ("recycle_bin", space["recycle_bin"]),
        ("library", inlined["properties"]["library"]),
    ]


@settings(max_examples=400)
@given(instance=_JSON)
def test_fast_path_never_accepts_what_jsonschema_rejects(instance: Any) -> None:
    for name, subschema in _item_schemas():
        accept = fast_accept(subschema)
        assert accept is not None, name
        if accept(instance):
            assert Draft202012Validator(subschema).is_valid(instance), (name, instance)


def test_fast_path_accepts_the_common_entries() -> None:
    schemas = dict(_item_schemas())
    purge = fast_accept(schemas["purge"])
    assert purge is not None
    assert purge("tmp/")
    assert purge({"pattern": "**/*.part", "mode": "permanent"})
    assert not purge({"pattern": "x", "mode": "perm"})
    assert not purge("")


def test_fast_path_declines_schemas_it_does_not_understand() -> None:
    assert fast_accept({"oneOf": [{"type": "string"}]}) is None
    assert fast_accept({"type": "number"}) is None
    assert fast_accept({"type": "object", "additionalProperties": {"type": "string"}}) is None


@functools.cache
def _manifests() -> list[Any]:
    documents = []
    for path in sorted((REPO / "manifests").glob("*.yaml")):
        documents.append(yaml.safe_load(path.read_text(encoding="utf-8")))
    return documents


def _manifest_validator() -> Any:
    return schema_module._validator()


@functools.cache
def _document_accept() -> Any:
    return document_accept(inline_refs(load_schema(), load_schema()["$defs"]))


def test_the_whole_document_path_accepts_the_example_manifests_without_jsonschema() -> None:
    accept = _document_accept()
    documents = _manifests()
    assert len(documents) >= 3
    for document in documents:
        assert _manifest_validator().is_valid(document)
        assert accept(document)


def _replace_at(document: Any, steps: list[int], value: Any) -> Any:
    """`document` with the leaf the `steps` lead to (each an index into a node's children,
    the first child once they run out) replaced by `value`."""
    if not isinstance(document, dict | list) or not document:
        return value
    steps = steps or [0]
    if isinstance(document, dict):
        keys = sorted(document, key=str)
        key = keys[steps[0] % len(keys)]
        return {**document, key: _replace_at(document[key], steps[1:], value)}
    index = steps[0] % len(document)
    return [*document[:index], _replace_at(document[index], steps[1:], value),
            *document[index + 1:]]


_LEAF = (st.none() | st.booleans() | st.integers(-3, 200) | st.integers(10**20, 10**30)
         | st.floats(allow_nan=True, allow_infinity=True)
         | st.sampled_from(["", "tmp/", "recycle", "permanent", "x", "-", "1", "50 GB", "7d",
                            "sha", "2027-01-01"]))


_PLAUSIBLE = st.sampled_from(["tmp/", "a/b.txt", "**/*.part", "recycle", "permanent", "7d",
                              "50 GB", 0, 1, 60, 100, 101, -1, 2.5, True, False, None])


@settings(max_examples=400, deadline=None)
@given(which=st.integers(0, 2), steps=st.lists(st.integers(0, 50), min_size=1, max_size=6),
       value=_PLAUSIBLE | _PLAUSIBLE | _PLAUSIBLE | st.recursive(
           _LEAF, lambda children: st.lists(children, max_size=2) | st.dictionaries(
               st.sampled_from(["pattern", "root", "mode", "id", "other", "empty", "exist",
                                "older_than", "max_deletes"]), children, max_size=2),
           max_leaves=4),
       extra=st.sampled_from([None, None, None, "other", "mode", "history", "safety"]))
def test_the_whole_document_path_never_accepts_what_the_validator_rejects(
    which: int, steps: list[int], value: Any, extra: str | None
) -> None:
    document = _replace_at(_manifests()[which], steps, value)
    if extra is not None and isinstance(document, dict):
        document = {**document, extra: value}
    if _document_accept()(document):
        assert _manifest_validator().is_valid(document), document


def test_the_whole_document_path_declines_what_it_does_not_understand() -> None:
    accept = document_accept({"type": "object", "properties": {"a": {"oneOf": [True]}}})
    assert accept({}) and not accept({"a": 1})
    assert not document_accept({"anyOf": [True]})({})


def test_the_whole_document_path_takes_valid_edits_and_leaves_invalid_ones_to_jsonschema() -> None:
    demo = _manifests()[0]
    safety = demo["safety"]
    space = demo["spaces"][0]
    valid = [
        {**demo, "safety": {**safety, "max_delete_percent": 100}},
        {**demo, "safety": {**safety, "max_delete_percent": 12.5}},
        {**demo, "spaces": [{**space, "purge": [*space["purge"], "x/"]}]},
    ]
    invalid = [
        {**demo, "version": 2},
        {**demo, "version": True},
        {**demo, "spaces": []},
        {**demo, "other": 1},
        {**demo, "safety": {**safety, "max_delete_percent": 101}},
        {**demo, "safety": {**safety, "max_delete_percent": float("nan")}},
        {**demo, "safety": {**safety, "max_delete_percent": True}},
        {**demo, "spaces": [{**space, "mode": "perm"}]},
        {**demo, "spaces": [{**space, "purge": [{"pattern": "x", "mode": "perm"}]}]},
    ]
    for document in valid:
        assert _manifest_validator().is_valid(document) and _document_accept()(document)
    for document in invalid:
        assert not _manifest_validator().is_valid(document), document
        assert not _document_accept()(document), document
