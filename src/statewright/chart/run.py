"""The working state of one macrostep, threaded through every op.

A macrostep starts from an immutable snapshot, works on this mutable scratchpad, and ends by
freezing it into the next snapshot. Nothing here outlives the macrostep.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from statewright.chart.effects import CancelTimer, Effect, ScheduleTimer, StartStep, StopStep
from statewright.chart.json_types import JsonObject, JsonValue

__all__ = ["ChildRef", "Run"]


class ChildRef:
    """A running invocation as the snapshot records it: which actor, with what input, where."""

    __slots__ = ("input", "src", "state")

    def __init__(self, src: str, input: JsonValue, state: str) -> None:
        self.src = src
        self.input = input
        self.state = state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChildRef):
            return NotImplemented
        return (self.src, self.input, self.state) == (other.src, other.input, other.state)

    def __hash__(self) -> int:
        return hash((self.src, self.state))

    def __repr__(self) -> str:
        return f"ChildRef(src={self.src!r}, state={self.state!r})"


class Run:
    """Mutable scratchpad of a macrostep: context, current event, effects, internal queue."""

    __slots__ = (
        "_children_before",
        "_owns_children",
        "changed",
        "children",
        "context",
        "deferred",
        "effects",
        "event",
        "output",
        "queue",
        "status",
    )

    def __init__(self, context: JsonObject, event: JsonObject, children: Mapping[str, ChildRef]):
        self.context = context
        self.event = event
        self.effects: list[Effect] = []
        #: Internal events (`raise` without delay, `xstate.done.state.*`), FIFO.
        self.queue: deque[JsonObject] = deque()
        self.children = children
        #: The invocations running when the macrostep began.
        self._children_before = children
        self._owns_children = False
        #: Set by anything that makes XState clone its snapshot (assign, spawn, stop).
        self.changed = False
        #: Provided actions waiting to run, during the initial macrostep only (see run_initial).
        self.deferred: list[Callable[[], None]] | None = None
        #: "active", or "done" once a final child of the root is entered.
        self.status = "active"
        self.output: JsonValue = None

    def assign(self, updates: Mapping[str, object]) -> None:
        """Merge `updates` into a new context dict (XState's `Object.assign({}, ...)`)."""
        merged = dict(self.context)
        merged.update(updates)
        self.context = merged
        self.changed = True

    def schedule_timer(self, effect: ScheduleTimer) -> None:
        """Ask for a delayed event."""
        self.effects.append(effect)

    def cancel_timer(self, timer_id: str) -> None:
        """Cancel a timer; one scheduled earlier in this macrostep is simply dropped.

        The cancel is still kept: a timer with this id may have been pending before.
        """
        self.effects = [
            e for e in self.effects if not (isinstance(e, ScheduleTimer) and e.id == timer_id)
        ]
        self.effects.append(CancelTimer(id=timer_id))

    def start_child(self, invoke_id: str, child: ChildRef) -> None:
        """Record a running invocation and ask for its step to start."""
        self._own_children()[invoke_id] = child
        self.effects.append(
            StartStep(id=invoke_id, src=child.src, input=child.input, state=child.state)
        )
        self.changed = True

    def stop_child(self, invoke_id: str) -> None:
        """Stop an invocation. One started in this same macrostep never starts at all.

        A state entered again without being exited (through a history state) starts its
        invocation again under the same id, replacing the run: every start asked for in this
        macrostep is dropped, and a run that was going before it is stopped.
        """
        if invoke_id not in self.children:
            return
        del self._own_children()[invoke_id]
        self.changed = True
        kept = [e for e in self.effects if not (isinstance(e, StartStep) and e.id == invoke_id)]
        dropped = len(kept) < len(self.effects)
        self.effects = kept
        if not dropped or (
            invoke_id in self._children_before
            and not any(isinstance(e, StopStep) and e.id == invoke_id for e in kept)
        ):
            self.effects.append(StopStep(id=invoke_id))

    def _own_children(self) -> dict[str, ChildRef]:
        if not self._owns_children:
            self.children = dict(self.children)
            self._owns_children = True
        assert isinstance(self.children, dict)
        return self.children
