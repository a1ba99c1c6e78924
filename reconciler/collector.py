"""The cyclic garbage collector, paused while large acyclic structures are built.

Reading a large manifest, listing a large library and planning over it allocate hundreds of
thousands of small containers (entries, contexts, plan items) that hold no reference cycles;
the cyclic collector would rescan them again and again as they pile up (it tripled the
load time of a 10 MB manifest). The pause is
counted, so that pauses may nest and overlap across threads: the collector is back on (if it
was on) once the last of them ends.

A structure that stays alive while much else is built and dropped (the plan an apply carries
out, while its batches come and go) can instead be left out of the collector's scans for a
while (`gc_frozen`): the collector goes on collecting what is made after it, but no full
collection rescans what was there before.

A process that runs one command and ends (the command line, `one_run_per_process`) also
leaves out of later scans what was alive when the last pause ended: the first collection after
a plan's walk would otherwise scan its whole listing once (0.4 s at a million paths) for
cycles it does not hold. What is left out is still freed when no longer used; only a cycle
among it waits for the process to end.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_was_enabled = False
_one_run = False


def one_run_per_process() -> None:
    """This process runs one command and ends: each pause ends with what is alive left out of
    the collector's later scans (see the module's text)."""
    global _one_run
    _one_run = True


@contextmanager
def gc_paused(*, leave_out: bool = True) -> Iterator[None]:
    """Pause the collector for the block. `leave_out=False`: the block leaves garbage cycles
    behind (HTTP exchanges do), so what is alive at its end is not left out of later scans
    even in a one-run process (the cycles among it would then be kept to the process's end):
    the next collection scans it once, and frees the cycles."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                if _one_run and leave_out:
                    gc.freeze()
                gc.enable()


@contextmanager
def gc_frozen() -> Iterator[None]:
    """Leave every object alive now out of the collector's scans until the block ends (they
    are scanned again after it, so a cycle among them is collected then)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
