"""The order apply deletes in, and how it cuts that order into batch calls. Pure: no I/O.

Apply order: within a space, an item that lies inside another delete item (it has a
different mode, so the planner kept it as its own item) is deleted before that item. Items
are grouped into waves by how many levels of delete items are nested inside them: wave 0
holds every item with nothing planned inside it, wave 1 the items whose inner items are all in
wave 0, and so on. A wave runs only after the one before it has ended, so an item and one of
its ancestors are never in the same wave, let alone the same batch, and the batches of one
wave can run concurrently.

Undo restores in the opposite order (outer items first), from the same waves reversed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from reconciler.matching import parent_of

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Order:
    """The apply order of one space's items, as positions in the sequence it was made from.

    `waves[k]` holds, in their original order, the items with `k` levels of items nested
    inside; `inner[i]` the items directly inside item `i` (the nearest enclosing item of each
    is `i`), for items that have any.
    """

    waves: tuple[tuple[int, ...], ...]
    inner: Mapping[int, tuple[int, ...]]

    def inside(self, item: int) -> tuple[int, ...]:
        """Every item nested inside `item`, at any depth."""
        found: list[int] = []
        stack = list(self.inner.get(item, ()))
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.inner.get(current, ()))
        return tuple(sorted(found))


def order(paths: Sequence[str]) -> Order:
    """The waves of one space's delete items, given their paths (each path once)."""
    position = {path: index for index, path in enumerate(paths)}
    if len(position) != len(paths):
        raise ValueError("a path is planned twice")
    enclosing: dict[int, int] = {}
    for index, path in enumerate(paths):
        ancestor = parent_of(path)
        while ancestor:
            if ancestor in position:
                enclosing[index] = position[ancestor]
                break
            ancestor = parent_of(ancestor)
    inner: dict[int, list[int]] = {}
    for child, parent in sorted(enclosing.items()):
        inner.setdefault(parent, []).append(child)

    height = [0] * len(paths)
    # Deepest paths first: an item's height is final before its enclosing item reads it.
    for index in sorted(range(len(paths)), key=lambda i: -paths[i].count("/")):
        outer = enclosing.get(index)
        if outer is not None:
            height[outer] = max(height[outer], height[index] + 1)
    waves: list[list[int]] = [[] for _ in range(max(height, default=-1) + 1)]
    for index, level in enumerate(height):
        waves[level].append(index)
    return Order(
        waves=tuple(tuple(wave) for wave in waves),
        inner={parent: tuple(children) for parent, children in inner.items()},
    )


def chunks(items: Sequence[_T], size: int) -> list[tuple[_T, ...]]:
    """`items` cut into consecutive batches of at most `size`."""
    if size < 1:
        raise ValueError("a batch holds at least one item")
    return [tuple(items[start : start + size]) for start in range(0, len(items), size)]


def halves(items: Sequence[_T]) -> tuple[tuple[_T, ...], tuple[_T, ...]]:
    """A batch that failed as a whole, split in two for another try (the first half larger)."""
    if len(items) < 2:
        raise ValueError("only a batch of two or more items can be split")
    middle = (len(items) + 1) // 2
    return tuple(items[:middle]), tuple(items[middle:])
