"""The plan as JSON: canonical bytes, described by schemas/plan.schema.json."""

from __future__ import annotations

from reconciler.plan import Plan, dumps


def render_json(plan: Plan) -> str:
    return dumps(plan.to_json())
