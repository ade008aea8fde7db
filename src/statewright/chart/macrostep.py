"""The macrostep: one external event, then eventless transitions and internal events.

XState's `macrostep` (packages/core/src/stateUtils.ts), step by step:
1. The event is processed in one microstep, even if it selects nothing. An
   `xstate.error.actor.*` event that selects nothing puts the machine in `error`.
2. Then, while the machine is active: eventless (`always`) transitions are selected first; only
   when none is enabled is the next internal event (from `raise` or a `done.state`) taken, FIFO.
   Eventless guards see the event last processed.
3. After an eventless microstep that changed nothing (no assign, no invocation started or
   stopped, the same active states and history), eventless selection pauses until the next
   internal event, so a targetless `always` with a plain action runs once, not forever.
4. The loop stops when the status leaves `active`; pending internal events are dropped.

XState bounds the loop only if asked (default: it hangs). statewright bounds it by default
(`max_iterations` microsteps per macrostep) and names the states in the cycle.

Any exception (a guard or action raising, a failing expression, the loop limit) discards the
whole macrostep: the result is the *previous* snapshot with status `error`, as XState does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from statewright.chart.effects import Effect, StopStep
from statewright.chart.json_types import JsonObject
from statewright.chart.nodes import Transition
from statewright.chart.plan import Configuration
from statewright.chart.run import Run
from statewright.chart.select import select_eventless_transitions, select_transitions
from statewright.chart.snapshot import Snapshot
from statewright.errors import LoopLimitError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from statewright.chart.machine import Machine
    from statewright.chart.nodes import StateNode

__all__ = ["Macrostep", "Microstep", "initial_states", "run_initial", "run_macrostep"]

#: Default bound on microsteps per macrostep.
DEFAULT_MAX_ITERATIONS = 1000


@dataclass(frozen=True, slots=True)
class Microstep:
    """One microstep: the event it processed and the transitions it took."""

    event: str
    transitions: tuple[Transition, ...]

    def to_json(self) -> dict[str, object]:
        """The microstep as data for an audit row."""
        return {
            "event": self.event,
            "transitions": [
                {
                    "source": t.source.id,
                    "targets": None if t.targets is None else [n.id for n in t.targets],
                    "path": t.path,
                }
                for t in self.transitions
            ],
        }


@dataclass(frozen=True, slots=True)
class Macrostep:
    """What a transition produced: the next snapshot, the effects to run, the microsteps.

    Unpacks like XState's `[snapshot, actions]`: `snapshot, effects = machine.transition(...)`.
    """

    snapshot: Snapshot
    effects: tuple[Effect, ...]
    microsteps: tuple[Microstep, ...]

    def __iter__(self) -> Iterator[object]:
        yield self.snapshot
        yield self.effects


class _Loop:
    """The mutable part of a macrostep beyond the Run: configuration, history, microsteps."""

    __slots__ = ("config", "history", "machine", "microsteps", "run")

    def __init__(self, machine: Machine, snapshot: Snapshot, run: Run) -> None:
        self.machine = machine
        self.run = run
        self.config: Configuration = snapshot._config
        self.history: dict[str, tuple[StateNode, ...]] | object = snapshot._history
        self.microsteps: list[Microstep] = []

    def microstep(self, transitions: tuple[Transition, ...], *, initial: bool = False) -> bool:
        """Run one microstep; True if XState would have made a new snapshot object."""
        run = self.run
        event_type = str(run.event["type"])
        if not transitions:
            self.microsteps.append(Microstep(event_type, ()))
            return False
        plan = self.machine.chart.plan(self.config, transitions, self.history,  # type: ignore[arg-type]
                                       initial=initial)
        run.changed = False
        for op in plan.ops:
            op(run)
        if plan.history is not None:
            self.history = {**self.history, **plan.history}  # type: ignore[dict-item]
        self.config = plan.next
        self.microsteps.append(Microstep(event_type, plan.transitions))
        return run.changed or not plan.unchanged

    def settle(self) -> None:
        """Eventless transitions and internal events until nothing is left (XState's loop)."""
        run = self.run
        limit = self.machine.max_iterations
        select_eventless = True
        iterations = 0
        while run.status == "active":
            enabled = (
                select_eventless_transitions(self.config, run.context, run.event)
                if select_eventless
                else ()
            )
            if enabled:
                select_eventless = self.microstep(enabled)
            else:
                if not run.queue:
                    break
                run.event = run.queue.popleft()
                self.microstep(select_transitions(self.config, run.context, run.event))
                select_eventless = True
            iterations += 1
            if iterations > limit:
                raise _loop_error(self.machine, self.microsteps, limit)

    def result(self) -> Macrostep:
        run = self.run
        effects = run.effects
        children = run.children
        if run.status != "active" and children:
            effects = effects + [StopStep(id=key) for key in children]
            children = {}
        snapshot = Snapshot(
            self.machine,
            self.config,
            run.context,
            run.status,  # type: ignore[arg-type]
            output=run.output,
            history=self.history,  # type: ignore[arg-type]
            children=children,
        )
        return Macrostep(snapshot, tuple(effects), tuple(self.microsteps))


def run_macrostep(machine: Machine, snapshot: Snapshot, event: JsonObject) -> Macrostep:
    """Process `event` from `snapshot` (see the module docstring)."""
    if snapshot.status != "active":
        return Macrostep(snapshot, (), ())
    run = Run(snapshot.context, event, snapshot._children)
    loop = _Loop(machine, snapshot, run)
    try:
        if event["type"] == "xstate.stop":
            run.status = "stopped"
            return loop.result()
        transitions = select_transitions(loop.config, run.context, event)
        if not transitions and str(event["type"]).startswith("xstate.error.actor."):
            return _failed(snapshot, event.get("error"))
        loop.microstep(transitions)
        loop.settle()
    except Exception as error:
        return _failed(snapshot, error)
    return loop.result()


def run_initial(machine: Machine, input: object) -> Macrostep:
    """XState's `getInitialSnapshot`: context from input, enter the initial states, settle."""
    chart = machine.chart
    tree = chart.tree
    event: JsonObject = {"type": "xstate.init", "input": input}
    pre_initial = Snapshot(machine, chart.configuration((tree.root,)), {}, "active",
                           history={}, children={})
    run = Run({}, event, {})
    loop = _Loop(machine, pre_initial, run)
    try:
        if tree.context is not None:
            context = tree.context({}, event)
            if not isinstance(context, dict):
                raise TypeError(f"the initial context must be an object, got {context!r}")
            run.context = context
        loop.microstep((machine.initial_transition_node,), initial=True)
        loop.settle()
    except Exception as error:
        failed = Snapshot(machine, pre_initial._config, run.context, "error", error=error,
                          history={}, children={})
        return Macrostep(failed, (), ())
    return loop.result()


def initial_states(root: StateNode) -> tuple[StateNode, ...]:
    """XState's `getInitialStateNodes`: the root and every default descendant."""
    found: dict[StateNode, None] = {}

    def visit(node: StateNode) -> None:
        if node in found:
            return
        found[node] = None
        if node.type == "compound":
            assert node.initial is not None and node.initial.targets
            visit(node.initial.targets[0])
        elif node.type == "parallel":
            for child in node.real_children():
                visit(child)

    visit(root)
    return tuple(found)


def _failed(snapshot: Snapshot, error: object) -> Macrostep:
    stops = tuple(StopStep(id=key) for key in snapshot._children)
    failed = Snapshot(
        snapshot._machine,
        snapshot._config,
        snapshot.context,
        "error",
        error=error,
        history=snapshot._history,
        children={},
    )
    return Macrostep(failed, stops, ())


def _loop_error(machine: Machine, microsteps: Sequence[Microstep], limit: int) -> LoopLimitError:
    states: dict[str, None] = {}
    for microstep in microsteps[-50:]:
        for transition in microstep.transitions:
            states[transition.source.id] = None
            for target in transition.targets or ():
                states[target.id] = None
    names = list(states)
    cycle = " -> ".join(names) if names else "(targetless transitions)"
    message = (
        f"machine {machine.id!r}: eventless transitions and raised events did not settle after "
        f"{limit} microsteps; the cycle runs through {cycle}. Give an `always` a guard that "
        f"turns false, or pass max_iterations= higher if the loop is meant to be that long"
    )
    return LoopLimitError(message, states=names, limit=limit)
