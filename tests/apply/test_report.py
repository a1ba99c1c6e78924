"""The apply report: JSON both ways, totals, the text summary."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.apply.report import (
    ApplyReport,
    Failure,
    ItemOutcome,
    ItemReport,
    Outcome,
    StepOutcome,
    StepReport,
    render_summary,
)
from reconciler.desired import Mode
from reconciler.errors import ReconcileError
from reconciler.listing import EntryType
from reconciler.plan import Action


def item(path: str, result: ItemOutcome, *, space: str = "-") -> ItemReport:
    return ItemReport(space, path, EntryType.FILE, Mode.RECYCLE, result)


REPORT = ApplyReport(
    library="smhdemo",
    endpoint="https://smhdemo.api.tencentsmh.cn",
    plan_digest="sha256:abc",
    started_at="2027-01-01T00:00:00.000Z",
    finished_at="2027-01-01T00:00:05.000Z",
    items=(
        item("a.jpg", ItemOutcome(Outcome.RECYCLED, Failure(200), recycled_item_id=12)),
        item("b.jpg", ItemOutcome(Outcome.RECYCLED, Failure(404), recycled_item_id_unknown=True)),
        item("c.part", ItemOutcome(Outcome.DELETED, Failure(204))),
        item("d.jpg", ItemOutcome(Outcome.ALREADY_GONE, Failure(404, "FileNotFound"))),
        item("e.jpg", ItemOutcome(Outcome.FAILED, Failure(403, "NoPermission", "not allowed")),
             space="s1"),
        item("f.jpg", ItemOutcome(Outcome.STALE, Failure(message="changed since the plan: etag"))),
        item("g.jpg", ItemOutcome(Outcome.NOT_ATTEMPTED)),
    ),
    maintenance=(
        StepReport(Action.EMPTY_RECYCLE_BIN, "-", StepOutcome.DONE, Failure(204)),
        StepReport(Action.CLEAR_HISTORY, None, StepOutcome.FAILED,
                   Failure(429, "RateLimitExceeded")),
    ),
    interrupted=True,
    user_ids={"s1": "ops-bot"},
)


def test_the_json_report_round_trips() -> None:
    data = REPORT.to_json()
    assert data["kind"] == "smh-reconcile-apply-report"
    assert ApplyReport.from_json(data) == REPORT


def test_recycled_items_carry_their_id_or_say_it_is_unknown() -> None:
    items = REPORT.to_json()["items"]
    assert items[0]["recycled_item_id"] == 12 and "recycled_item_id_unknown" not in items[0]
    assert items[1]["recycled_item_id"] is None and items[1]["recycled_item_id_unknown"]
    assert "recycled_item_id" not in items[2]


def test_totals_count_every_outcome() -> None:
    assert REPORT.totals() == {
        "recycled": 2, "deleted": 1, "created": 0, "already_gone": 1, "failed": 1, "stale": 1,
        "unanswered": 0, "not_attempted": 1, "items": 7, "maintenance_failed": 1,
    }
    assert REPORT.failed


def test_the_summary_lists_what_needs_attention_and_what_to_do() -> None:
    text = render_summary(replace(REPORT, interrupted=False))
    assert text.splitlines()[0] == (
        "Apply finished for library smhdemo: 7 item(s): 2 recycled, 1 deleted, "
        "1 already gone, 1 failed, 1 stale, 1 not attempted."
    )
    assert "1 item changed since the plan: plan again." in text
    assert "1 item and 1 maintenance step(s) failed" in text
    assert "1 item not carried out: run the same command again to finish." in text
    assert ("  failed        s1:e.jpg  (HTTP 403 NoPermission: not allowed; needs grant "
            "delete_file)") in text
    assert "1 item refused for a missing grant (403 NoPermission): the token needs delete_file" \
        in text
    assert "  stale         f.jpg  (changed since the plan: etag)" in text
    assert "  not_attempted g.jpg  (no detail)" in text
    assert "1 recycled item(s) have no recorded recycle-bin id" in text
    assert "Maintenance: empty recycle bin (space -): done" in text
    assert "Maintenance: clear history: failed (HTTP 429 RateLimitExceeded)" in text
    assert "a.jpg" not in text


def test_an_interrupted_summary_shows_totals_and_how_to_finish() -> None:
    text = render_summary(REPORT)
    assert text.splitlines()[0] == (
        "Apply interrupted for library smhdemo: 7 item(s): 2 recycled, 1 deleted, "
        "1 already gone, 1 failed, 1 stale, 1 not attempted."
    )
    assert "g.jpg" not in text and "e.jpg" not in text  # the report has every item
    assert "1 item not finished: run the same command again to finish." in text


def test_thousands_of_failures_show_a_few_examples() -> None:
    failed = tuple(item(f"f{i}.jpg", ItemOutcome(Outcome.FAILED, Failure(403, "NoPermission")))
                   for i in range(500))
    text = render_summary(ApplyReport("lib", "https://x", "d", "t0", "t1", failed))
    assert len(text.splitlines()) < 30
    assert "... and 480 more (every item is in the report)" in text


def test_only_a_report_with_every_item_done_is_complete() -> None:
    assert not REPORT.complete
    for outcome in (Outcome.STALE, Outcome.FAILED, Outcome.UNANSWERED, Outcome.NOT_ATTEMPTED):
        assert not ApplyReport("lib", "https://x", "d", "t0", "t1",
                               (item("a", ItemOutcome(outcome)),)).complete
    assert ApplyReport("lib", "https://x", "d", "t0", "t1",
                       (item("a", ItemOutcome(Outcome.ALREADY_GONE)),)).complete


def test_a_clean_report_says_so_in_one_line() -> None:
    clean = ApplyReport("lib", "https://x", "d", "t0", "t1",
                        (item("a", ItemOutcome(Outcome.DELETED, Failure(204))),))
    assert render_summary(clean) == (
        "Apply finished for library lib: 1 item(s): 0 recycled, 1 deleted.\n")
    assert not clean.failed


def test_other_documents_are_not_reports() -> None:
    with pytest.raises(ReconcileError, match="not an apply report"):
        ApplyReport.from_json({"kind": "smh-reconcile-plan"})
    with pytest.raises(ReconcileError, match="not a valid apply report"):
        ApplyReport.from_json({"kind": "smh-reconcile-apply-report", "format_version": 1})
