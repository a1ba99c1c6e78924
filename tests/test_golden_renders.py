"""Golden files pin the text, JSON and Markdown renders of the example manifests.

Each example manifest in manifests/ is planned against its seed library in tests/golden/.
After an intended change of a render, regenerate with `UPDATE_GOLDEN=1 python -m pytest
tests/test_golden_renders.py` and review the diff like any other change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from reconciler.auth import Credentials
from reconciler.emulator import Emulator
from reconciler.manifest import load_desired_state
from reconciler.plan import Plan
from reconciler.render import Format, render
from reconciler.targets import Target, live_plan

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = ["single-tenant", "multi-tenant", "demo"]
SUFFIX = {Format.TEXT: "txt", Format.JSON: "json", Format.MARKDOWN: "md"}


def plan_example(name: str) -> Plan:
    (spec,) = load_desired_state([ROOT / "manifests" / f"{name}.yaml"]).libraries
    emu = Emulator.from_seed_file(GOLDEN / f"{name}.seed.yaml")
    target = Target(spec=spec, endpoint=spec.default_endpoint,
                    credentials=Credentials.from_env({"SMH_ACCESS_TOKEN": "golden-token"}),
                    transport=emu.transport())
    return live_plan(target)


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("name", EXAMPLES)
def test_render_matches_golden_file(name: str, fmt: Format) -> None:
    rendered = render(plan_example(name), fmt)
    golden = GOLDEN / f"{name}.plan.{SUFFIX[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", EXAMPLES)
def test_plan_json_follows_the_published_schema(name: str) -> None:
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    plan = plan_example(name)
    jsonschema.Draft202012Validator(schema).validate(json.loads(render(plan, Format.JSON)))
    assert plan.has_changes()
