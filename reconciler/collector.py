"""The cyclic garbage collector, paused while large acyclic structures are built.

Reading a large manifest, listing a large library and planning over it allocate hundreds of
thousands of small containers (entries, contexts, plan items) that hold no reference cycles;
the cyclic collector would rescan them again and again as they pile up (it tripled the
load time of a 10 MB manifest). The pause is
counted, so that pauses may nest and overlap across threads: the collector is back on (if it
was on) once the last of them ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
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
                gc.enable()
