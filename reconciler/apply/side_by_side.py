"""Spaces carried out side by side: apply's and undo's, as a plan walks them.

Nothing orders one space's changes against another's, and one after another each space would
wait out its own round trips while the others wait. Each space goes in a thread of its own, a
few at a time; their requests share the pools the caller hands them, so that together they
send no more at once than the command's `--concurrency`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from typing import Final, TypeVar

from reconciler.options import MAX_SPACES_AT_ONCE

K = TypeVar("K")
T = TypeVar("T")

WAKE_SECONDS: Final = 0.05
"""How long the calling thread sleeps at most while the spaces go: the kernel may hand a
Ctrl-C to any thread, and Python handles it in the main thread only once that runs again."""


def for_each_space(work: Callable[[K], T], spaces: Sequence[K], *, at_once: int) -> list[T]:
    """`work(space)` for each space, `at_once` (at most `MAX_SPACES_AT_ONCE`) at a time, each
    in a thread of its own (one space: in the calling thread); the results in the spaces'
    order, or the first space's failure in that order once every space is done. Interrupted
    (a `KeyboardInterrupt` in the calling thread), it returns at once, leaving the spaces
    under way to end as they will."""
    if len(spaces) <= 1:
        return [work(space) for space in spaces]
    runs = ThreadPoolExecutor(max_workers=max(1, min(len(spaces), at_once, MAX_SPACES_AT_ONCE)),
                              thread_name_prefix="smh-space")
    try:
        futures = [runs.submit(work, space) for space in spaces]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=WAKE_SECONDS)
    finally:
        runs.shutdown(wait=False, cancel_futures=True)
    return [future.result() for future in futures]


def shared_or_own(executor: Executor | None, workers: int,
                  name: str) -> AbstractContextManager[Executor]:
    """`executor` where given (left running: the spaces side by side share it), else a pool
    of `workers` threads of its own, shut down when the block ends."""
    if executor is not None:
        return nullcontext(executor)
    return ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name)
