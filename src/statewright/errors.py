"""Every public exception statewright raises.

The tree::

    StatewrightError
    ├── DefinitionError        a machine definition has faults; `.faults` lists each one
    ├── ExpressionError        an expression failed to compile or to evaluate
    ├── ImplementationError    a guard, action or delay raised while a transition ran
    ├── EventError             an event is malformed (no "type", not a mapping, ...)
    ├── LoopLimitError         eventless transitions kept firing past the iteration limit
    ├── SnapshotError          a stored snapshot does not fit the machine it is restored into
    └── InternalError          a bug in statewright: please report it

Each message says what is wrong, where, and what to do about it; the same facts are on
attributes for programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DefinitionError",
    "EventError",
    "ExpressionError",
    "Fault",
    "ImplementationError",
    "InternalError",
    "LoopLimitError",
    "SnapshotError",
    "StatewrightError",
]


class StatewrightError(Exception):
    """The root of every error statewright raises on purpose."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One problem found in a definition.

    Attributes:
        path: where it is, as a JSON path into the definition (`states.review.on.APPROVE[0]`).
        message: what is wrong.
        fix: what to do about it.
    """

    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = self.path or "(machine)"
        return f"{where}: {self.message}" + (f"; {self.fix}" if self.fix else "")


class DefinitionError(StatewrightError):
    """A machine definition has one or more faults; fix each one listed and load it again."""

    def __init__(
        self, faults: Sequence[Fault], *, machine_id: str | None = None, source: str | None = None
    ) -> None:
        self.faults = tuple(faults)
        self.machine_id = machine_id
        #: The file the definition came from, if it came from one.
        self.source = source
        head = f"machine {machine_id!r}" if machine_id else "the definition"
        if source:
            head = f"{source}: {head}"
        count = len(self.faults)
        lines = "\n".join(f"  {fault}" for fault in self.faults)
        super().__init__(f"{head} has {count} fault{'s' if count != 1 else ''}:\n{lines}")


class ExpressionError(StatewrightError):
    """An expression failed to compile or to evaluate; the message names it and the cause."""

    def __init__(self, message: str, *, expression: str, path: str = "") -> None:
        self.expression = expression
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}expression {expression!r}: {message}")


class ImplementationError(StatewrightError):
    """A guard, action or delay raised while a transition ran.

    The original exception is the `__cause__`; fix the implementation or the data it read.
    """

    def __init__(self, message: str, *, kind: str, name: str, state: str, event: str) -> None:
        self.kind = kind
        self.name = name
        self.state = state
        self.event = event
        super().__init__(message)


class EventError(StatewrightError):
    """An event is malformed; send a mapping with a string "type"."""


class LoopLimitError(StatewrightError):
    """Eventless transitions kept firing past the iteration limit.

    Usually a cycle of `always` transitions whose guards never turn false; the message names the
    states in the cycle. Raise `max_iterations` only if the loop is meant to be that long.
    """

    def __init__(self, message: str, *, states: Sequence[str], limit: int) -> None:
        self.states = tuple(states)
        self.limit = limit
        super().__init__(message)


class SnapshotError(StatewrightError):
    """A stored snapshot does not fit the machine; restore it into the version that saved it."""


class InternalError(StatewrightError):
    """A bug in statewright, not in your definition: please report it with the message."""
