"""Progress: plain lines off a terminal or under NO_COLOR, a bar on a terminal."""

from __future__ import annotations

import io

from reconciler.apply.progress import BarProgress, LineProgress, progress_for
from reconciler.apply.report import ItemOutcome, Outcome


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_say_what_each_batch_settled() -> None:
    stream = io.StringIO()
    progress = LineProgress(stream)
    progress.start(5, 2)
    progress.batch("-", {0: ItemOutcome(Outcome.RECYCLED), 1: ItemOutcome(Outcome.FAILED)},
                   task_id=12)
    progress.note("emptying the recycle bin of space -")
    progress.stop()
    assert stream.getvalue().splitlines() == [
        "resuming: 2 of 5 item(s) already settled",
        "batch 1 [space -] (task 12): 1 recycled, 1 failed; 4/5 item(s) settled",
        "emptying the recycle bin of space -",
    ]


def test_each_space_s_lines_say_the_phase_that_space_is_in() -> None:
    # Spaces are applied side by side: one's re-check settles items while another's batches do.
    stream = io.StringIO()
    progress = LineProgress(stream)
    progress.start(4, 0)
    progress.phase("re-check", "re-checking 2 item(s) of space a", space="a")
    progress.batch("a", {0: ItemOutcome(Outcome.STALE)})
    progress.batch("b", {1: ItemOutcome(Outcome.RECYCLED)})
    progress.phase("apply", space="a")
    progress.batch("a", {2: ItemOutcome(Outcome.RECYCLED)})
    progress.phase("undo")
    progress.batch("b", {3: ItemOutcome(Outcome.RECYCLED)})
    assert stream.getvalue().splitlines() == [
        "re-checking 2 item(s) of space a",
        "re-check 1 [space a]: 1 stale; 1/4 item(s) settled",
        "batch 2 [space b]: 1 recycled; 2/4 item(s) settled",
        "batch 3 [space a]: 1 recycled; 3/4 item(s) settled",
        "undo 4 [space b]: 1 recycled; 4/4 item(s) settled",
    ]


def test_the_bar_is_only_for_a_terminal_without_no_color() -> None:
    assert isinstance(progress_for(io.StringIO(), {}), LineProgress)
    assert isinstance(progress_for(Terminal(), {"NO_COLOR": "1"}), LineProgress)
    assert isinstance(progress_for(Terminal(), {}), BarProgress)


def test_the_bar_counts_items_and_failures() -> None:
    stream = Terminal()
    progress = BarProgress(stream)
    progress.start(3, 0)
    progress.batch("-", {0: ItemOutcome(Outcome.DELETED), 1: ItemOutcome(Outcome.FAILED)})
    progress.stop()
    text = stream.getvalue()
    assert "2/3" in text and "1 failed" in text


def test_the_bar_says_which_phase_it_counts() -> None:
    stream = Terminal()
    progress = BarProgress(stream)
    progress.start(3, 0)
    progress.phase("re-check", "re-checking 3 item(s)")
    progress.stop()
    assert "re-check" in stream.getvalue()
    assert isinstance(progress_for(Terminal(), {}, color=False), LineProgress)
