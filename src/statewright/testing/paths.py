"""Model-based test paths: the events that lead to every reachable state of a machine.

`paths(machine)` explores the machine with its pure chart (`Machine.transition`; no store, no
clock, nothing runs but guards, actions and expressions) and returns, for every state it can
reach, the shortest sequence of events that leads there - XState's `getShortestPaths` from
`@xstate/graph`. Provided guards and actions run during exploration, as in every transition:
keep actions free of side effects (or provide no-op ones to explore). `paths(machine,
simple=True)` returns every simple path instead (no state
visited twice: XState's `getSimplePaths`). A test replays each path on an in-memory actor:

    for path in paths(machine, events={"APPROVE": [{"by": "ann"}]}, input={"amount": 2500}):
        path.run(Actor(machine, input={"amount": 2500}, run_steps=False))

How it explores (as XState's `getAdjacencyMap`, breadth first): from the start state, every
event of `path_options.events_for` is sent; each resulting snapshot whose key
(`serialize=`) is new is a new state, explored in turn. Exploration stops at states that are
not active (done, error, stopped) and, when `to_state` is given, at states it matches. More
than `limit` states is a `PathError`: the state space is probably unbounded (a counter in the
context), and the message says how to narrow it.
"""

from __future__ import annotations

import json
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from statewright.chart import Machine, Snapshot
from statewright.chart.json_types import JsonObject, JsonValue
from statewright.chart.machine import normalize_event
from statewright.chart.snapshot import error_to_json
from statewright.errors import PathError
from statewright.testing.path_options import (
    EventSamples,
    SerializeOption,
    StateFilter,
    check_samples,
    events_for,
    is_default_result,
    state_filter,
    state_key,
)
from statewright.testing.path_replay import replay

__all__ = [
    "DEFAULT_LIMIT",
    "Path",
    "PathCoverageWarning",
    "PathStep",
    "path_from_events",
    "paths",
]

#: Default bound on the number of distinct states explored.
DEFAULT_LIMIT = 10_000


class PathCoverageWarning(UserWarning):
    """`paths` sent a step's result without a sample and the machine went to status
    `error` on it, so the states after that step were not explored."""


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a path: the event sent and the snapshot it led to."""

    event: JsonObject
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class _Link:
    """The last step of a path and the path before it: paths found together share their
    prefixes, so finding n paths costs O(n) however long they are."""

    previous: _Link | None
    step: PathStep
    length: int


class Path:
    """A sequence of events from `start` to a state, with the snapshot after each.

    Attributes:
        start: the snapshot the path starts from (the initial state unless `from_state` was a
            snapshot).
        key: the function that keyed states while the path was found (`serialize=`); `run`
            compares states with it.
    """

    __slots__ = ("_last", "key", "start")

    def __init__(self, start: Snapshot, last: _Link | None, key: Callable[[Snapshot], str]) -> None:
        self.start = start
        self._last = last
        self.key = key

    def _then(self, step: PathStep) -> Path:
        length = self._last.length + 1 if self._last else 1
        return Path(self.start, _Link(self._last, step, length), self.key)

    @property
    def steps(self) -> tuple[PathStep, ...]:
        """Each event and the snapshot after it, in order; empty for the start state."""
        found: list[PathStep] = []
        link = self._last
        while link is not None:
            found.append(link.step)
            link = link.previous
        return tuple(reversed(found))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Path):
            return NotImplemented
        return self.start == other.start and self.steps == other.steps

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Path {self.describe()}>"

    @property
    def snapshot(self) -> Snapshot:
        """The state the path reaches."""
        return self._last.step.snapshot if self._last else self.start

    @property
    def events(self) -> list[JsonObject]:
        """The events of the path, in order."""
        return [step.event for step in self.steps]

    def __len__(self) -> int:
        return self._last.length if self._last else 0

    @property
    def error(self) -> object:
        """What put the machine in status `error` at the end of the path (the exception, or
        a step's error data), or None when the path ends elsewhere."""
        return self.snapshot.error if self.snapshot.status == "error" else None

    def describe(self) -> str:
        """One line for people: `reaches "payment": APPROVE {"by": "ann"} → ...`; a path that
        ends in status `error` says so, with the error: `ends in error in paying
        (ImplementationError: ...): xstate.done.actor.pay {"output": null}`."""
        events = " → ".join(format_event(event) for event in self.events) or "(start)"
        value = format_value(self.snapshot.value)
        if self.snapshot.status == "error":
            return f"ends in error in {value} ({format_error(self.snapshot.error)}): {events}"
        return f"reaches {value}: {events}"

    def to_json(self) -> dict[str, JsonValue]:
        """The path as data: the state reached and the events that lead there (and, for a
        path that ends in status `error`, the error)."""
        data: dict[str, JsonValue] = {
            "state": self.snapshot.value,
            "context": dict(self.snapshot.context),
            "status": self.snapshot.status,
            "events": [dict(event) for event in self.events],
        }
        if self.snapshot.status == "error":
            data["error"] = error_to_json(self.snapshot.error)
        return data

    def run(self, actor: object) -> Snapshot:
        """Replay the path on a `statewright.testing.Actor`, checking every state on the way.

        The actor is started if it has not been. Each event is sent with `actor.send`, except
        the result of a step the actor is running (`xstate.done.actor.<id>` /
        `xstate.error.actor.<id>`), which is delivered with `resolve_step` / `reject_step`:
        create the actor with `run_steps=False` so that step results come from the path.
        A delayed event (`xstate.after.<delay>.<id>`) is sent as the event itself, as
        XState's graph does, without moving the clock.

        Returns:
            The actor's snapshot at the end: the state the path reaches.

        Raises:
            AssertionError: the actor is not where the path says after some step, naming the
                step, the expected and the actual state.
        """
        return replay(self, actor)


def format_value(value: JsonValue) -> str:
    """A state value for people: `payment`, `fulfilment.shipping.preparing`, or for parallel
    regions every active leaf, comma-separated."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        leaves = []
        for key, inner in value.items():
            inner_text = format_value(inner) if inner not in ({}, None) else ""
            if not inner_text:
                leaves.append(str(key))
            else:
                leaves.extend(f"{key}.{leaf}" for leaf in inner_text.split(", "))
        return ", ".join(leaves)
    return json.dumps(value)


def format_error(error: object) -> str:
    """An error for people: `Type: message` for an exception, else its JSON."""
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return json.dumps(error, sort_keys=True, default=repr)


def format_event(event: Mapping[str, object]) -> str:
    """An event for people: its type, then its other fields as JSON when it has some."""
    rest = {key: value for key, value in event.items() if key != "type"}
    if str(event["type"]).startswith(("xstate.done.actor.", "xstate.error.actor.")):
        rest.pop("actorId", None)
    return (
        f"{event['type']} {json.dumps(rest, sort_keys=True, default=repr)}"
        if rest
        else (str(event["type"]))
    )


class _Graph:
    """The states reached breadth first from `start`, with their first edge and successors."""

    def __init__(
        self,
        machine: Machine,
        start: Snapshot,
        key: Callable[[Snapshot], str],
        samples: EventSamples | None,
        stop: Callable[[Snapshot], bool] | None,
        limit: int,
    ) -> None:
        self.key = key
        self.start_key = key(start)
        self.states: dict[str, Snapshot] = {self.start_key: start}
        #: key -> (previous key, event) of the first edge that reached it (BFS: shortest).
        self.parent: dict[str, tuple[str, JsonObject] | None] = {self.start_key: None}
        #: key -> [(event, next key)], in the order the events were tried.
        self.edges: dict[str, list[tuple[JsonObject, str]]] = {}
        #: event type -> error, for step results sent without a sample that put the
        #: machine in status error (what came after them was not explored).
        self.unsampled_errors: dict[str, object] = {}
        queue = deque([self.start_key])
        while queue:
            here = queue.popleft()
            snapshot = self.states[here]
            self.edges[here] = []
            if snapshot.status != "active" or (stop is not None and stop(snapshot)):
                continue
            for event in events_for(machine, snapshot, samples):
                after = machine.transition(snapshot, event).snapshot
                if after.status == "error" and is_default_result(event):
                    self.unsampled_errors.setdefault(str(event["type"]), after.error)
                there = key(after)
                self.edges[here].append((event, there))
                if there not in self.states:
                    if len(self.states) >= limit:
                        raise _limit_error(machine, limit)
                    self.states[there] = after
                    self.parent[there] = (here, event)
                    queue.append(there)

    def shortest(self, head: Path) -> dict[str, Path]:
        """The shortest path to every state, each continuing `head` (which ends at start)."""
        found = {self.start_key: head}
        for there, edge in self.parent.items():
            if edge is not None:
                here, event = edge
                found[there] = found[here]._then(PathStep(event=event, snapshot=self.states[there]))
        return found

    def simple(self, head: Path, limit: int, machine: Machine) -> list[Path]:
        """Every path from the start that visits no state twice (XState's `getSimplePaths`)."""
        found = [head]
        on_path = {self.start_key}
        trail = [head]
        # Depth first without recursion (a long chain of states would pass Python's limit):
        # one iterator over the outgoing edges per state on the current path.
        stack = [iter(self.edges[self.start_key])]
        while stack:
            edge = next(stack[-1], None)
            if edge is None:
                stack.pop()
                if len(trail) > 1:
                    on_path.discard(self.key(trail.pop().snapshot))
                continue
            event, there = edge
            if there in on_path:
                continue
            on_path.add(there)
            path = trail[-1]._then(PathStep(event=event, snapshot=self.states[there]))
            trail.append(path)
            found.append(path)
            if len(found) > limit:
                raise _limit_error(machine, limit, what="simple paths")
            stack.append(iter(self.edges[there]))
        return found


def _limit_error(machine: Machine, limit: int, what: str = "states") -> PathError:
    return PathError(
        f"exploring machine {machine.id!r} found more than {limit} {what}; the state space "
        "is probably unbounded (a counter or a growing list in the context). Key states by "
        "value only (serialize='value'), give fewer sample events (events=), filter with "
        f"to_state=, or pass limit= higher than {limit}"
    )


def paths(
    machine: Machine | Mapping[str, object],
    *,
    events: EventSamples | None = None,
    input: object = None,
    from_state: Snapshot | StateFilter | None = None,
    to_state: StateFilter | None = None,
    simple: bool = False,
    serialize: SerializeOption = "full",
    limit: int = DEFAULT_LIMIT,
) -> list[Path]:
    """The shortest event path to every reachable state (or every simple path).

    Args:
        machine: a `Machine` with its implementations, or a definition dict (then guards and
            actions it names must be built in or expressions).
        events: sample events: a mapping event type -> payloads (`{"APPROVE": [{"by":
            "ann"}, {"by": "bob"}]}`; `type` may be left out; `[]` never sends the event) or
            a function of the snapshot returning events. Types without samples are sent as
            `{"type": T}`, a step's result as `{"output": null}` (`{"error": null}`): give
            steps' results as samples (`{"xstate.done.actor.pay": [{"output": {"id":
            "p-1"}}]}`) to explore what comes after a step that reads them.
        input: the machine's input, for its initial context.
        from_state: start here instead of the initial state: a `Snapshot`, or a state value,
            `#id` or predicate, to continue from every reached state that matches it (each
            path then starts with the shortest path to that state).
        to_state: keep only paths ending in a state that matches (a state value such as
            `"review.waiting"`, a `#id`, or a predicate); exploration stops at such states.
        simple: every simple path (no state twice) instead of one shortest path per state.
        serialize: what makes two snapshots the same state: `"full"` (value, context,
            status and history; the default), `"xstate"` (value and context, as XState's
            graph), `"value"`, or a function of the snapshot returning a string.
        limit: the most states (or simple paths) to find before giving up.

    Returns:
        The paths: for shortest paths one per state reached, in breadth-first order (the
        start state first, with no steps).

    Warns:
        PathCoverageWarning: a step's result sent without a sample put the machine in status
            `error`, naming the states not reached (that path's `describe()` says so too).

    Raises:
        PathError: a filter names no state of the machine, a sample event is malformed, or
            more than `limit` states (or simple paths) were found.
        DefinitionError: the definition has faults, or names guards or actions not provided.
    """
    chart = machine if isinstance(machine, Machine) else Machine.from_config(machine)
    if type(limit) is not int or limit < 1:
        raise PathError(f"limit must be a positive whole number, not {limit!r}")
    check_samples(chart, events)
    key = state_key(serialize)
    stop = state_filter(chart, to_state, "to_state") if to_state is not None else None
    initial = chart.initial_transition(input).snapshot
    if isinstance(from_state, Snapshot):
        heads = [Path(from_state, None, key)]
    elif from_state is None:
        heads = [Path(initial, None, key)]
    else:
        matches = state_filter(chart, from_state, "from_state")
        graph = _Graph(chart, initial, key, events, None, limit)
        reached = graph.shortest(Path(initial, None, key))
        heads = [path for k, path in reached.items() if matches(graph.states[k])]
        if not heads:
            raise PathError(
                f"from_state={from_state!r}: no reachable state of machine {chart.id!r} matches "
                "it with these sample events; check the state, or give events= that reach it"
            )
    found: list[Path] = []
    unsampled: dict[str, object] = {}
    seen_states: set[str] = set()
    for head in heads:
        graph = _Graph(chart, head.snapshot, key, events, stop, limit)
        tails = graph.simple(head, limit, chart) if simple else graph.shortest(head).values()
        found.extend(path for path in tails if stop is None or stop(path.snapshot))
        for event_type, error in graph.unsampled_errors.items():
            unsampled.setdefault(event_type, error)
        for snapshot in graph.states.values():
            seen_states.update(snapshot.configuration)
    if unsampled:
        warnings.warn(_unsampled_warning(chart, unsampled, seen_states), PathCoverageWarning, 2)
    return found


def _unsampled_warning(machine: Machine, unsampled: Mapping[str, object], reached: set[str]) -> str:
    """What `paths` says when step results sent without samples ended in status error."""
    results = "; ".join(
        f"{event_type} ({'output' if '.done.' in event_type else 'error'}: null) put the "
        f"machine in status error: {format_error(error)}"
        for event_type, error in unsampled.items()
    )
    missed = [node.id for node in machine.states if node.state_path and node.id not in reached]
    example = next(iter(unsampled))
    field = "output" if ".done." in example else "error"
    return (
        f"paths({machine.id!r}): a step's result was sent without a sample: {results}. "
        f"States not reached: {', '.join(missed) or 'none'}. Give sample results, e.g. "
        f'events={{"{example}": [{{"{field}": {{...}}}}]}}, with the fields the machine reads'
    )


def path_from_events(
    machine: Machine | Mapping[str, object],
    events: Iterable[JsonObject | str],
    *,
    input: object = None,
    serialize: SerializeOption = "full",
) -> Path:
    """The path these events take from the initial state (XState's `getPathsFromEvents`).

    Useful to pin a path written by hand and replay it with `Path.run`, checking each state.

    Raises:
        EventError: an event is not a mapping with a string "type" (or a type string).
        DefinitionError: the definition has faults, or names guards or actions not provided.
    """
    chart = machine if isinstance(machine, Machine) else Machine.from_config(machine)
    path = Path(chart.initial_transition(input).snapshot, None, state_key(serialize))
    for event in events:
        resolved = normalize_event(event)
        after = chart.transition(path.snapshot, resolved).snapshot
        path = path._then(PathStep(event=resolved, snapshot=after))
    return path
