"""Resolving transition targets as XState's `resolveTarget` does.

    "b"        a sibling of the source (a path from the source's parent: "b.c" too)
    ".child"   a child of the source (from the root: a child of the root)
    "#id"      the state with that id, then an optional path below it ("#order.review")

Every unresolved target becomes a fault with a "did you mean".
"""

from __future__ import annotations

from collections.abc import Mapping

from statewright.chart.faults import Faults, a_or_an, did_you_mean, few
from statewright.chart.nodes import StateNode

__all__ = ["resolve_path", "resolve_target"]


def resolve_target(
    source: StateNode, target: str, ids: Mapping[str, StateNode], path: str, faults: Faults
) -> StateNode | None:
    """Resolve one target string written on `source`; record a fault and return None if bad."""
    if not target:
        faults.add(path, "a target cannot be empty", "name a state, or remove the target")
        return None
    if target.startswith("#"):
        found = _by_id(target, ids, path, faults)
    elif target.startswith("."):
        found = resolve_path(source, target[1:], path, faults, written=target, ids=ids)
    elif source.parent is None:
        fix = f'write ".{target}" to target a child of the machine'
        faults.add(path, f'"{target}" is not a valid target from the machine root', fix)
        return None
    else:
        found = resolve_path(source.parent, target, path, faults, written=target, ids=ids)
    if found is None:
        return None
    inside = next((a for a in found.ancestors if a.type in ("history", "final")), None)
    if inside is not None:
        faults.add(
            path,
            f'target "{target}" is inside {a_or_an(inside.type)} state '
            f'"{inside.id}", which cannot have child states',
            f'target "#{inside.id}" itself, or move "{found.key}" out of it',
        )
        return None
    return found


def resolve_path(
    base: StateNode,
    dotted: str,
    path: str,
    faults: Faults,
    *,
    written: str,
    ids: Mapping[str, StateNode] | None = None,
) -> StateNode | None:
    """Walk `dotted` ("a.b") down from `base`; a fault names the first missing key."""
    node = base
    for key in dotted.split("."):
        if not key:
            break
        child = node.children.get(key)
        if child is None:
            hint = did_you_mean(key, node.children) or _elsewhere(key, ids) or _children(node)
            where = f'state "{node.id}"' if node.parent else "the machine"
            faults.add(path, f'no state "{key}" in {where} (target "{written}")', hint)
            return None
        node = child
    return node


def _by_id(
    target: str, ids: Mapping[str, StateNode], path: str, faults: Faults
) -> StateNode | None:
    head, _, rest = target[1:].partition(".")
    node = ids.get(head)
    if node is None and target[1:] in ids:
        faults.add(
            path,
            f'"{target}" reads as id "{head}" then child "{rest}": the dot in the '
            f'state id "{target[1:]}" makes it unreachable by "#"',
            "rename the state id without dots",
        )
        return None
    if node is None:
        hint = did_you_mean(head, ids)
        hint = f'did you mean "#{hint[14:-2]}"?' if hint else f"known ids: {few(ids)}"
        faults.add(path, f'no state with id "{head}" (target "{target}")', hint)
        return None
    return resolve_path(node, rest, path, faults, written=target, ids=ids) if rest else node


def _elsewhere(key: str, ids: Mapping[str, StateNode] | None) -> str:
    """Point to states with this key elsewhere in the machine, by id."""
    if ids is None:
        return ""
    matches = sorted({f'"#{node.id}"' for node in ids.values() if node.key == key})
    if not matches:
        return ""
    return f"did you mean {' or '.join(matches[:2])}?"


def _children(node: StateNode) -> str:
    keys = list(node.children)
    if keys:
        return f"its states are {few(keys)}"
    return f'"{node.id}" is {a_or_an(node.type)} state with no child states'
