"""`Machine`: a validated, compiled XState v5 machine with XState's pure API.

    machine = Machine.from_config(config)                  # raises DefinitionError
    machine = machine.provide(guards=..., actions=...)     # a new machine
    snapshot, effects = machine.initial_transition(input={...})
    snapshot, effects = machine.transition(snapshot, {"type": "APPROVE"})

Nothing here reads a clock, a file or a database; the same inputs give the same outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from statewright.chart.event_schemas import EventSchemas, payload_invalid
from statewright.chart.faults import Faults
from statewright.chart.implementations import (
    BUILTIN_ACTIONS,
    EMPTY,
    AssignAction,
    EmitAction,
    Implementations,
    UserFunction,
)
from statewright.chart.json_types import JsonObject
from statewright.chart.load import build_tree, too_deep
from statewright.chart.macrostep import (
    DEFAULT_MAX_ITERATIONS,
    Macrostep,
    initial_states,
    run_initial,
    run_macrostep,
)
from statewright.chart.nodes import StateNode, Transition
from statewright.chart.plan import Chart
from statewright.chart.select import select_transitions
from statewright.chart.snapshot import Snapshot
from statewright.chart.values import copy_data
from statewright.errors import DefinitionError, EventError, Fault

__all__ = ["Machine", "normalize_event"]

#: Kinds the chart itself calls; a missing actor only matters to whoever runs steps.
_CALLED_BY_CHART = ("guard", "action", "delay")


class Machine:
    """An XState v5 machine, compiled once, run by pure transitions."""

    event_size_limit: ClassVar[int | None] = None

    def __init__(
        self,
        config: Mapping[str, object],
        implementations: Implementations = EMPTY,
        *,
        max_iterations: int | None = None,
    ) -> None:
        """Compile `config`; prefer `Machine.from_config`.

        Raises:
            DefinitionError: listing every structural fault of the definition.
        """
        if not isinstance(config, Mapping):
            fault = Fault(
                "",
                f"a machine config must be an object, not {type(config).__name__}",
                'pass a dict such as {"id": "m", "initial": "a", "states": {"a": {}}}',
            )
            raise DefinitionError([fault])
        if max_iterations is not None and (type(max_iterations) is not int or max_iterations < 1):
            raise DefinitionError(
                [
                    Fault(
                        "",
                        f"max_iterations must be >= 1, not {max_iterations!r}",
                        "pass a positive whole number",
                    )
                ]
            )
        deep = too_deep(config)
        if deep is not None:
            raise DefinitionError([deep])
        self.config: Mapping[str, object] = config
        self.implementations = implementations
        tree = build_tree(config, implementations)
        if tree.faults.structural:
            raise DefinitionError(
                tree.faults.structural + tree.faults.missing,
                machine_id=tree.id,
                # (a misspelt duration is a fault of the definition: nothing could provide it)
                missing=[f for f in tree.faults.missing if f not in tree.faults.misspelt_durations],
            )
        #: The `max_iterations` passed in, or None: `provide` and the engine pass it on, so
        #: that each definition version keeps its own `options.maxIterations`.
        self.max_iterations_override = max_iterations
        #: Passes of the eventless loop allowed per macrostep: the `max_iterations` passed in,
        #: else the definition's `options.maxIterations` (XState's), else 1000.
        self.max_iterations: int = max_iterations or tree.max_iterations or DEFAULT_MAX_ITERATIONS
        self.id = tree.id
        self.chart = Chart(tree)
        self.missing_implementations: tuple[Fault, ...] = tuple(tree.faults.missing)
        #: `after` keys and delays that read as durations but are none statewright parses
        #: (`"1 minute"`; each says what was meant): also in `missing_implementations`.
        self.misspelt_durations: tuple[Fault, ...] = tuple(tree.faults.misspelt_durations)
        #: What XState accepts and statewright runs as XState does, but is probably a mistake
        #: (a raised event no state handles, with a "did you mean"): each with its JSON path
        #: and a fix. The machine loads and runs; `statewright validate --strict` fails on them.
        self.warnings: tuple[Fault, ...] = tuple(tree.faults.warnings)
        #: The JSON Schemas the definition declares for its events and start input
        #: (`"statewright": {"events": ..., "input": ...}`), their validators built once.
        self.event_schemas: EventSchemas = tree.event_schemas
        self._blocking = tuple(
            fault
            for fault in tree.faults.missing
            if any(fault.message.startswith(kind + " ") for kind in _CALLED_BY_CHART)
        )
        initial = Transition(source=tree.root, event=None, path="initial")
        initial.targets = initial_states(tree.root)
        initial.reenter = True
        #: The transition that enters the initial configuration (XState's init microstep).
        self.initial_transition_node = initial

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, object],
        *,
        guards: Mapping[str, UserFunction] | None = None,
        actions: Mapping[str, object] | None = None,
        actors: Mapping[str, UserFunction] | None = None,
        delays: Mapping[str, object] | None = None,
        max_iterations: int | None = None,
    ) -> Machine:
        """Build a machine from an XState v5 config dict, with optional implementations.

        `max_iterations` bounds the eventless loop of a macrostep (XState's `maxIterations`);
        when not given, the config's `"options": {"maxIterations": N}` applies, else 1000.

        Raises:
            DefinitionError: every fault of the definition at once, each with its JSON path
                and a fix.
        """
        impls = _checked(EMPTY, guards=guards, actions=actions, actors=actors, delays=delays)
        return cls(config, impls, max_iterations=max_iterations)

    def provide(
        self,
        *,
        guards: Mapping[str, UserFunction] | None = None,
        actions: Mapping[str, object] | None = None,
        actors: Mapping[str, UserFunction] | None = None,
        delays: Mapping[str, object] | None = None,
    ) -> Machine:
        """Return a new machine with these implementations laid over the current ones."""
        impls = _checked(
            self.implementations, guards=guards, actions=actions, actors=actors, delays=delays
        )
        return type(self)(self.config, impls, max_iterations=self.max_iterations_override)

    # -- the pure API -------------------------------------------------------------------------

    def initial_transition(self, input: object = None) -> Macrostep:
        """Enter the initial states (XState's `initialTransition`).

        Raises:
            DefinitionError: guards, actions or delays the definition needs are not provided.
        """
        self._check_runnable()
        return run_initial(self, input)

    def transition(self, snapshot: Snapshot, event: JsonObject | str) -> Macrostep:
        """Process one event (XState's `transition`): the next snapshot and its effects.

        A guard or action that raises makes the result the previous snapshot with status
        `error`, as XState does. An event sent to a snapshot that is not active changes
        nothing.

        Raises:
            EventError: the event is not a mapping with a string "type", or is "*".
            DefinitionError: implementations the definition needs are not provided.
        """
        return self.transition_normalized(snapshot, normalize_event(event))

    def transition_normalized(self, snapshot: Snapshot, event: JsonObject) -> Macrostep:
        """`transition` for an event as `normalize_event` returns it (the engine normalizes
        each event once, before it checks and records it).

        Raises:
            DefinitionError: implementations the definition needs are not provided.
        """
        if self._blocking:
            self._check_runnable()
        if snapshot._machine is not self and snapshot._machine.chart is not self.chart:
            snapshot = Snapshot.from_json(self, snapshot.to_json())
        return run_macrostep(self, snapshot, event)

    def can(self, snapshot: Snapshot, event: JsonObject | str) -> bool:
        """True if `event` selects a transition with a target or actions in `snapshot`."""
        if snapshot.status != "active":
            return False
        resolved = normalize_event(event)
        transitions = select_transitions(snapshot._config, snapshot.context, resolved)
        return any(t.targets is not None or t.actions for t in transitions)

    def snapshot_from_json(self, data: Mapping[str, object]) -> Snapshot:
        """Restore a snapshot saved with `Snapshot.to_json()`."""
        return Snapshot.from_json(self, data)

    def check_event(self, event: JsonObject | str, *, instance_id: str | None = None) -> None:
        """Refuse an event whose fields fail the schema declared for its type (or whose type
        declares none, when the definition sets `strict_events`). XState checks no payloads;
        `transition` does not either: the engine and the testing actor call this first.

        Raises:
            EventError: the event is not a mapping with a string "type".
            PayloadInvalid: naming each field that fails and what is wrong with it.
        """
        resolved = normalize_event(event)
        errors = self.event_schemas.event_errors(resolved)
        if errors:
            raise payload_invalid(self.id, str(resolved["type"]), errors, instance_id)

    def check_input(self, input: object, *, instance_id: str | None = None) -> None:
        """Refuse a start input that fails the declared input schema, if any.

        Raises:
            PayloadInvalid: naming each field that fails and what is wrong with it.
        """
        errors = self.event_schemas.input_errors(input)
        if errors:
            raise payload_invalid(self.id, None, errors, instance_id)

    # -- introspection ------------------------------------------------------------------------

    @property
    def root(self) -> StateNode:
        """The root state node."""
        return self.chart.tree.root

    @property
    def states(self) -> tuple[StateNode, ...]:
        """Every state node, in document order."""
        return self.chart.tree.nodes

    def get_state(self, state_id: str) -> StateNode:
        """The state node with this id (`"order.review"` or a custom id)."""
        try:
            return self.chart.tree.ids[state_id]
        except KeyError:
            raise KeyError(f"machine {self.id!r} has no state {state_id!r}") from None

    @property
    def unrunnable_faults(self) -> tuple[Fault, ...]:
        """The guards, actions and delays the definition names that are not provided: until
        they are, no transition can run (and `Engine.register` refuses the machine). Missing
        steps (`invoke.src`) are not among them: they matter only to whoever runs steps."""
        return self._blocking

    def _check_runnable(self) -> None:
        if self._blocking:
            raise DefinitionError(self._blocking, machine_id=self.id)

    def __repr__(self) -> str:
        return f"<Machine {self.id!r}: {len(self.states)} states>"


def normalize_event(event: JsonObject | str) -> JsonObject:
    """Accept `"TYPE"` or a mapping with a string `type`; refuse anything else."""
    if type(event) is dict:
        event_type = event.get("type")
        if type(event_type) is str and event_type and event_type != "*":
            return event
    if isinstance(event, str):
        event = {"type": event}
    elif not isinstance(event, Mapping):
        raise EventError(
            f"an event must be a dict with a string 'type' (or a type string), "
            f"not {type(event).__name__}"
        )
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise EventError(
            f"event {copy_data(dict(event))!r} has no string 'type'; send {{'type': 'NAME', ...}}"
        )
    if event_type == "*":
        raise EventError("'*' is a wildcard for transitions, not an event type; send a real type")
    return event


def _checked(base: Implementations, **kinds: Mapping[str, object] | None) -> Implementations:
    faults = Faults()
    for kind, mapping in kinds.items():
        if mapping is None:
            continue
        if not isinstance(mapping, Mapping):
            faults.add(
                kind,
                f"{kind}= must be a dict of name -> implementation, not {type(mapping).__name__}",
                f"pass {kind}={{'name': implementation}}",
            )
            continue
        for name, impl in mapping.items():
            at = f"{kind}.{name}"
            if not isinstance(name, str) or not name:
                faults.add(
                    kind,
                    f"implementation name {name!r} must be a non-empty string",
                    "name it as the definition refers to it, e.g. 'isApproved'",
                )
            elif kind == "actions" and name in BUILTIN_ACTIONS:
                faults.add(
                    at,
                    f"{name!r} is a built-in action and cannot be replaced (the names "
                    f"{', '.join(sorted(BUILTIN_ACTIONS))} are reserved)",
                    f"give your action another name (e.g. {name}Message) in actions= and in "
                    "the definition",
                )
            elif kind == "actions" and not (
                callable(impl) or isinstance(impl, (AssignAction, EmitAction))
            ):
                faults.add(at, f"action {name!r} is not callable", "provide a function or assign()")
            elif kind in ("guards", "actors") and not callable(impl):
                faults.add(at, f"{kind[:-1]} {name!r} is not callable", "provide a function")
            elif kind == "delays" and (
                isinstance(impl, bool) or not (callable(impl) or isinstance(impl, (int, float)))
            ):
                faults.add(
                    at,
                    f"delay {name!r} must be milliseconds or a function",
                    "provide a number or fn(context, event) -> ms",
                )
    if faults.structural:
        raise DefinitionError(faults.structural)
    return base.merged(**kinds)
