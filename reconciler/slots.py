"""Instances of frozen, slotted dataclasses made without their `__init__`.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`, about
twice what setting the slot itself costs. The few loops that make one instance per entry or
per item of a batch (a listing's entry views, a batch's delete items, results and outcomes)
make them with `new` and set every field with the slot's own setter, `slot_setter`. Every
field must be set: one left out is missing, and reading it raises `AttributeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

new = object.__new__


def slot_setter(cls: type[T], name: str) -> Callable[[T, Any], None]:
    """Sets field `name` of an instance of `cls` (one made by `new(cls)`), past the frozen
    dataclass's guard."""
    setter: Callable[[T, Any], None] = vars(cls)[name].__set__
    return setter
