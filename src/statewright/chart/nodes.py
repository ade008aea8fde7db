"""The compiled state tree: state nodes, transitions and invocations.

`load.py` builds these once per machine from a definition. They are never changed after the
machine is built; the per-node caches (`candidates`) only memoise pure functions of the tree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from statewright.chart.json_types import JsonObject, JsonValue

if TYPE_CHECKING:
    from statewright.chart.plan import Configuration
    from statewright.chart.run import Run

__all__ = ["Guard", "InvokeDef", "NodeType", "Op", "StateNode", "Transition", "ValueFn"]

NodeType = Literal["atomic", "compound", "parallel", "final", "history"]

#: An executable piece of a microstep: an action, a timer, an invocation start or stop.
Op = Callable[["Run"], None]
#: A compiled guard: `(context, event, configuration) -> passed`; the configuration being
#: selected from is there for `stateIn`, the other guards ignore it.
Guard = Callable[[JsonObject, JsonObject, "Configuration"], bool]
#: A compiled data template: `(context, event) -> value` (`$expr` markers evaluated).
ValueFn = Callable[[JsonObject, JsonObject], JsonValue]


class Transition:
    """One transition candidate: source, event descriptor, targets, guard, actions."""

    __slots__ = (
        "actions",
        "event",
        "guard",
        "guard_label",
        "has_content",
        "path",
        "reenter",
        "roles",
        "source",
        "target_paths",
        "targets",
    )

    def __init__(self, *, source: StateNode, event: str | None, path: str) -> None:
        self.source = source
        #: The event descriptor; None for eventless (`always`) and initial transitions.
        self.event = event
        #: The JSON path of this transition in the definition (for messages and audit rows).
        self.path = path
        #: Target nodes; None for a targetless transition.
        self.targets: tuple[StateNode, ...] | None = None
        #: Target strings as written, resolved into `targets` once every node exists.
        self.target_paths: tuple[str, ...] | None = None
        self.guard: Guard | None = None
        self.guard_label = ""
        self.actions: tuple[Op, ...] = ()
        self.reenter = False
        #: XState's `ownEvents` test: a target, actions or reenter make it count.
        self.has_content = False
        #: Who may send the event that takes it (`"statewright": {"roles": [...]}`); None
        #: for anyone. The chart only keeps it: the engine checks it for callers with roles.
        self.roles: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        targets = None if self.targets is None else [t.id for t in self.targets]
        return f"<Transition {self.source.id} on {self.event!r} -> {targets}>"


class InvokeDef:
    """An `invoke` of a state: the step `src` started on entry and stopped on exit."""

    __slots__ = ("id", "input", "path", "retry", "src", "state")

    def __init__(self, *, id: str, src: str, state: StateNode, path: str) -> None:
        self.id = id
        self.src = src
        self.state = state
        self.path = path
        self.input: ValueFn | None = None
        #: The optional statewright retry policy, validated but interpreted by the runtime.
        self.retry: JsonObject | None = None


class StateNode:
    """A state of the machine: its place in the tree and everything it declares."""

    __slots__ = (
        "after_delays",
        "always",
        "ancestors",
        "candidates",
        "children",
        "depth",
        "description",
        "entry",
        "exit",
        "history",
        "id",
        "initial",
        "invoke",
        "key",
        "meta",
        "order",
        "output",
        "parent",
        "path",
        "state_path",
        "tags",
        "transitions",
        "type",
    )

    def __init__(self, *, key: str, parent: StateNode | None, path: str) -> None:
        self.key = key
        self.parent = parent
        #: JSON path of this state in the definition (`states.review`).
        self.path = path
        #: Keys from the root down (`("review", "waiting")`); empty for the root.
        self.state_path: tuple[str, ...] = (*parent.state_path, key) if parent else ()
        #: Proper ancestors, nearest first.
        self.ancestors: tuple[StateNode, ...] = (parent, *parent.ancestors) if parent else ()
        self.depth = len(self.ancestors)
        self.id = ""
        self.type: NodeType = "atomic"
        self.history: Literal["shallow", "deep"] | None = None
        self.children: dict[str, StateNode] = {}
        #: Document order: a pre-order index over the whole tree.
        self.order = 0
        #: The initial transition of a compound state, or a history state's default.
        self.initial: Transition | None = None
        #: Entry ops: entry actions, then `after` timers, then invocations (XState's order).
        self.entry: tuple[Op, ...] = ()
        #: Exit ops: exit actions, then `after` cancels (invocations stop after these).
        self.exit: tuple[Op, ...] = ()
        #: Event descriptor -> candidates, in XState's map order (on, onDone, invoke, after).
        self.transitions: dict[str, list[Transition]] = {}
        self.always: tuple[Transition, ...] = ()
        self.after_delays: tuple[str, ...] = ()
        self.invoke: tuple[InvokeDef, ...] = ()
        self.output: ValueFn | None = None
        self.tags: tuple[str, ...] = ()
        self.meta: JsonValue = None
        self.description: str | None = None
        #: Memo of `candidates_for(event type)`; a pure function of the tree.
        self.candidates: dict[str, tuple[Transition, ...]] = {}

    @property
    def is_atomic(self) -> bool:
        """True for atomic and final states (XState's `isAtomicStateNode`)."""
        return self.type in ("atomic", "final")

    def real_children(self) -> list[StateNode]:
        """Children other than history pseudo-states (XState's `getChildren`)."""
        return [c for c in self.children.values() if c.type != "history"]

    def is_descendant_of(self, other: StateNode | None) -> bool:
        """True if `other` is a proper ancestor; every node descends from None (XState)."""
        if other is None:
            return True
        return other in self.ancestors

    def __repr__(self) -> str:
        return f"<StateNode {self.id}>"
