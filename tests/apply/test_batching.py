"""The apply order and batch cutting (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.apply.batching import chunks, halves, order
from reconciler.matching import is_inside


def test_items_with_nothing_inside_all_go_in_the_first_wave() -> None:
    result = order(["a", "b/c", "d/e/f"])
    assert result.waves == ((0, 1, 2),)
    assert result.inner == {}


def test_an_item_inside_a_deleted_directory_goes_a_wave_before_it() -> None:
    paths = ["tmp", "tmp/a.part", "tmp/x/y/b.part", "z.part"]
    result = order(paths)
    assert result.waves == ((1, 2, 3), (0,))
    assert result.inner == {0: (1, 2)}


def test_nesting_three_deep_takes_three_waves() -> None:
    paths = ["a", "a/b", "a/b/c", "a/b/c/d.txt", "e"]
    result = order(paths)
    assert result.waves == ((3, 4), (2,), (1,), (0,))
    assert result.inside(0) == (1, 2, 3)
    assert result.inside(2) == (3,)


def test_a_sibling_whose_name_extends_another_is_not_inside_it() -> None:
    assert order(["a", "ab/c", "a.b"]).waves == ((0, 1, 2),)


def test_a_path_planned_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        order(["a", "a"])


def test_chunks_keep_order_and_respect_the_size() -> None:
    assert chunks(list(range(7)), 3) == [(0, 1, 2), (3, 4, 5), (6,)]
    assert chunks([], 3) == []
    with pytest.raises(ValueError):
        chunks([1], 0)


def test_halves_split_a_failed_batch_in_two() -> None:
    assert halves([1, 2, 3, 4, 5]) == ((1, 2, 3), (4, 5))
    assert halves([1, 2]) == ((1,), (2,))
    with pytest.raises(ValueError):
        halves([1])


segment = st.sampled_from(["a", "b", "c", "ab"])
path = st.lists(segment, min_size=1, max_size=4).map("/".join)


@given(st.sets(path, max_size=30), st.integers(1, 5))
def test_no_batch_holds_an_item_and_its_ancestor_and_ancestors_come_later(
    paths: set[str], size: int
) -> None:
    ordered = sorted(paths)
    result = order(ordered)
    wave_of = {item: number for number, wave in enumerate(result.waves) for item in wave}
    assert sorted(wave_of) == list(range(len(ordered)))
    for wave in result.waves:
        for batch in chunks(wave, size):
            for first in batch:
                for second in batch:
                    assert not is_inside(ordered[first], ordered[second])
    for outer, outer_path in enumerate(ordered):
        for inner, inner_path in enumerate(ordered):
            if is_inside(inner_path, outer_path):
                assert wave_of[inner] < wave_of[outer]
