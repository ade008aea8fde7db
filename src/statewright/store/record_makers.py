"""Functions that build records without calling their class.

Calling a class with keyword arguments packs them into a dict for its `__init__` and
unpacks them again (about 0.7 µs of the 1.8 that a record of 13 fields costs); a function
takes them as they come. `maker(cls)` is such a function for a frozen slots dataclass: it
makes the object with `object.__new__` and sets every field through its slot, defaults
included, exactly as `records.direct_init`'s `__init__` does, so what it returns is equal,
field for field and type for type, to what `cls(**fields)` returns (it is an instance of
`cls`, frozen as any other). For the records built on every send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import TypeVar

__all__ = ["maker", "slot_setters"]

_T = TypeVar("_T")


def maker(cls: type[_T]) -> Callable[..., _T]:
    """A function taking `cls`'s fields as keywords (those with a default may be left out)
    and returning the `cls` they make, without `cls.__init__` (see the module docstring).

    Raises:
        TypeError: `cls` has a field with a default factory or one left out of `__init__`,
            or no slots (it must be a slots dataclass).
    """
    names, parameters, body = slot_setters(cls)
    names.update(_new=object.__new__, _cls=cls)
    source = (
        f"def make(*, {', '.join(parameters)}):\n    self = _new(_cls)\n"
        + "\n".join(body)
        + "\n    return self\n"
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
    (`    _setN(self, name)`). Shared by `maker` and `records.direct_init`.

    Raises:
        TypeError: a field with a default factory or one left out of `__init__`, or a
            field that is not a slot.
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
        names[f"_set{index}"] = slot.__set__
        if field.default is MISSING:
            parameters.append(field.name)
        else:
            names[f"_default{index}"] = field.default
            parameters.append(f"{field.name}=_default{index}")
        body.append(f"    _set{index}(self, {field.name})")
    return names, parameters, body
