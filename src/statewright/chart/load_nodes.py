"""Loading, pass 1: every state node with its key, id, type and document order."""

from __future__ import annotations

from collections.abc import Mapping

from statewright.chart.event_schemas import EXTENSION_KEYS
from statewright.chart.faults import Faults, a_or_an, did_you_mean, join_path, kind_of
from statewright.chart.implementations import Implementations
from statewright.chart.nodes import NodeType, StateNode
from statewright.chart.schema import (
    MACHINE_ONLY_KEYS,
    STATE_KEYS,
    YAML_BOOLEAN,
    check_extension,
    check_keys,
)

__all__ = ["LoaderState", "NodePass"]

_TYPES: tuple[NodeType, ...] = ("atomic", "compound", "parallel", "final", "history")


class LoaderState:
    """What both passes share: the faults so far, the nodes by order and by id."""

    machine_id: str
    impls: Implementations
    faults: Faults
    nodes: list[StateNode]
    ids: dict[str, StateNode]
    configs: dict[StateNode, Mapping[str, object]]
    raised: list[tuple[str, str]]
    untyped: set[StateNode]


class NodePass(LoaderState):
    """Creates the state nodes; the wiring pass then resolves targets across the whole tree."""

    # -- pass 1: the nodes ------------------------------------------------------------------

    def make_node(self, raw: object, *, key: str, parent: StateNode | None, path: str) -> StateNode:
        node = StateNode(key=key, parent=parent, path=path)
        node.order = len(self.nodes)
        self.nodes.append(node)
        config: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
        if not isinstance(raw, Mapping):
            what = "the machine config" if parent is None else f'state "{key}"'
            self.faults.add(
                path,
                f"{what} must be an object, not {kind_of(raw)}",
                f'write "{key}": {{}} for a state with nothing to declare',
            )
        self.configs[node] = config
        if parent is None:
            allowed, label = STATE_KEYS | MACHINE_ONLY_KEYS, "machine"
        else:
            allowed, label = STATE_KEYS, "state"
        check_keys(config, allowed, path, self.faults, what="state", label=label)
        check_extension(config, path, self.faults, allowed=EXTENSION_KEYS if parent is None else ())
        self._name(node, config)
        states = config.get("states")
        if states is not None and not isinstance(states, Mapping):
            self.faults.add(
                join_path(path, "states"),
                '"states" must map state names to states',
                'write "states": {"idle": {}, "busy": {}}',
            )
            states = None
        node.type = self._type(node, config, bool(states))
        for child_key, child_raw in (states or {}).items():
            child_path = join_path(join_path(path, "states"), str(child_key))
            if isinstance(child_key, bool):
                self.faults.add(child_path, f"state key {child_key!r} is a boolean", YAML_BOOLEAN)
            elif "." in str(child_key) or not str(child_key):
                self.faults.add(
                    child_path,
                    f"state key {child_key!r} is not usable",
                    'use a non-empty key without "." (dots separate state paths)',
                )
            node.children[str(child_key)] = self.make_node(
                child_raw, key=str(child_key), parent=node, path=child_path
            )
        return node

    def _name(self, node: StateNode, config: Mapping[str, object]) -> None:
        custom = config.get("id") if node.parent is not None else None
        if custom is not None and (not isinstance(custom, str) or not custom):
            self.faults.add(
                join_path(node.path, "id"),
                "a state id must be a non-empty string",
                "remove it or write a name",
            )
            custom = None
        node.id = custom or ".".join((self.machine_id, *node.state_path))
        if node.id in self.ids:
            other = self.ids[node.id]
            other_custom = other.parent is not None and "id" in self.configs.get(other, {})
            fix = (
                f"rename this id or the one at {join_path(other.path, 'id')}"
                if custom and other_custom
                else "rename this id"
                if custom
                else f"rename the id at {join_path(other.path, 'id')}: it equals the id this "
                "state gets from its path"
            )
            self.faults.add(
                join_path(node.path, "id") if custom else node.path,
                f'duplicate state id "{node.id}" (also {other.path or "the machine"})',
                fix + '; each state\'s id must be unique, "#id" targets use it',
            )
        else:
            self.ids[node.id] = node

    def _type(self, node: StateNode, config: Mapping[str, object], has_children: bool) -> NodeType:
        raw = config.get("type")
        path = join_path(node.path, "type")
        if raw is None:
            if "parallel" in config:  # XState v4's "parallel": true, reported by check_keys
                self.untyped.add(node)
            # XState infers the type: children make it compound, "history" makes it history.
            if has_children:
                return "compound"
            return "history" if config.get("history") and node.parent is not None else "atomic"
        if raw not in _TYPES:
            hint = did_you_mean(str(raw), _TYPES) if isinstance(raw, str) else ""
            self.faults.add(
                path,
                f"unknown state type {raw!r}",
                hint or "use one of atomic, compound, parallel, final, history",
            )
            self.untyped.add(node)
            return "compound" if has_children else "atomic"
        kind: NodeType = raw
        if kind == "compound" and not has_children:
            self.faults.add(
                path,
                "a compound state needs child states",
                'add "states": {...}, or remove "type": "compound"',
            )
            return "atomic"
        if kind in ("atomic", "final") and has_children:
            self.faults.add(
                path,
                f"{a_or_an(kind)} state cannot have child states",
                'remove "states", or remove "type" (a state with "states" is compound)',
            )
        if kind == "parallel" and not has_children:
            self.faults.add(
                path,
                "a parallel state needs child states (its regions)",
                'add "states", or remove "type": "parallel"',
            )
        if node.parent is None and kind in ("final", "history"):
            self.faults.add(
                path, f"the machine itself cannot be a {kind} state", "move it into a child state"
            )
            return "compound" if has_children else "atomic"
        if kind == "compound" or (kind == "atomic" and has_children):
            return "compound"
        return kind
