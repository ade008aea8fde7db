"""Snapshots: the immutable state of one machine instance, and their JSON form.

A snapshot holds the active configuration, the context, the status (`active`, `done`,
`error`, `stopped`), the output once done, the error once failed, the history value and the
running invocations. `to_json()` has the keys of XState's persisted snapshot (`value`,
`context`, `status`, `historyValue`, `children`, `output`, `error`) plus `machine` and
`configuration`, the active state ids in XState's internal order, so that a restored snapshot
behaves exactly like the one saved. Two values are written more plainly than XState writes
them: `historyValue` lists state ids (`["m.a.b"]`, not `[{"id": "m.a.b"}]`), and each child is
`{"src", "input", "state"}` (not `{"snapshot", "src", "syncSnapshot"}`).

`Snapshot.from_json` reads both shapes, so it restores what `getPersistedSnapshot()` gave as
well as what `to_json()` wrote. It uses `configuration` when present; without it (a snapshot
XState persisted) it rebuilds the configuration from `value` as XState's `restoreSnapshot`
does, and finds each child's state as the active state whose invoke has the child's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from statewright.chart.json_types import JsonObject, JsonValue
from statewright.chart.plan import Configuration
from statewright.chart.run import ChildRef
from statewright.chart.values import copy_data
from statewright.errors import SnapshotError

if TYPE_CHECKING:
    from statewright.chart.machine import Machine
    from statewright.chart.nodes import StateNode

__all__ = ["Snapshot", "Status"]

Status = Literal["active", "done", "error", "stopped"]
_STATUSES = ("active", "done", "error", "stopped")
_KEYS = (
    "status",
    "value",
    "context",
    "historyValue",
    "children",
    "output",
    "error",
    "machine",
    "configuration",
)


class Snapshot:
    """The state of a machine instance. Immutable: transitions return new snapshots."""

    __slots__ = (
        "_children",
        "_config",
        "_context",
        "_error",
        "_history",
        "_machine",
        "_output",
        "_status",
    )

    def __init__(
        self,
        machine: Machine,
        config: Configuration,
        context: JsonObject,
        status: Status,
        *,
        output: JsonValue = None,
        error: object = None,
        history: Mapping[str, tuple[StateNode, ...]],
        children: Mapping[str, ChildRef],
    ) -> None:
        # Read-only properties guard these; plain slot stores keep construction cheap.
        self._machine = machine
        self._config = config
        self._context = context
        self._status: Status = status
        self._output = output
        self._error = error
        self._history = history
        self._children = children

    @property
    def context(self) -> JsonObject:
        """The extended state (XState's `context`); treat it as read-only."""
        return self._context

    @property
    def status(self) -> Status:
        """`active`, `done` (a top-level final state was reached), `error` or `stopped`."""
        return self._status

    @property
    def output(self) -> JsonValue:
        """The machine's output once `done` (its `output` mapping), else None."""
        return self._output

    @property
    def error(self) -> object:
        """What put the snapshot in `error`: the exception, or an invoked step's error data."""
        return self._error

    # -- reading ------------------------------------------------------------------------------

    @property
    def machine(self) -> Machine:
        """The machine this snapshot belongs to."""
        return self._machine

    @property
    def value(self) -> JsonValue:
        """XState's state value: `"a"`, or `{"p": {"x": "x1", "y": "y1"}}`."""
        return self._config.value()

    @property
    def configuration(self) -> tuple[str, ...]:
        """Ids of every active state, root first, in the order XState keeps them."""
        return tuple(node.id for node in self._config.nodes)

    @property
    def history(self) -> dict[str, list[str]]:
        """History state id -> ids of the states it remembers."""
        return {key: [node.id for node in nodes] for key, nodes in self._history.items()}

    @property
    def children(self) -> dict[str, dict[str, JsonValue]]:
        """Running invocations: id -> `{"src", "input", "state"}`."""
        return {
            key: {"src": child.src, "input": copy_data(child.input), "state": child.state}
            for key, child in self._children.items()
        }

    @property
    def tags(self) -> frozenset[str]:
        """The tags of every active state."""
        return self._config.tags

    @property
    def accepted_events(self) -> tuple[str, ...]:
        """Event types the active states handle (wildcards and `xstate.*` left out)."""
        return self._config.accepted if self.status == "active" else ()

    def has_tag(self, tag: str) -> bool:
        """True if an active state carries `tag`."""
        return tag in self._config.tags

    def matches(self, value: JsonValue) -> bool:
        """True if the snapshot is in `value`: `"a.b"`, or a partial value `{"a": "b"}`."""
        # The state value, not the active set: they differ when a microstep left the set
        # incomplete, and XState's `matches` reads the value.
        active = set(_paths_of(self._config.value_template))
        return all(path in active for path in _paths_of(value))

    def can(self, event: JsonObject | str) -> bool:
        """True if `event` would select a transition with a target or actions right now.

        Guards are evaluated; nothing else runs (XState's `snapshot.can`).
        """
        return self._machine.can(self, event)

    # -- JSON ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, JsonValue]:
        """Return the snapshot as JSON-ready data: XState's persisted keys plus two.

        The extra keys are `machine` and `configuration`; `historyValue` and `children` are
        written more plainly than XState writes them (see the module docstring).
        """
        data: dict[str, JsonValue] = {
            "machine": self._machine.id,
            "status": self.status,
            "value": self.value,
            "configuration": list(self.configuration),
            "context": copy_data(dict(self.context)),
            "historyValue": self.history,
            "children": self.children,
        }
        if self.output is not None:
            data["output"] = copy_data(self.output)
        if self.error is not None:
            data["error"] = error_to_json(self.error)
        return data

    @classmethod
    def from_json(cls, machine: Machine, data: Mapping[str, object]) -> Snapshot:
        """Restore a snapshot saved by `to_json()`, or persisted by XState, into `machine`.

        Raises:
            SnapshotError: the data is not a snapshot of this machine (unknown states, a
                different machine id, a missing key, a child no active invoke runs); restore
                it into the version that saved it.
        """
        return _restore(machine, data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Snapshot(value={self.value!r}, status={self.status!r}, context={self.context!r})"


def error_to_json(error: object) -> JsonValue:
    """An error as data: exceptions become `{"type": class name, "message": text}`."""
    if isinstance(error, BaseException):
        return {"type": type(error).__name__, "message": str(error)}
    return copy_data(error)


def _paths_of(value: JsonValue) -> list[tuple[str, ...]]:
    if isinstance(value, str):
        return [tuple(value.split("."))]
    if isinstance(value, Mapping):
        paths: list[tuple[str, ...]] = []
        for key, inner in value.items():
            head = tuple(str(key).split("."))
            paths.append(head)
            if inner not in ({}, None):
                paths.extend((*head, *rest) for rest in _paths_of(inner))
        return paths
    raise TypeError(f"matches() takes a state value such as 'a.b' or {{'a': 'b'}}, not {value!r}")


def _restore(machine: Machine, data: Mapping[str, object]) -> Snapshot:
    for key in data:
        if key not in _KEYS:
            raise SnapshotError(f"unknown snapshot key {key!r}; expected {', '.join(_KEYS)}")
    saved_by = data.get("machine", machine.id)
    if saved_by != machine.id:
        raise SnapshotError(
            f"snapshot of machine {saved_by!r} cannot be restored into "
            f"{machine.id!r}; restore it into the machine that saved it"
        )
    status = data.get("status")
    if status not in _STATUSES:
        raise SnapshotError(f"snapshot status {status!r} is not one of {', '.join(_STATUSES)}")
    context = data.get("context", {})
    if not isinstance(context, Mapping):
        raise SnapshotError("snapshot context must be an object")
    root = machine.chart.tree.root
    ids = machine.chart.tree.ids
    configuration = data.get("configuration")
    if configuration is None:
        nodes = _nodes_from_value(root, data.get("value"), machine.id)
    elif isinstance(configuration, list) and configuration:
        nodes = tuple(_node(ids, state_id, machine.id) for state_id in configuration)
        if data.get("value") != machine.chart.configuration(nodes).value_template:
            _nodes_from_value(root, data.get("value"), machine.id)
            raise SnapshotError(
                "snapshot value and configuration disagree; the snapshot was edited or "
                "damaged: restore an unedited copy"
            )
    else:
        raise SnapshotError("snapshot configuration must be a non-empty list of state ids")
    for node in nodes:
        if node.type == "history":
            raise SnapshotError(
                f"snapshot has the history pseudo-state {node.id!r} active, which no "
                "transition can do; restore an unedited copy"
            )
    history = _restore_history(machine, data.get("historyValue", {}))
    children = _restore_children(machine, nodes, data.get("children", {}))
    return Snapshot(
        machine,
        machine.chart.configuration(nodes),
        copy_data(dict(context)),  # type: ignore[arg-type]
        status,  # type: ignore[arg-type]
        output=copy_data(data.get("output")),
        error=copy_data(data.get("error")),
        history=history,
        children=children,
    )


def _restore_history(machine: Machine, raw: object) -> dict[str, tuple[StateNode, ...]]:
    """History state id -> remembered states, from either shape a snapshot may hold.

    `to_json()` writes plain state ids (`{"m.a.hist": ["m.a.b"]}`); XState's
    `getPersistedSnapshot()` writes the state nodes as objects (`[{"id": "m.a.b"}]`).
    """
    ids = machine.chart.tree.ids
    history = {}
    for key, remembered in _mapping(raw, "historyValue").items():
        owner = ids.get(key)
        if owner is None or owner.type != "history" or not isinstance(remembered, list):
            raise SnapshotError(
                f"snapshot remembers history {key!r}, which is not a history "
                f"state of {machine.id!r}"
            )
        states = tuple(
            _node(ids, _remembered_id(key, index, item), machine.id)
            for index, item in enumerate(remembered)
        )
        parent = owner.parent
        assert parent is not None  # a history state is never the root
        if not all(state.is_descendant_of(parent) for state in states):
            raise SnapshotError(
                f"snapshot history {key!r} remembers states outside "
                f"{parent.id!r}; restore an unedited copy"
            )
        history[key] = states
    return history


def _remembered_id(key: str, index: int, item: object) -> object:
    if isinstance(item, Mapping):
        if set(item) != {"id"}:
            raise SnapshotError(
                f"snapshot historyValue[{key!r}][{index}] is {item!r}; a remembered state is "
                'its id, "m.a.b", or XState\'s {"id": "m.a.b"}'
            )
        return item["id"]
    return item


def _restore_children(
    machine: Machine, nodes: tuple[StateNode, ...], raw: object
) -> dict[str, ChildRef]:
    """Invoke id -> running invocation, from either shape a snapshot may hold.

    `to_json()` writes `{"src", "input", "state"}`. XState's `getPersistedSnapshot()` writes
    `{"snapshot": {"status", "input", ...}, "src", "syncSnapshot"}` and leaves the state out:
    it is found as the active state whose invoke has this id. A child whose own status is
    not `active` has already reported its result, so it is not running and is left out.
    """
    ids = machine.chart.tree.ids
    children = {}
    for key, child in _mapping(raw, "children").items():
        if not isinstance(child, Mapping) or not isinstance(child.get("src"), str):
            raise SnapshotError(f"snapshot child {key!r} needs a string 'src'")
        if "snapshot" in child:
            ref = _xstate_child(machine, nodes, key, child)
            if ref is not None:
                children[key] = ref
            continue
        state_id = child.get("state", "")
        if not isinstance(state_id, str) or state_id not in ids:
            raise SnapshotError(
                f"snapshot child {key!r} runs in state {state_id!r}, which {machine.id!r} "
                "lacks; restore it into the version that saved it"
            )
        children[key] = ChildRef(str(child["src"]), copy_data(child.get("input")), state_id)
    return children


def _xstate_child(
    machine: Machine, nodes: tuple[StateNode, ...], key: str, child: Mapping[str, object]
) -> ChildRef | None:
    """A child as XState persists it, matched to the invoke of an active state."""
    inner = child["snapshot"]
    if not isinstance(inner, Mapping):
        raise SnapshotError(
            f"snapshot children[{key!r}].snapshot must be an object, such as "
            '{"status": "active", "input": {...}}'
        )
    if inner.get("status", "active") != "active":
        return None
    invokes = {invoke.id: invoke for node in nodes for invoke in node.invoke}
    invoke = invokes.get(key)
    if invoke is None:
        running = ", ".join(sorted(invokes)) or "none"
        raise SnapshotError(
            f"snapshot child {key!r} matches no invoke of the active states of "
            f"{machine.id!r} (their invoke ids: {running}); give the invoke that runs it "
            f'"id": "{key}", restore into the version that saved the snapshot, or remove '
            f"children[{key!r}]"
        )
    if child["src"] != invoke.src:
        raise SnapshotError(
            f"snapshot child {key!r} runs {child['src']!r}, but {invoke.path} invokes "
            f"{invoke.src!r}; restore into the version that saved the snapshot"
        )
    return ChildRef(invoke.src, copy_data(inner.get("input")), invoke.state.id)


def _mapping(value: object, name: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise SnapshotError(f"snapshot {name} must be an object")
    return value


def _node(ids: Mapping[str, StateNode], state_id: object, machine_id: str) -> StateNode:
    if not isinstance(state_id, str) or state_id not in ids:
        raise SnapshotError(
            f"snapshot names state {state_id!r}, which {machine_id!r} lacks; restore it into "
            "the version that saved it"
        )
    return ids[state_id]


def _nodes_from_value(root: StateNode, value: object, machine_id: str) -> tuple[StateNode, ...]:
    """XState's restore: `getAllStateNodes(getStateNodes(root, value))`, in its order."""
    found: dict[StateNode, None] = {}

    def walk(node: StateNode, inner: object) -> None:
        if isinstance(inner, str):
            found.update(dict.fromkeys((node, _child(node, inner, machine_id))))
            return
        if not isinstance(inner, Mapping):
            raise SnapshotError(f"snapshot value under {node.id!r} must be a string or object")
        children = [_child(node, str(key), machine_id) for key in inner]
        found.update(dict.fromkeys((root, node, *children)))
        for child, key in zip(children, inner, strict=True):
            walk(child, inner[key])

    walk(root, value)
    for node in list(found):
        _complete(node, found)
    for node in list(found):
        found.update(dict.fromkeys(reversed(node.ancestors)))
    return tuple(found)


def _complete(node: StateNode, found: dict[StateNode, None]) -> None:
    if node.type == "compound" and not any(c in found for c in node.children.values()):
        assert node.initial is not None and node.initial.targets
        first = node.initial.targets[0]
        found[first] = None
        _complete(first, found)
    elif node.type == "parallel":
        for child in node.real_children():
            if child not in found:
                found[child] = None
                _complete(child, found)


def _child(node: StateNode, key: str, machine_id: str) -> StateNode:
    child = node.children.get(key)
    if child is None:
        raise SnapshotError(
            f"snapshot is in state {key!r} under {node.id!r}, which machine "
            f"{machine_id!r} lacks; restore it into the version that saved it"
        )
    return child
