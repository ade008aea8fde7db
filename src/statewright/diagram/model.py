"""The diagram model: what a statechart drawing needs from a compiled machine, as JSON.

    model = diagram_model(machine, definition="order", version=3)

The model is the one input of the drawing (`console/static/js/statechart.js`), in the console
and in `statewright diagram` alike:

    {"definition": "order", "version": 3, "root": "order",
     "states": [{"id": "order.review", "key": "review", "parent": "order",
                 "kind": "compound", "initial": "order.review.waiting",
                 "children": [...], "history": null, "tags": [...], "internal": [...]}, ...],
     "transitions": [{"id": "t0", "source": "order.review", "label": "APPROVE [isManager]",
                      "kind": "event", "event": "APPROVE", "guard": "isManager",
                      "targets": [{"state": "order.paid", "container": "order"}]}, ...]}

States are listed in document order (a parent before its children). A transition's edge
belongs to the lowest common ancestor of its ends, as ELK's own edge containment rule has it:
the source's parent for a self transition, the outer end when one end contains the other,
else the nearest state containing both. A transition without a target draws no edge: its
label is listed in its source's `internal`.
"""

from __future__ import annotations

from typing import TypedDict

from statewright.chart import Machine
from statewright.chart.nodes import StateNode, Transition

__all__ = ["DiagramModel", "DiagramState", "DiagramTransition", "diagram_model", "edge_container"]


class DiagramTarget(TypedDict):
    """One end of a transition's edge and the state the edge is drawn in (None: the page)."""

    state: str
    container: str | None


class DiagramTransition(TypedDict):
    """A transition as drawn: its label and its edges."""

    id: str
    source: str
    label: str
    kind: str
    event: str | None
    guard: str | None
    targets: list[DiagramTarget]


class DiagramState(TypedDict):
    """A state box."""

    id: str
    key: str
    parent: str | None
    kind: str
    initial: str | None
    history: str | None
    children: list[str]
    tags: list[str]
    description: str | None
    internal: list[str]


class DiagramModel(TypedDict):
    """The whole drawing's input."""

    definition: str
    version: int | None
    root: str
    states: list[DiagramState]
    transitions: list[DiagramTransition]


def diagram_model(
    machine: Machine, *, definition: str | None = None, version: int | None = None
) -> DiagramModel:
    """The diagram model of `machine` (named `definition`, default its id, at `version`)."""
    tree = machine.chart.tree
    states: dict[str, DiagramState] = {}
    transitions: list[DiagramTransition] = []
    for node in tree.nodes:
        states[node.id] = _state(node)
    for node in tree.nodes:
        for transition in _transitions_of(node):
            label, kind, event = _label(node, transition)
            if transition.targets is None:
                states[node.id]["internal"].append(label)
                continue
            transitions.append(
                DiagramTransition(
                    id=f"t{len(transitions)}",
                    source=node.id,
                    label=label,
                    kind=kind,
                    event=event,
                    guard=transition.guard_label or None,
                    targets=[
                        DiagramTarget(state=target.id, container=edge_container(node, target))
                        for target in transition.targets
                    ],
                )
            )
    return DiagramModel(
        definition=definition or machine.id,
        version=version,
        root=tree.root.id,
        states=list(states.values()),
        transitions=transitions,
    )


def edge_container(source: StateNode, target: StateNode) -> str | None:
    """The id of the state an edge from `source` to `target` is drawn in (None: the page).

    ELK's rule: a self loop lies in the state's parent; when one end contains the other, the
    edge lies in the outer end; otherwise in the lowest common ancestor.
    """
    if source is target:
        return source.parent.id if source.parent is not None else None
    if target in source.ancestors:
        return target.id
    if source in target.ancestors:
        return source.id
    inner = set(target.ancestors)
    common = next(a for a in source.ancestors if a in inner)
    return common.id


def _state(node: StateNode) -> DiagramState:
    initial = None
    if node.type == "compound" and node.initial is not None and node.initial.targets:
        initial = node.initial.targets[0].id
    return DiagramState(
        id=node.id,
        key=node.key,
        parent=node.parent.id if node.parent is not None else None,
        kind=node.type,
        initial=initial,
        history=node.history,
        children=[child.id for child in node.children.values()],
        tags=list(node.tags),
        description=node.description,
        internal=[],
    )


def _transitions_of(node: StateNode) -> list[Transition]:
    found = [t for candidates in node.transitions.values() for t in candidates]
    return found + list(node.always)


def _label(node: StateNode, transition: Transition) -> tuple[str, str, str | None]:
    """`(label, kind, event)`: `APPROVE [guard]`, `after 48h`, `done: payment`, `always`."""
    event = transition.event
    after = "xstate.after."
    if event is None:
        text, kind = "always", "always"
    elif event.startswith(after) and event.endswith("." + node.id):
        delay = event[len(after) : -len(node.id) - 1]
        text, kind = f"after {delay}{'ms' if delay.isdigit() else ''}", "after"
    elif event == f"xstate.done.state.{node.id}":
        text, kind = f"done: {node.key}", "done"
    elif event.startswith("xstate.done.actor."):
        text, kind = "done: " + event.removeprefix("xstate.done.actor."), "done"
    elif event.startswith("xstate.error.actor."):
        text, kind = "error: " + event.removeprefix("xstate.error.actor."), "error"
    else:
        text, kind = event, "event"
    if transition.guard_label:
        text += f" [{transition.guard_label}]"
    return text, kind, event
