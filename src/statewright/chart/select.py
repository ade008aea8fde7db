"""Which transitions an event enables: XState's `transitionNode` and `getCandidates`.

For each active atomic state, XState tries the state, then its ancestors, outward; a state's
candidates are its transitions for the exact event type in config order, then those of its
matching wildcard descriptors (`*`, `order.*`), longest descriptor first. The first candidate
whose guard passes is taken. Parallel regions are searched in value order, and a parallel state
itself is tried only when none of its regions selected anything.

Candidate lists are memoised per state and event type. A selection that evaluated no guard is
a pure function of the configuration and the event type, and is cached on the configuration.
"""

from __future__ import annotations

from statewright.chart.actions import implementation_error
from statewright.chart.events import matches_descriptor
from statewright.chart.faults import join_path
from statewright.chart.json_types import JsonObject
from statewright.chart.nodes import StateNode, Transition
from statewright.chart.plan import Configuration

__all__ = [
    "candidates_for",
    "select_eventless_transitions",
    "select_transitions",
]


def candidates_for(node: StateNode, event_type: str) -> tuple[Transition, ...]:
    """The candidates `node` offers for `event_type` (XState's `getCandidates`)."""
    found = node.candidates.get(event_type)
    if found is not None:
        return found
    matching = [
        d for d in node.transitions if d != event_type and matches_descriptor(d, event_type)
    ]
    matching.sort(key=len, reverse=True)
    found = (
        *node.transitions.get(event_type, ()),
        *(t for d in matching for t in node.transitions[d]),
    )
    node.candidates[event_type] = found
    return found


class _Selector:
    """One selection pass; remembers whether any guard had to be evaluated."""

    __slots__ = ("config", "context", "event", "event_type", "guarded")

    def __init__(self, config: Configuration, context: JsonObject, event: JsonObject) -> None:
        self.config = config
        self.context = context
        self.event = event
        self.event_type = str(event["type"])
        self.guarded = False

    def select(self, node: StateNode) -> list[Transition]:
        children = self.config.kids.get(node)
        if children:
            found: list[Transition] = []
            for child in children:
                found.extend(self.select(child))
            if found:
                return found
        taken = self.first_enabled(node, candidates_for(node, self.event_type))
        return [taken] if taken is not None else []

    def first_enabled(
        self, node: StateNode, candidates: tuple[Transition, ...]
    ) -> Transition | None:
        for candidate in candidates:
            guard = candidate.guard
            if guard is None:
                return candidate
            self.guarded = True
            try:
                passed = guard(self.context, self.event, self.config)
            except Exception as error:
                raise implementation_error(
                    "guard",
                    candidate.guard_label,
                    node.id,
                    self.event,
                    error,
                    join_path(candidate.path, "guard") if candidate.path else "",
                ) from error
            if passed:
                return candidate
        return None


def select_transitions(
    config: Configuration, context: JsonObject, event: JsonObject
) -> tuple[Transition, ...]:
    """The transitions `event` enables in `config`, before conflict resolution."""
    event_type = event["type"]
    assert isinstance(event_type, str)
    cached = config.selections.get(event_type)
    if cached is not None:
        return cached
    selector = _Selector(config, context, event)
    found = tuple(selector.select(config.root))
    if not selector.guarded:
        config.selections[event_type] = found
    return found


def select_eventless_transitions(
    config: Configuration, context: JsonObject, event: JsonObject
) -> tuple[Transition, ...]:
    """Per active atomic state, the first enabled `always` of it or its nearest ancestor."""
    if not config.has_always:
        return ()
    selector = _Selector(config, context, event)
    found: dict[Transition, None] = {}
    for atomic in config.atomic:
        for node in (atomic, *atomic.ancestors):
            if not node.always:
                continue
            taken = selector.first_enabled(node, node.always)
            if taken is not None:
                found[taken] = None
                break
    return tuple(found)
