"""Resolving transition targets as XState's `resolveTarget` does.

    "b"        a sibling of the source (a path from the source's parent: "b.c" too)
    ".child"   a child of the source (from the root: a child of the root)
    "#id"      the state with that id, then an optional path below it ("#order.review")

Every unresolved target becomes a fault with a "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from statewright.chart.faults import Faults, did_you_mean
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
        return _by_id(target, ids, path, faults)
    if target.startswith("."):
        return resolve_path(source, target[1:], path, faults, written=target)
    if source.parent is None:
        fix = f'write ".{target}" to target a child of the machine'
        faults.add(path, f'"{target}" is not a valid target from the machine root', fix)
        return None
    return resolve_path(source.parent, target, path, faults, written=target)


def resolve_path(
    base: StateNode, dotted: str, path: str, faults: Faults, *, written: str
) -> StateNode | None:
    """Walk `dotted` ("a.b") down from `base`; a fault names the first missing key."""
    node = base
    for key in dotted.split("."):
        if not key:
            break
        child = node.children.get(key)
        if child is None:
            hint = did_you_mean(key, node.children) or _list_children(node)
            where = f"state {node.id!r}" if node.parent else "the machine"
            faults.add(path, f'no state "{key}" in {where} (target "{written}")', hint)
            return None
        node = child
    return node


def _by_id(
    target: str, ids: Mapping[str, StateNode], path: str, faults: Faults
) -> StateNode | None:
    head, _, rest = target[1:].partition(".")
    node = ids.get(head)
    if node is None:
        hint = did_you_mean(head, ids)
        hint = f'did you mean "#{hint[14:-2]}"?' if hint else f"known ids: {_few(ids)}"
        faults.add(path, f'no state with id "{head}" (target "{target}")', hint)
        return None
    return resolve_path(node, rest, path, faults, written=target) if rest else node


def _list_children(node: StateNode) -> str:
    keys = list(node.children)
    return f"its states are {_few(keys)}" if keys else f"{node.id!r} has no child states"


def _few(names: Iterable[str]) -> str:
    items = sorted(names)
    shown = ", ".join(str(item) for item in items[:8])
    return shown + (", ..." if len(items) > 8 else "")
