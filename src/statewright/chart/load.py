"""From an XState v5 machine config to the compiled state tree, collecting every fault.

Loading runs in two passes. The first creates every state node (keys, ids, types, document
order), so that the second can resolve targets anywhere in the tree and compile guards,
actions, delays and invocations against the provided implementations. Nothing stops at the
first problem: each fault is recorded with its JSON path and a fix, and the caller raises
them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from statewright.chart.event_schemas import EventSchemas, load_event_schemas
from statewright.chart.faults import Faults, did_you_mean, join_path, kind_of
from statewright.chart.implementations import Implementations
from statewright.chart.load_invoke import InvokeAfterPass
from statewright.chart.load_nodes import NodePass
from statewright.chart.nodes import StateNode, ValueFn
from statewright.chart.values import compile_value
from statewright.errors import Fault

__all__ = ["MAX_DEFINITION_DEPTH", "MachineTree", "build_tree", "too_deep"]

#: How deeply objects and arrays may nest in a definition: far past any real chart (a state
#: nested in a state takes two levels), well short of what the loader's recursion can take.
MAX_DEFINITION_DEPTH = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineTree:
    """The compiled tree of a machine and what loading it found wrong."""

    id: str
    root: StateNode
    nodes: tuple[StateNode, ...]
    ids: Mapping[str, StateNode]
    context: ValueFn | None
    output: ValueFn | None
    #: `options.maxIterations` of the definition, if it sets one.
    max_iterations: int | None
    event_schemas: EventSchemas
    faults: Faults


def too_deep(config: object, limit: int = MAX_DEFINITION_DEPTH) -> Fault | None:
    """The fault of a definition nested past `limit` (or nested in itself), found without
    recursion, or None."""
    stack: list[tuple[object, int, str]] = [(config, 0, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, Mapping):
            children = [(value, join_path(path, str(key))) for key, value in item.items()]
        elif isinstance(item, (list, tuple)):
            children = [(value, join_path(path, index)) for index, value in enumerate(item)]
        else:
            continue
        if depth >= limit:
            shown = path if len(path) <= 120 else path[:60] + " ... " + path[-55:]
            return Fault(
                shown,
                f"the definition nests objects and arrays deeper than {limit} levels",
                "flatten it: nest fewer states, or keep deep data out of the definition",
            )
        stack.extend((child, depth + 1, at) for child, at in children)
    return None


def build_tree(config: Mapping[str, object], impls: Implementations) -> MachineTree:
    """Compile `config` against `impls`; faults are collected, never raised, here."""
    faults = Faults()
    machine_id = config.get("id", "(machine)")
    if not isinstance(machine_id, str) or not machine_id:
        faults.add("id", "the machine id must be a non-empty string", 'write "id": "order"')
        machine_id = "(machine)"
    builder = _Builder(machine_id, impls, faults)
    root = builder.make_node(config, key=machine_id, parent=None, path="")
    for node in builder.nodes:
        builder.wire(node)
    builder.check_raised_events()
    event_schemas = load_event_schemas(
        config.get("statewright"),
        {event for node in builder.nodes for event in node.transitions},
        faults,
    )
    context = None
    if "context" in config:
        raw_context = config["context"]
        if isinstance(raw_context, Mapping) or callable(raw_context):
            context = compile_value(raw_context, path="context", faults=faults, scope="init")
        else:
            faults.add(
                "context",
                f"the context must be an object, not {kind_of(raw_context)}",
                'write "context": {"total": 0}, or compute it '
                'from the input with {"$expr": "input"}',
            )
    version = config.get("version")
    if version is not None and not isinstance(version, str):
        faults.add(
            "version",
            f"the machine version must be a string, not {kind_of(version)}",
            f'write "version": "{version}"',
        )
    output = None
    if "output" in config:
        output = compile_value(config["output"], path="output", faults=faults, scope="transition")
    return MachineTree(
        id=machine_id,
        root=root,
        nodes=tuple(builder.nodes),
        ids=builder.ids,
        context=context,
        output=output,
        max_iterations=_max_iterations(config.get("options"), faults),
        event_schemas=event_schemas,
        faults=faults,
    )


_OPTIONS_FIX = 'write "options": {"maxIterations": 100}, or remove it'


def _max_iterations(options: object, faults: Faults) -> int | None:
    """XState's machine `options`; `maxIterations` is the only one it reads."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        what = f"the machine options must be an object, not {kind_of(options)}"
        faults.add("options", what, _OPTIONS_FIX)
        return None
    for key in options:
        if key != "maxIterations":
            faults.add(
                join_path("options", str(key)),
                f"unknown machine option {key!r}",
                did_you_mean(str(key), ("maxIterations",))
                or "the only machine option is maxIterations; remove this one",
            )
    limit = options.get("maxIterations")
    if limit is None:
        return None
    if type(limit) is not int or limit < 1:
        faults.add(
            "options.maxIterations",
            f"maxIterations must be a whole number >= 1, not {limit!r}",
            "write 100 (microsteps per macrostep); statewright has no unbounded loop, so "
            "Infinity is not accepted (leave it out for the default, 1000)",
        )
        return None
    return limit


class _Builder(NodePass, InvokeAfterPass):
    def __init__(self, machine_id: str, impls: Implementations, faults: Faults) -> None:
        self.machine_id = machine_id
        self.impls = impls
        self.faults = faults
        self.nodes: list[StateNode] = []
        self.ids: dict[str, StateNode] = {}
        self.configs: dict[StateNode, Mapping[str, object]] = {}
        #: (path, event type) of every constant event a `raise` sends, checked at the end.
        self.raised: list[tuple[str, str]] = []
        #: States whose "type" is unknown: no further faults about their children.
        self.untyped: set[StateNode] = set()
