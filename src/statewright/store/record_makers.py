"""Building frozen slots records at the cost of a plain object's attribute stores.

A frozen dataclass refuses `self.x = ...`, so its own `__init__` sets every field with
`object.__setattr__`, and even the slot descriptor's `__set__` that `records.direct_init`
used instead is a C call through a method wrapper (a tuple of arguments packed and unpacked
per field: about 650 instructions each, where a plain object's slot store is about 60). A
record built per send sets ten to twenty fields.

So each record class gets a *draft* twin (`draft_class`): a plain class with exactly its
slots, whose instances take ordinary attribute stores, and which Python lets an object
leave for the record class by `__class__` assignment (the two have the same layout: the
same slots and the same base). A record is built as a draft, field by field, and then
becomes an instance of the record class, frozen as any other: the same object, equal field
for field and type for type, to what calling the class builds.

`maker(cls)` is a keyword function that builds `cls` so, without `cls.__init__` (nor the
packing of its keywords into a dict for it); `positional_maker(cls)` takes the fields in
their declared order instead; `records.direct_init` gives the class itself an `__init__`
built the same way. For the records built on every send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from itertools import pairwise
from typing import TypeVar

__all__ = ["draft_class", "maker", "positional_maker", "set_class", "slot_setters"]

_T = TypeVar("_T")

#: The `__class__` setter of every object, as a function: it moves a frozen record to its
#: draft, which the record's own `__setattr__` refuses (`records.direct_init`).
set_class = object.__dict__["__class__"].__set__


def draft_class(cls: type) -> type:
    """The draft twin of the frozen slots dataclass `cls` (see the module docstring): a
    plain class with `cls`'s slots, whose instances can become instances of `cls` by
    `__class__` assignment.

    Raises:
        TypeError: `cls` has no slots of its own, inherits from another class than
            `object`, or has a layout a draft cannot share (a `__dict__`, a `__weakref__`).
    """
    slots = cls.__dict__.get("__slots__")
    if slots is None or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__}: only a slots dataclass based on object")
    draft = type(f"{cls.__name__}Draft", (), {"__slots__": tuple(slots)})
    try:
        set_class(object.__new__(draft), cls)  # refused unless the layouts match
    except TypeError as error:
        raise TypeError(f"{cls.__name__}: a draft cannot share its layout ({error})") from None
    return draft


def maker(cls: type[_T]) -> Callable[..., _T]:
    """A function taking `cls`'s fields as keywords (those with a default may be left out)
    and returning the `cls` they make, without `cls.__init__` (see the module docstring).

    Raises:
        TypeError: `cls` has a field with a default factory or one left out of `__init__`,
            or no slots (it must be a slots dataclass based on object).
    """
    return _made(cls, keywords=True)


def positional_maker(cls: type[_T]) -> Callable[..., _T]:
    """`maker(cls)`, taking the fields by position, in their declared order (those with a
    default may be left out at the end): for the hot path, where keywords cost a lookup
    each.

    Raises:
        TypeError: as `maker`.
    """
    return _made(cls, keywords=False)


def _made(cls: type[_T], *, keywords: bool) -> Callable[..., _T]:
    names, parameters, _ = slot_setters(cls)
    if not keywords and any("=" in a and "=" not in b for a, b in pairwise(parameters)):
        raise TypeError(f"{cls.__name__}: a field without a default follows one with a default")
    names.update(_cls=cls, _draft=draft_class(cls))
    stores = "".join(f"    _o.{field.name} = {field.name}\n" for field in fields(cls))  # type: ignore[arg-type]
    star = "*, " if keywords else ""
    source = (
        f"def make({star}{', '.join(parameters)}):\n    _o = _draft()\n"
        f"{stores}    _o.__class__ = _cls\n    return _o\n"
    )
    exec(source, names)  # as dataclasses builds its own __init__
    make: Callable[..., _T] = names["make"]  # type: ignore[assignment]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    make.__doc__ = f"A {cls.__name__} (`record_makers.maker`)."
    return make


def slot_setters(cls: type) -> tuple[dict[str, object], list[str], list[str]]:
    """What a generated function needs to set every field of the frozen slots dataclass
    `cls` through its slot's descriptor: the names it uses (`_setN`, `_defaultN`), its
    parameters (`name` or `name=_defaultN`, in field order) and its body's lines
    (`    _setN(self, name)`). Shared by the makers and `records.direct_init`.

    Raises:
        TypeError: a field with a default factory or one left out of `__init__`, a field
            that is not a slot, or one whose name starts with an underscore (the
            generated functions' own names do).
    """
    names: dict[str, object] = {}
    parameters: list[str] = []
    body: list[str] = []
    for index, field in enumerate(fields(cls)):
        if field.default_factory is not MISSING or not field.init:
            raise TypeError(f"{cls.__name__}.{field.name}: only plain fields and defaults")
        slot = cls.__dict__.get(field.name)
        if slot is None or not hasattr(slot, "__set__"):
            raise TypeError(f"{cls.__name__}.{field.name} is not a slot")
        if field.name.startswith("_"):
            raise TypeError(f"{cls.__name__}.{field.name}: no field names with a leading _")
        names[f"_set{index}"] = slot.__set__
        if field.default is MISSING:
            parameters.append(field.name)
        else:
            names[f"_default{index}"] = field.default
            parameters.append(f"{field.name}=_default{index}")
        body.append(f"    _set{index}(self, {field.name})")
    return names, parameters, body
