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
