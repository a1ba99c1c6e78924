"""Schema validation of one manifest document, with messages a person understands.

The JSON Schema (`reconciler/schemas/manifest.schema.json`, Draft 2020-12) is the single
description of the manifest's shape: editors use it as is, and this module runs it with
`jsonschema`. Each raw validation error is rewritten into a plain sentence and located on the
line and column of the offending value (or of the unknown key).

Large manifests are mostly long lists of path strings. jsonschema's per-item descent costs a
few microseconds each, so the `items` keyword gets a fast path: an item that is a string and
plainly satisfies every string keyword of the item schema (`minLength`, `maxLength`,
`pattern`) is accepted without descending; anything else descends as usual and gets
jsonschema's own verdict. The fast path only applies to item schemas made of keywords whose
meaning for a string it fully knows.

The same predicates, over the whole schema (`document_accept`), accept most valid manifests
outright: jsonschema is then not even loaded, which is most of what `validate` costs to start.
A document they do not accept (invalid, or merely unusual) gets jsonschema's verdict and its
errors, as always.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from reconciler.manifest.problems import PathStep, Problem, format_where
from reconciler.manifest.yaml_loader import YamlDocument
from reconciler.shipped import shipped_text

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

SCHEMA_RESOURCE = "schemas/manifest.schema.json"

_ANNOTATIONS = frozenset(
    {"description", "title", "default", "examples", "$comment", "patternErrorMessage",
     "markdownDescription", "deprecated"}
)
_FAST_KEYWORDS = frozenset(
    {"type", "minLength", "maxLength", "pattern", "enum", "const", "required", "properties",
     "additionalProperties", "minimum"}
)
# What the whole-document predicate understands besides: lists, upper bounds, and the root's
# identification (its references are inlined).
_DOCUMENT_KEYWORDS = _FAST_KEYWORDS | {"items", "minItems", "maximum", "$schema", "$id"}

Accept = Callable[[Any], bool]


def load_schema() -> dict[str, Any]:
    """The manifest JSON Schema as shipped inside the package."""
    schema: dict[str, Any] = json.loads(shipped_text(SCHEMA_RESOURCE))
    return schema


def inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """Replace local `#/$defs/NAME` references by their target (siblings win).

    Inlined schemas let the fast path see an item schema's keywords, and spare jsonschema a
    reference lookup per list item.
    """
    if isinstance(node, list):
        return [inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: inline_refs(value, defs) for key, value in node.items() if key != "$defs"}
    ref = out.pop("$ref", None)
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = inline_refs(defs[ref[len("#/$defs/"):]], defs)
        return {**target, **out}
    if ref is not None:
        out["$ref"] = ref
    return out


def _type_accept(name: str, *, document: bool = False) -> Accept | None:
    if document and name == "array":
        return lambda value: type(value) is list
    if document and name == "number":
        # As the manifest validator counts numbers: `.nan` is none.
        return lambda value: type(value) is int or (type(value) is float
                                                     and not math.isnan(value))
    if name == "string":
        return lambda value: type(value) is str
    if name == "object":
        return lambda value: type(value) is dict
    if name == "boolean":
        return lambda value: type(value) is bool
    if name == "null":
        return lambda value: value is None
    if name == "integer":
        return lambda value: type(value) is int
    return None


def fast_accept(schema: Any) -> Accept | None:
    """A predicate that is true only for instances `schema` accepts, or None.

    It may say False for a valid instance (jsonschema then decides), never True for an
    invalid one. Schemas using any keyword beyond a small, fully understood set get None.
    """
    return _compile(schema, document=False)


def document_accept(schema: Any) -> Accept:
    """A predicate that is true only for documents `schema` (inlined) accepts.

    As `fast_accept`, and it also understands lists, upper bounds and numbers; a part of the
    schema it does not understand accepts nothing, so that jsonschema decides."""
    accept = _compile(schema, document=True)
    return accept if accept is not None else _nothing


def _nothing(value: Any) -> bool:
    return False


def _compile(schema: Any, *, document: bool) -> Accept | None:
    """`fast_accept`; with `document`, for a whole document (see `document_accept`)."""
    if schema is True:
        return lambda value: True
    known = _DOCUMENT_KEYWORDS if document else _FAST_KEYWORDS
    if not isinstance(schema, dict) or not set(schema) - _ANNOTATIONS <= known:
        return None
    checks: list[Accept] = []
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        type_checks = [_type_accept(name, document=document) for name in names]
        if any(check is None for check in type_checks):
            return None
        checks.append(lambda value: any(check(value) for check in type_checks if check))
    min_length = schema.get("minLength", 0)
    max_length = schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
    if min_length or max_length is not None or pattern is not None:
        def string_ok(value: Any) -> bool:
            if type(value) is not str:
                return True
            if len(value) < min_length or (max_length is not None and len(value) > max_length):
                return False
            return pattern is None or pattern.search(value) is not None

        checks.append(string_ok)
    if "minimum" in schema:
        minimum = schema["minimum"]
        checks.append(lambda value: type(value) not in (int, float) or value >= minimum)
    if "maximum" in schema:
        maximum = schema["maximum"]
        checks.append(lambda value: type(value) not in (int, float) or value <= maximum)
    if "minItems" in schema:
        least = schema["minItems"]
        checks.append(lambda value: type(value) is not list or len(value) >= least)
    if "items" in schema:
        item = _compile(schema["items"], document=document)
        if item is None:
            return None
        checks.append(lambda value: type(value) is not list or all(map(item, value)))
    for keyword in ("enum", "const"):
        if keyword in schema:
            allowed = schema[keyword] if keyword == "enum" else [schema[keyword]]
            # Only strings are compared here: JSON equality of numbers and booleans differs
            # from Python's, and jsonschema knows how.
            checks.append(_one_of(allowed, document=document))
    if {"required", "properties", "additionalProperties"} & set(schema):
        required = tuple(schema.get("required", ()))
        properties = {
            name: _compile(subschema, document=document)
            for name, subschema in schema.get("properties", {}).items()
        }
        if document:
            # A property it does not understand: a document that has it goes to jsonschema.
            properties = {name: check or _nothing for name, check in properties.items()}
        extra = schema.get("additionalProperties", True)
        if extra not in (True, False) or any(check is None for check in properties.values()):
            return None

        def object_ok(value: Any) -> bool:
            if type(value) is not dict:
                return True
            if any(name not in value for name in required):
                return False
            for name, item in value.items():
                check = properties.get(name)
                if check is None:
                    if extra is False:
                        return False
                elif not check(item):
                    return False
            return True

        checks.append(object_ok)
    return lambda value: all(check(value) for check in checks)


def _one_of_strings(strings: frozenset[str]) -> Accept:
    return lambda value: type(value) is str and value in strings


def _one_of(allowed: list[Any], *, document: bool) -> Accept:
    """Strings (and, for a whole document, integers and null) among `allowed`: those JSON and
    Python compare alike."""
    strings = _one_of_strings(frozenset(item for item in allowed if type(item) is str))
    if not document:
        return strings
    integers = frozenset(item for item in allowed if type(item) is int)
    null = any(item is None for item in allowed)
    return lambda value: (strings(value) or (type(value) is int and value in integers)
                          or (null and value is None))


# Compiled predicates by the identity of the (long-lived, inlined) item schema.
_accepts: dict[int, tuple[Any, Accept | None]] = {}


def _accept_for(schema: Any) -> Accept | None:
    cached = _accepts.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _accepts[id(schema)] = (schema, fast_accept(schema))
    return cached[1]


@cache
def _inlined() -> dict[str, Any]:
    schema = load_schema()
    inlined: dict[str, Any] = inline_refs(schema, schema.get("$defs", {}))
    return inlined


@cache
def _document_accept() -> Accept:
    return document_accept(_inlined())


@cache
def _validator() -> Validator:
    """The manifest validator: Draft 2020-12 with the `items` fast path, and no NaN number."""
    from jsonschema import Draft202012Validator, validators

    draft_items = Draft202012Validator.VALIDATORS["items"]

    def items(validator: Any, items: Any, instance: Any,
              schema: Mapping[str, Any]) -> Iterator[ValidationError]:
        accept = None if "prefixItems" in schema else _accept_for(items)
        if accept is None or not isinstance(instance, list):
            yield from draft_items(validator, items, instance, schema)
            return
        for index, item in enumerate(instance):
            if not accept(item):
                yield from validator.descend(item, items, path=index)

    def is_number(checker: Any, instance: Any) -> bool:
        # YAML's `.nan` is no JSON number, and it would pass every `minimum` and `maximum`.
        return bool(
            Draft202012Validator.TYPE_CHECKER.is_type(instance, "number")
            and not (isinstance(instance, float) and math.isnan(instance))
        )

    kind: Any = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        {"items": items},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("number", is_number),
    )
    validator: Validator = kind(_inlined())
    return validator


def check_schema(document: YamlDocument) -> list[Problem]:
    """Every schema violation of `document`, located and in plain words."""
    if document.data is None:
        return [
            Problem(
                document.location(()),
                "",
                "the file is empty; a manifest needs `version`, `library` and `spaces`",
            )
        ]
    if _document_accept()(document.data):
        return []
    problems: list[Problem] = []
    for error in _validator().iter_errors(document.data):
        problems.extend(_explain(document, error))
    return problems


def _explain(document: YamlDocument, error: ValidationError) -> list[Problem]:
    path: list[PathStep] = list(error.absolute_path)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    value: Any = error.validator_value

    def at(message: str, where: list[PathStep] = path, *, key: bool = False) -> Problem:
        return Problem(document.location(where, key=key), format_where(where), message)

    if kind == "required" and isinstance(instance, dict):
        missing = [name for name in value if name not in instance]
        return [at(f"missing required key `{name}`") for name in missing]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = sorted(schema.get("properties", {}))
        problems = []
        for name in instance:
            if name in known:
                continue
            message = f"unknown key `{name}`"
            import difflib  # here: a manifest seldom has an unknown key

            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
            if close:
                message += f"; did you mean `{close[0]}`?"
            else:
                message += f"; known keys are {', '.join(known)}"
            problems.append(at(message, [*path, name], key=True))
        return problems
    if kind == "enum":
        return [at(f"must be one of {', '.join(map(str, value))} (got {_describe(instance)})")]
    if kind == "const":
        return [at(f"must be {json.dumps(value)} (got {_describe(instance)})")]
    if kind == "type":
        if not path:
            return [
                at(
                    "a manifest must be a mapping with `version`, `library` and `spaces` "
                    f"(got {_describe(instance)})"
                )
            ]
        return [at(f"must be {_expected(value, schema)} (got {_describe(instance)})")]
    if kind == "minItems":
        return [at("must not be empty" if value == 1 else f"must have at least {value} entries")]
    if kind == "minLength":
        return [at("must not be empty" if value == 1 else f"must be at least {value} characters")]
    if kind == "maxLength":
        return [at(f"must be at most {value} characters")]
    if kind == "pattern":
        return [at(str(schema.get("patternErrorMessage", f"must match {value}")))]
    if kind == "minimum":
        return [at(f"must be at least {value} (got {_describe(instance)})")]
    if kind == "maximum":
        return [at(f"must be at most {value} (got {_describe(instance)})")]
    if kind in ("oneOf", "anyOf"):
        branch = _matching_branch(error)
        if branch is not None:
            return [problem for sub in branch for problem in _explain(document, sub)]
        return [at(f"must be one of the forms the schema allows (got {_describe(instance)})")]
    return [at(error.message)]


def _matching_branch(error: ValidationError) -> list[ValidationError] | None:
    """The errors of the one alternative whose type fits the instance, if exactly one does."""
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        subs
        for subs in branches.values()
        if not any(sub.validator == "type" and not sub.relative_path for sub in subs)
    ]
    return fitting[0] if len(fitting) == 1 else None


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "null": "null",
}


def _expected(types: Any, schema: Mapping[str, Any]) -> str:
    words = []
    for name in [types] if isinstance(types, str) else list(types):
        if name == "object":
            # Name the keys when they are few, else only the required ones.
            keys = list(schema.get("properties", {}))
            if len(keys) > 3:
                keys = list(schema.get("required", []))
            shown = ", ".join(f"`{key}`" for key in keys)
            words.append(f"a mapping with {shown}" if shown else "a mapping")
        else:
            words.append(_TYPE_WORDS.get(name, name))
    return " or ".join(words)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else f"{'-' if value < 0 else ''}.inf"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
