"""Renderers: a plan as text for terminals, JSON for machines, Markdown for pull requests.

Each renderer is a pure function of the plan (and, for text, whether to use colour);
none of them decides anything about the plan.
"""

from __future__ import annotations

from reconciler.options import Format
from reconciler.plan import Plan
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown


def render(plan: Plan, fmt: Format, *, color: bool = False, now: str | None = None,
           force: bool = False) -> str:
    """`plan` in `fmt`; `now` (ISO-8601 UTC) lets an offline plan say how old its listing is;
    `force` words the text render's warnings for an apply run with `--force`."""
    if fmt is Format.JSON:
        return render_json(plan)
    if fmt is Format.MARKDOWN:
        return render_markdown(plan, now=now)
    return render_text(plan, color=color, now=now, force=force)


def render_text(plan: Plan, *, color: bool = False, now: str | None = None,
                force: bool = False) -> str:
    """The text render (`reconciler.render.text`), loaded with rich when first asked for: a
    plan written as JSON or Markdown does without both."""
    from reconciler.render.text import render_text as text

    return text(plan, color=color, now=now, force=force)


__all__ = ["Format", "render", "render_json", "render_markdown", "render_text"]
