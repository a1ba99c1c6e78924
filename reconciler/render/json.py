"""The plan as JSON: canonical bytes, described by schemas/plan.schema.json."""

from __future__ import annotations

from reconciler.auth import apply_grants
from reconciler.plan import Plan, dumps


def render_json(plan: Plan) -> str:
    data = plan.to_json()
    grants = apply_grants(plan)
    if grants:
        # What apply's token must grant: a plan is made with a read-only one.
        data["apply_grants"] = [{"space": space, "grants": list(names)}
                                for space, names in grants]
    return dumps(data)
