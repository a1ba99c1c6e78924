"""The Markdown plan as a reviewer sees it: rendered by a CommonMark/GFM renderer, then read.

Every assertion is on the rendered HTML's text (what GitHub shows), not only on the source.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from reconciler.desired import Mode
from reconciler.listing import EntryType
from reconciler.plan import CreateDirectory, Delete, EmptyRecycleBin, Missing, Plan, SpaceReport
from reconciler.render import render_json, render_markdown, render_text
from reconciler.render.markdown import COLUMNS

GITHUB_COMMENT_LIMIT = 65_536


class Page(HTMLParser):
    """The rendered comment: its code spans, headings, emphasis and all text, in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.codes: list[str] = []
        self.headings: list[str] = []
        self.emphasis: list[str] = []
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self.text = ""
        self._open: list[str] = []
        self._buffer: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._open.append(tag)
        self._buffer[tag] = ""
        if tag == "tr":
            self.rows.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            self._open.remove(tag)
        text = self._buffer.pop(tag, "")
        if tag == "code":
            self.codes.append(text)
        elif tag in ("h1", "h2", "h3", "h4"):
            self.headings.append(text)
        elif tag in ("em", "strong"):
            self.emphasis.append(text)
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append(text)

    def handle_data(self, data: str) -> None:
        self.text += data
        for tag in self._open:
            self._buffer[tag] = self._buffer.get(tag, "") + data


def rendered(markdown: str) -> Page:
    return Page(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown))


def delete(space: str, path: str, mode: Mode = Mode.RECYCLE, reason: str = "purge x (m.yaml:3)",
           kind: EntryType = EntryType.FILE) -> Delete:
    return Delete(space=space, path=path, type=kind, mode=mode, reason=reason)


def report(space: str, listed: int = 10_000) -> SpaceReport:
    return SpaceReport(space=space, listed=listed, removed=0, recycle_bin=True)


def two_space_plan() -> Plan:
    """5,000 recycle deletes in `bulk`, 20 permanent deletes in `other`."""
    bulk = [delete("bulk", f"exports/2025/batch-{i // 100:03d}/render-{i:05d}-final.mov",
                   reason="prune exports/ (bulk.yaml:12)") for i in range(5_000)]
    other = [delete("other", f"secrets/keep-{i:02d}.key", Mode.PERMANENT,
                    reason="purge secrets/*.key (other.yaml:7)") for i in range(20)]
    return Plan(library="smhbig", changes=(*bulk, *other),
                spaces=(report("bulk"), report("other")))


def test_a_5020_item_two_space_plan_shows_all_20_permanent_deletes_and_both_spaces() -> None:
    markdown = render_markdown(two_space_plan())
    assert len(markdown) < GITHUB_COMMENT_LIMIT
    assert len(markdown.encode("utf-16-le")) // 2 < GITHUB_COMMENT_LIMIT
    page = rendered(markdown)
    for i in range(20):
        assert f"secrets/keep-{i:02d}.key" in page.codes
    headings = " ".join(page.headings)
    assert "space bulk: 5000 to delete (5000 to the recycle bin)" in headings
    assert "space other: 20 to delete (20 permanently)" in headings
    assert "not shown (" in page.text and "to the recycle bin); the full plan" in page.text
    # Nothing permanent was cut, so the comment does not open with a warning about it.
    assert "permanent deletes not shown" not in page.text


def test_recycle_rows_are_cut_before_any_permanent_row() -> None:
    plan = two_space_plan()
    page = rendered(render_markdown(plan, limit=6_000))
    shown = {code for code in page.codes if code.startswith("secrets/")}
    recycle = [code for code in page.codes if code.startswith("exports/")]
    assert len(shown) == 20
    assert 0 < len(recycle) < 5_000


def test_cut_permanent_rows_are_counted_per_space_in_the_first_lines() -> None:
    permanent = [delete(space, f"{space}/gone-{i:03d}.bin", Mode.PERMANENT)
                 for space in ("alpha", "beta") for i in range(200)]
    recycle = [delete("alpha", f"alpha/old-{i:03d}.bin") for i in range(50)]
    plan = Plan(library="smhbig", changes=(*permanent, *recycle),
                spaces=(report("alpha"), report("beta")))
    markdown = render_markdown(plan, limit=8_000)
    page = rendered(markdown)
    first_visible = markdown.split("\n", 1)[1].split("\n\n", 1)[0]
    opening = rendered(first_visible).text
    assert "permanent deletes not shown" in opening
    shown_alpha = sum(1 for code in page.codes if code.startswith("alpha/gone-"))
    shown_beta = sum(1 for code in page.codes if code.startswith("beta/gone-"))
    assert 0 < shown_alpha < 200 and 0 < shown_beta < 200
    assert f"space alpha: {200 - shown_alpha} of 200" in opening
    assert f"space beta: {200 - shown_beta} of 200" in opening
    # No recycle row while permanent ones are cut; both headings with their counts.
    assert not any(code.startswith("alpha/old-") for code in page.codes)
    headings = " ".join(page.headings)
    assert "space alpha: 250 to delete (200 permanently, 50 to the recycle bin)" in headings
    assert "space beta: 200 to delete (200 permanently)" in headings
    assert len(markdown) < 8_000


def test_within_a_space_permanent_deletes_come_first() -> None:
    plan = Plan(library="smhdemo", changes=(
        delete("-", "a.tmp"), delete("-", "z.part", Mode.PERMANENT), delete("-", "m.tmp"),
    ), spaces=(report("-", 10),))
    page = rendered(render_markdown(plan))
    paths = [row[1] for row in page.rows if row and row[0].endswith("delete")]
    assert paths == ["z.part", "a.tmp", "m.tmp"]


@pytest.mark.parametrize("reason", [
    "purge **/__init__* (m.yaml:4)",
    "purge _a_/*b* [x](http://evil) <b>bold</b> $x^2$ | (m.yaml:4)",
])
def test_reasons_render_literally(reason: str) -> None:
    plan = Plan(library="smhdemo", changes=(delete("-", "pkg/__init__.py", reason=reason),),
                spaces=(report("-", 10),))
    page = rendered(render_markdown(plan))
    assert reason in page.codes
    assert "pkg/__init__.py" in page.codes
    assert not page.emphasis[1:]  # only the bold summary line
    assert "a" not in page.tags and "b" not in page.tags


@pytest.mark.parametrize("name", [
    "we|ird `name`.part",
    "``double`` and ` single",
    "`leading",
    " spaced ",
    "<script>alert(1)</script>|x",
    "a\\|b",
    "**not bold**",
])
def test_a_name_cannot_change_the_rendering(name: str) -> None:
    plan = Plan(library="smhdemo", changes=(
        delete("-", name), delete("-", name + ".2", Mode.PERMANENT),
    ), missing=(Missing("-", name + "/m", "exist x"),), spaces=(report("-", 10),))
    page = rendered(render_markdown(plan))
    assert name in page.codes and name + ".2" in page.codes and name + "/m" in page.codes
    table = [row for row in page.rows if row and row[0] != ""]
    assert all(len(row) == len(COLUMNS) for row in table
               if row[0].endswith(("delete", "missing")))
    assert "script" not in page.tags


def test_bidi_and_control_characters_are_escaped_in_text_and_markdown_but_not_json() -> None:
    tricky = "invoice\u202egpj.exe"
    also = "a\u2066b\u200fc\u061cd\x1be\nf"
    plan = Plan(library="smhdemo", changes=(
        delete("-", tricky, Mode.PERMANENT, reason=f"purge {also} (m.yaml:3)"),
        EmptyRecycleBin("-", 0, "recycle_bin.empty (m.yaml:9)"),
        CreateDirectory("-", "in\u202ebox", "exist in\u202ebox/ (m.yaml:4)"),
    ), missing=(Missing("-", also, f"exist {also}"),), spaces=(report("-", 10),))
    escaped = "a\\u2066b\\u200fc\\u061cd\\x1be\\nf"
    page = rendered(render_markdown(plan))
    assert "invoice\\u202egpj.exe" in page.codes and "in\\u202ebox/" in page.codes
    assert f"purge {escaped} (m.yaml:3)" in page.codes
    assert escaped in page.codes
    text = render_text(plan)
    assert "invoice\\u202egpj.exe" in text and escaped in text and "in\\u202ebox/" in text
    for char in "\u202e\u2066\u200f\u061c\x1b":
        assert char not in text and char not in page.text
    data = json.loads(render_json(plan))
    assert data["changes"][0]["path"] == tricky
    assert data["missing"][0]["path"] == also


def test_a_space_that_could_not_be_listed_shows_why_safely() -> None:
    failing = SpaceReport(space="broken", listed=0, removed=0, recycle_bin=True,
                          errors=("listing tmp/: GET failed: HTTP 500 <b>*boom*</b>",))
    plan = Plan(library="smhdemo", changes=(delete("ok", "a.tmp"),),
                spaces=(report("ok", 10), failing))
    page = rendered(render_markdown(plan))
    assert "space broken: listing failed" in " ".join(page.headings)
    assert "listing tmp/: GET failed: HTTP 500 <b>*boom*</b>" in page.codes
    assert "b" not in page.tags
