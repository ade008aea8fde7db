"""Which events a snapshot accepts now, with the transitions that could take each.

The selection rules are `select.py`'s, without a payload: for each active atomic state, the
state and then its ancestors, outward, each offering `candidates_for` the event type. What a
guard will say depends on the payload, so every candidate is kept up to the first one without
a guard (which always wins: the ones after it can never be taken). An event type is listed
when a candidate with content (a target, actions or `reenter`, as XState's `ownEvents`) can
take it; a wildcard descriptor (`*`, `order.*`) is listed as itself. `xstate.*` events are
the runtime's and left out.
"""

from __future__ import annotations

from statewright.chart.nodes import Transition
from statewright.chart.select import candidates_for
from statewright.chart.snapshot import Snapshot

__all__ = ["accepted_transitions", "transitions_taking"]


def accepted_transitions(snapshot: Snapshot) -> list[tuple[str, tuple[Transition, ...]]]:
    """Per event type or wildcard descriptor the active states handle, in document order of
    the states that declare them, the transitions that may take it (in selection order, up
    to and including the first unguarded one). Empty unless the snapshot is active."""
    if snapshot.status != "active":
        return []
    config = snapshot._config
    descriptors: dict[str, None] = {}
    for node in sorted(config.nodes, key=lambda node: node.order):
        for descriptor in node.transitions:
            if not descriptor.startswith("xstate."):
                descriptors[descriptor] = None
    found: list[tuple[str, tuple[Transition, ...]]] = []
    for descriptor in descriptors:
        takes: list[Transition] = []
        for atomic in config.atomic:
            for node in (atomic, *atomic.ancestors):
                if "*" in descriptor:  # a wildcard's own transitions, not what it matches
                    candidates: tuple[Transition, ...] = tuple(node.transitions.get(descriptor, ()))
                else:
                    candidates = candidates_for(node, descriptor)
                takes.extend(_until_unguarded(candidates))
                if any(t.guard is None for t in candidates):
                    break
        content = tuple(dict.fromkeys(t for t in takes if t.has_content))
        if content:
            found.append((descriptor, content))
    return found


def transitions_taking(snapshot: Snapshot, event_type: str) -> tuple[Transition, ...]:
    """The transitions that may take an event of `event_type` now, as `accepted_transitions`
    finds them (wildcards matching it too, up to the first unguarded candidate, with
    content); empty when none would take it, or the snapshot is not active."""
    if snapshot.status != "active":
        return ()
    takes: list[Transition] = []
    for atomic in snapshot._config.atomic:
        for node in (atomic, *atomic.ancestors):
            candidates = candidates_for(node, event_type)
            takes.extend(_until_unguarded(candidates))
            if any(t.guard is None for t in candidates):
                break
    return tuple(dict.fromkeys(t for t in takes if t.has_content))


def _until_unguarded(candidates: tuple[Transition, ...]) -> list[Transition]:
    taken: list[Transition] = []
    for candidate in candidates:
        taken.append(candidate)
        if candidate.guard is None:
            break
    return taken
