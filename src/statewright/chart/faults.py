"""Collecting every fault of a definition in one pass, with a fix and a "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from statewright.errors import Fault

__all__ = ["PROVIDE_IT", "Faults", "a_or_an", "did_you_mean", "few", "join_path", "kind_of"]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return `did you mean "x"?` for the closest candidate, or "" if none is close."""
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f'did you mean "{matches[0]}"?' if matches else ""


def few(names: Iterable[str], limit: int = 8) -> str:
    """List up to `limit` names, sorted: `"a, b, c"`, then `", ..."` if there are more."""
    items = sorted(set(names))
    shown = ", ".join(items[:limit])
    return shown + (", ..." if len(items) > limit else "")


def kind_of(value: object) -> str:
    """Name a value's JSON kind for a message: `a list`, `a string`, `null`, `true`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def a_or_an(word: str) -> str:
    """`a_or_an("atomic")` -> `"an atomic"`."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def join_path(base: str, key: str | int) -> str:
    """Extend a JSON path: `states` + `review` -> `states.review`, + 0 -> `states.review[0]`."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    if base == "":
        return key
    if not key.replace("_", "a").replace("-", "a").isalnum():
        return f'{base}["{key}"]'
    return f"{base}.{key}"


#: How the fix of an implementation nobody provided starts (the hint, if any, before it):
#: a caller that knows where its user provides implementations words the rest.
PROVIDE_IT = "provide it: "


class Faults:
    """What loading found so far: structural faults, implementations referenced but missing,
    and warnings.

    A warning is a `Fault` record (path, message, fix) for something XState accepts and
    statewright runs as XState does, but that is probably not what the author meant (a raised
    event no state handles). It never stops a definition from loading or registering.
    """

    def __init__(self) -> None:
        self.structural: list[Fault] = []
        #: Accepted, run as in XState, but probably a mistake; see the class docstring.
        self.warnings: list[Fault] = []
        self.missing: list[Fault] = []
        #: Missing delays whose names read as durations statewright cannot parse (`"1
        #: minute"`): surely a typo, not a delay to provide; also in `missing`.
        self.misspelt_durations: list[Fault] = []

    def add(self, path: str, message: str, fix: str = "") -> None:
        """Record a structural fault: the definition itself is wrong."""
        self.structural.append(Fault(path, message, fix))

    def warn(self, path: str, message: str, fix: str = "") -> None:
        """Record a warning: the definition is valid, but this part is probably a mistake."""
        self.warnings.append(Fault(path, message, fix))

    def add_missing(self, path: str, kind: str, name: str, provided: Iterable[str]) -> None:
        """Record a reference to an implementation nobody provided (yet)."""
        hint = did_you_mean(name, provided)
        fix = f"{PROVIDE_IT}machine.provide({kind}={{{name!r}: ...}})"
        self.missing.append(Fault(path, f"{kind[:-1]} {name!r} is not provided", _join(hint, fix)))

    def add_misspelt_duration(self, path: str, name: str, fix: str) -> None:
        """Record a delay that reads as a duration but is none statewright parses."""
        fault = Fault(
            path, f"delay {name!r} is not provided, and is not a duration statewright reads", fix
        )
        self.missing.append(fault)
        self.misspelt_durations.append(fault)


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)
