"""Render details a reader notices: colour only when wanted, and safe Markdown cells."""

from __future__ import annotations

import io
import os

import pytest

from reconciler.planner import make_plan
from reconciler.render import render_markdown, render_text
from reconciler.terminal import color_wanted
from tests.support import library_listing, library_spec, space_spec, walk


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def plan_with(paths: list[str], **spec: object):  # type: ignore[no-untyped-def]
    space = space_spec(**spec)  # type: ignore[arg-type]
    listing, _ = walk(space, paths)
    return make_plan(library_spec(space), library_listing(listing))


def test_colour_only_on_a_terminal_and_never_under_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert color_wanted(FakeTty(), os.environ)
    assert not color_wanted(io.StringIO(), os.environ)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_wanted(FakeTty(), os.environ)


def test_colour_marks_permanent_deletes_and_plain_text_says_the_same() -> None:
    plan = plan_with(["a/x.part", "b"], purge=[("**/*.part", "permanent")])
    coloured = render_text(plan, color=True)
    plain = render_text(plan, color=False)
    assert "\x1b[" in coloured and "\x1b[" not in plain
    assert "! a/x.part" in plain and "permanent" in plain


def test_markdown_cells_cannot_break_the_table() -> None:
    plan = plan_with(["we|ird `name`.part"], purge=["*.part"])
    text = render_markdown(plan)
    row = next(line for line in text.splitlines() if line.startswith("| 🟡 delete"))
    unescaped = row.replace("\\|", "")
    assert unescaped.count("|") == 7  # six cells: nothing in the path split the row
    assert "we\\|ird" in row


def test_an_offline_plan_says_how_old_its_listing_is() -> None:
    from dataclasses import replace

    plan = replace(plan_with(["a.part"], purge=["*.part"]), listed_at="2026-11-20T08:00:00.000Z")
    text = render_text(plan, now="2026-11-23T10:30:00.000Z")
    assert "from a listing made 2026-11-20T08:00:00.000Z, 3 d 2 h 30 min old" in text
    assert "2 h 30 min old" in render_markdown(plan, now="2026-11-20T10:30:59.000Z")
