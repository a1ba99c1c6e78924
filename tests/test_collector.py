"""The collector pause: on again once the last pause ends, and never turned on by it; what is
left out of its scans is scanned again after, and a cycle made meanwhile is still collected."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from reconciler.collector import gc_frozen, gc_paused


def test_overlapping_pauses_leave_the_collector_on_only_after_the_last_one() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's pause is still on
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_pause_does_not_turn_on_a_collector_that_was_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    def __init__(self) -> None:
        self.other: object = self


def test_frozen_objects_are_scanned_again_after_the_block_even_when_it_raises() -> None:
    before = _Node()
    frozen = weakref.ref(before)
    with pytest.raises(RuntimeError), gc_frozen():
        del before
        gc.collect()
        assert frozen() is not None  # out of the collector's scans: not collected yet
        made = _Node()
        inner = weakref.ref(made)
        del made
        gc.collect()
        assert inner() is None  # a cycle made inside the block is collected as usual
        raise RuntimeError
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert frozen() is None  # the frozen cycle is collected once the block ends


_ONE_RUN = """
import gc
from reconciler import collector
held = []
with collector.gc_paused():
    held.extend([] for _ in range(1000))
print(gc.get_freeze_count())
collector.one_run_per_process()
with collector.gc_paused():
    held.extend([] for _ in range(1000))
print(gc.get_freeze_count() >= 2000, gc.isenabled())
"""


def test_only_a_one_run_process_leaves_what_a_pause_made_out_of_later_scans() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _ONE_RUN], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["0", "True", "True"]


_CYCLES_LEFT = """
import gc, weakref
from reconciler import collector
class Node:
    def __init__(self):
        self.other = self
collector.one_run_per_process()
for leave_out in (True, False):
    with collector.gc_paused(leave_out=leave_out):
        node = Node()
        left = weakref.ref(node)
        del node  # garbage, a cycle the paused collector does not free
    gc.collect()
    print(left() is None)
"""


def test_a_pause_that_leaves_cycles_behind_lets_the_next_collection_free_them() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _CYCLES_LEFT], capture_output=True,
                          text=True, check=True)
    # Left out of later scans, the cycle is kept to the end; not left out, it is freed.
    assert done.stdout.split() == ["False", "True"]


def test_the_command_line_process_is_a_one_run_process() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    script = ("import atexit, gc, runpy\n"
              "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
              "runpy.run_module('reconciler', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", script, "validate",
                           str(root / "manifests" / "demo.yaml")],
                          capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "frozen True"
