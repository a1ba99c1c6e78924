"""The benchmark suite's bounds: the fewest rounds a plan's requests can be sent in, and the
most items a second a rate limit lets through.

`fewest_rounds` is checked against an exhaustive search of every schedule of small forests,
`request_forest` against the requests a small tree forces, and `rate_bound` against the
emulator's own token bucket.
"""

from __future__ import annotations

import math
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import libraries as lib
from reconciler.emulator.faults import TokenBucket


def exhaustive_rounds(parents: list[int], slots: int) -> int:
    """The fewest rounds over every schedule: each round sends any set of at most `slots`
    requests whose parents have been answered."""
    everything = (1 << len(parents)) - 1

    @cache
    def rounds(done: int) -> int:
        if done == everything:
            return 0
        ready = [r for r, p in enumerate(parents)
                 if not done >> r & 1 and (p < 0 or done >> p & 1)]
        best = len(parents)
        for chosen in range(1, 1 << len(ready)):
            if chosen.bit_count() > slots:
                continue
            sent = done
            for index, request in enumerate(ready):
                if chosen >> index & 1:
                    sent |= 1 << request
            best = min(best, 1 + rounds(sent))
        return best

    return rounds(0)


@st.composite
def forests(draw: st.DrawFn) -> list[int]:
    size = draw(st.integers(1, 9))
    return [draw(st.integers(-1, request - 1)) for request in range(size)]


@settings(max_examples=300, deadline=None)
@given(forests(), st.integers(1, 3))
def test_fewest_rounds_is_the_best_schedule(parents: list[int], slots: int) -> None:
    assert lib.fewest_rounds(parents, slots) == exhaustive_rounds(parents, slots)
    # With a slot for every request, the chain alone.
    assert lib.fewest_rounds(parents, len(parents)) == lib.longest_chain(parents)


def test_a_deep_branch_goes_first() -> None:
    # Two slots; a chain of three under one root request, and three lone requests. Sending the
    # lone requests first (as they were asked for) takes four rounds; the chain first, three.
    parents = [-1, -1, -1, -1, 3, 4]
    assert lib.fewest_rounds(parents, 2) == 3
    assert lib.fewest_rounds(parents, 1) == 6
    assert lib.fewest_rounds(parents, 8) == 3


def test_request_forest_follows_pages_and_subdirectories() -> None:
    # The root holds 1,500 directories (two pages); the last of them, on the second page, holds
    # a directory of its own; the first is listed and counted too (a stats request), another
    # only counted.
    paths = [f"d{n:04d}/f" for n in range(1500)] + ["d1499/deep/f"]
    entries, subdirs = lib.children(paths)
    listed, counted = {"", "d0000", "d1499", "d1499/deep"}, {"d0000", "d0001"}
    parents = lib.request_forest(entries, subdirs, listed, counted, separate=2)
    # Every request the plan's bound counts: its pages, its stats requests, the separate two.
    assert len(parents) == lib.list_bound(entries, listed) + len(counted) + 2 == 9
    assert parents.count(-1) == 3  # the separate two and the root's first page
    # Root pages 1 and 2, then d1499, then d1499/deep.
    assert lib.fewest_rounds(parents, 100) == lib.longest_chain(parents) == 4
    assert lib.fewest_rounds(parents, 1) == 9


def test_spaces_joined_share_the_slots() -> None:
    one = [-1, 0, 1, -1]
    both = lib.joined([one, one])
    assert both == [-1, 0, 1, -1, -1, 4, 5, -1]
    assert lib.fewest_rounds(both, 1) == 8
    assert lib.fewest_rounds(both, 2) == 4  # the two chains of three side by side, then the rest
    assert lib.fewest_rounds(both, 4) == 3


@given(st.integers(1, 300_000), st.floats(0.5, 100))
def test_the_rate_bound_is_what_the_emulators_token_bucket_lets_through(
        items: int, rate: float) -> None:
    # Batch calls sent the moment the bucket grants each, from a full bucket (the fastest any
    # client can go): the items over the time of the last grant are the bound, never more.
    batches = math.ceil(items / 1000)
    bucket, now, granted = TokenBucket(rate, now=0.0), 0.0, 0
    while granted < batches:
        wait = bucket.take(now)
        if wait:
            now += wait * (1 + 1e-9)  # just past the grant: float sums may fall short of it
        else:
            granted += 1
    bound = lib.rate_bound(items, rate)
    if bound is None:  # all of them go in the first burst
        assert batches <= max(1.0, rate) + 1e-9 and now < 1e-9
    else:
        assert items / now == pytest.approx(bound, rel=1e-6)
        assert items / now > rate * 1000  # the rate alone is not a bound: the burst beats it
