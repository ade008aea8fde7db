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
(`max_iterations` passes of the loop, counted as XState counts them) and names the states in
the cycle.

Any exception (a guard or action raising, a failing expression, the loop limit) discards the
whole macrostep: the result is the *previous* snapshot with status `error`, as XState does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """One microstep: the event it processed and the transitions it took.

    An event that selects nothing still takes its turn and is recorded, with no
    transitions: it was dropped (`dropped`). That is what happens, as in XState, to a raised
    event the current states do not handle (also one no state handles at all) and to a
    delayed event that arrives when nothing handles it.
    """

    event: str
    transitions: tuple[Transition, ...]

    @property
    def dropped(self) -> bool:
        """True if the event selected no transition: nothing handled it, nothing changed."""
        return not self.transitions

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


if TYPE_CHECKING:
    # What a type checker sees: a pair, so that `snapshot, effects = machine.transition(...)`
    # gives a `Snapshot` and a tuple of effects. At run time the class is a plain slotted
    # object that unpacks and indexes as that pair: a tuple subclass would cost a dict per
    # macrostep, about a tenth of the fastest transition.
    _Pair = tuple[Snapshot, tuple[Effect, ...]]
else:
    _Pair = object


class Macrostep(_Pair):
    """What a transition produced: the next snapshot, the effects to run, the microsteps.

    Unpacks like XState's `[snapshot, actions]`: `snapshot, effects = machine.transition(...)`
    (and `step[0]`, `step[1]`), typed as `Snapshot` and `tuple[Effect, ...]`.
    """

    __slots__ = ("_effects", "_snapshot", "_steps")

    def __init__(
        self,
        snapshot: Snapshot,
        effects: tuple[Effect, ...],
        steps: Sequence[tuple[str, tuple[Transition, ...]]] = (),
    ) -> None:
        self._snapshot = snapshot
        self._effects = effects
        self._steps = steps

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot after the event and everything it set off."""
        return self._snapshot

    @property
    def effects(self) -> tuple[Effect, ...]:
        """What the runner must do, in order: timers, steps, emitted messages, logs."""
        return self._effects

    @property
    def microsteps(self) -> tuple[Microstep, ...]:
        """Each microstep: the event processed and the transitions taken (for audit rows); an
        event that selected nothing has a microstep with no transitions (`Microstep.dropped`)."""
        return tuple(Microstep(event, transitions) for event, transitions in self._steps)

    @property
    def selected(self) -> bool:
        """True if the event itself selected at least one transition."""
        return bool(self._steps and self._steps[0][1])

    if not TYPE_CHECKING:  # the pair's own methods, as the type checker sees them

        def __iter__(self) -> Iterator[object]:
            yield self._snapshot
            yield self._effects

        def __len__(self) -> int:
            return 2

        def __getitem__(self, index: int) -> object:
            return (self._snapshot, self._effects)[index]

    def __repr__(self) -> str:
        return f"Macrostep({self._snapshot!r}, effects={list(self._effects)!r})"


History = Mapping[str, tuple["StateNode", ...]]
Steps = list[tuple[str, tuple[Transition, ...]]]


def _microstep(
    machine: Machine,
    run: Run,
    config: Configuration,
    history: History,
    transitions: tuple[Transition, ...],
    steps: Steps,
) -> tuple[Configuration, History, bool]:
    """Run one microstep; the bool says whether XState would have made a new snapshot."""
    event_type = str(run.event["type"])
    if not transitions:
        steps.append((event_type, ()))
        return config, history, False
    plan = config.plans.get(transitions) or machine.chart.plan(config, transitions, history)
    run.changed = False
    for op in plan.ops:
        op(run)
    if plan.history is not None:
        history = {**history, **plan.history}
    steps.append((event_type, plan.transitions))
    return plan.next, history, run.changed or not plan.unchanged


def _settle(
    machine: Machine, run: Run, config: Configuration, history: History, steps: Steps
) -> tuple[Configuration, History]:
    """Eventless transitions and internal events until nothing is left (XState's loop)."""
    limit = machine.max_iterations
    select_eventless = True
    iterations = 0
    while run.status == "active":
        # XState counts every pass of this loop, the last one that finds nothing included.
        iterations += 1
        if iterations > limit:
            raise _loop_error(machine, steps, limit)
        enabled = (
            select_eventless_transitions(config, run.context, run.event) if select_eventless else ()
        )
        if enabled:
            config, history, select_eventless = _microstep(
                machine, run, config, history, enabled, steps
            )
        else:
            if not run.queue:
                break
            run.event = run.queue.popleft()
            transitions = select_transitions(config, run.context, run.event)
            config, history, _ = _microstep(machine, run, config, history, transitions, steps)
            select_eventless = True
    return config, history


def _result(
    machine: Machine, run: Run, config: Configuration, history: History, steps: Steps
) -> Macrostep:
    effects = run.effects
    children = run.children
    if run.status != "active" and children:
        effects = effects + [StopStep(id=key) for key in children]
        children = {}
    snapshot = Snapshot(
        machine,
        config,
        run.context,
        run.status,  # type: ignore[arg-type]
        output=run.output,
        history=history,
        children=children,
    )
    return Macrostep(snapshot, tuple(effects), steps)


def run_macrostep(machine: Machine, snapshot: Snapshot, event: JsonObject) -> Macrostep:
    """Process `event` from `snapshot` (see the module docstring)."""
    if snapshot._status != "active":
        return Macrostep(snapshot, ())
    event_type = event["type"]
    run = Run(snapshot._context, event, snapshot._children)
    config = snapshot._config
    history = snapshot._history
    steps: Steps = []
    if event_type == "xstate.stop":
        run.status = "stopped"
        return _result(machine, run, config, history, steps)
    try:
        transitions = config.selections.get(str(event_type))
        if transitions is None:
            transitions = select_transitions(config, run.context, event)
        if not transitions and str(event_type).startswith("xstate.error.actor."):
            return _failed(snapshot, event.get("error"))
        config, history, _ = _microstep(machine, run, config, history, transitions, steps)
        if config.has_always or run.queue:
            config, history = _settle(machine, run, config, history, steps)
    except Exception as error:
        return _failed(snapshot, error)
    return _result(machine, run, config, history, steps)


def run_initial(machine: Machine, input: object) -> Macrostep:
    """XState's `getInitialSnapshot` followed by the actor's `start()`.

    The context is computed from `input`, the initial states are entered in one microstep and
    the machine settles. As in XState, provided actions of this first macrostep run only once
    it is computed (XState defers them until `start()`): if one raises, the result is the
    computed snapshot with status `error` (and its output, if it reached a final state). If
    computing itself fails (a guard or expression raising), the result is the machine at its
    initial value with the context as computed from `input`, status `error`.
    """
    chart = machine.chart
    tree = chart.tree
    event: JsonObject = {"type": "xstate.init", "input": input}
    run = Run({}, event, {})
    run.deferred = []
    steps: Steps = []
    input_context: JsonObject = {}
    try:
        if tree.context is not None:
            context = tree.context({}, event)
            if not isinstance(context, dict):
                raise TypeError(f"the initial context must be an object, got {context!r}")
            run.context = input_context = context
        plan = chart.plan(
            chart.configuration((tree.root,)),
            (machine.initial_transition_node,),
            {},
            initial=True,
        )
        for op in plan.ops:
            op(run)
        steps.append(("xstate.init", plan.transitions))
        config, history = _settle(machine, run, plan.next, plan.history or {}, steps)
    except Exception as error:
        return _failed_initial(machine, input_context, error)
    result = _result(machine, run, config, history, steps)
    for action in run.deferred:
        try:
            action()
        except Exception as error:
            snapshot = result.snapshot
            failed = Snapshot(
                machine,
                snapshot._config,
                snapshot._context,
                "error",
                output=snapshot.output,  # XState keeps it if the first macrostep ended the machine
                error=error,
                history=snapshot._history,
                children={},
            )
            return Macrostep(failed, ())
    return result


def _failed_initial(machine: Machine, context: JsonObject, error: Exception) -> Macrostep:
    nodes = machine.initial_transition_node.targets or ()
    config = machine.chart.configuration(tuple(nodes))
    return Macrostep(
        Snapshot(machine, config, context, "error", error=error, history={}, children={}), ()
    )


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
    return Macrostep(failed, stops)


def _cycle(steps: Steps) -> Steps:
    """The shortest run of microsteps the loop repeats at its end (the trigger left out)."""
    tail = [step[1] for step in steps[1:]][-200:]
    for period in range(1, len(tail) // 2 + 1):
        if tail[-period:] == tail[-2 * period : -period]:
            return [("", transitions) for transitions in tail[-period:]]
    return [("", transitions) for transitions in tail]


def _loop_error(machine: Machine, steps: Steps, limit: int) -> LoopLimitError:
    states: dict[str, None] = {}
    for _, transitions in _cycle(steps):
        for transition in transitions:
            states[transition.source.id] = None
            for target in transition.targets or ():
                states[target.id] = None
    names = list(states)
    cycle = " -> ".join(names) if names else "(targetless transitions)"
    message = (
        f"machine {machine.id!r}: eventless transitions and raised events did not settle after "
        f"{limit} microsteps; the cycle runs through {cycle}. Give an `always` a guard that "
        f'turns false, or raise the limit if the loop is meant to be that long ("options": '
        f'{{"maxIterations": N}} on the machine, or max_iterations=N in Python)'
    )
    return LoopLimitError(message, states=names, limit=limit)
