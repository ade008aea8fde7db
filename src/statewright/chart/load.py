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

from statewright.chart.actions import compile_actions, implementation_error
from statewright.chart.delays import compile_delay, delay_key
from statewright.chart.faults import Faults, a_or_an, did_you_mean, few, join_path, kind_of
from statewright.chart.guards import compile_guard
from statewright.chart.implementations import Implementations
from statewright.chart.nodes import InvokeDef, NodeType, Op, StateNode, Transition, ValueFn
from statewright.chart.run import Run
from statewright.chart.schema import (
    INVOKE_KEYS,
    MACHINE_ONLY_KEYS,
    STATE_KEYS,
    TRANSITION_KEYS,
    YAML_BOOLEAN,
    check_extension,
    check_keys,
)
from statewright.chart.targets import resolve_path, resolve_target
from statewright.chart.values import compile_value

__all__ = ["MachineTree", "build_tree"]

_TYPES: tuple[NodeType, ...] = ("atomic", "compound", "parallel", "final", "history")


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineTree:
    """The compiled tree of a machine and what loading it found wrong."""

    id: str
    root: StateNode
    nodes: tuple[StateNode, ...]
    ids: Mapping[str, StateNode]
    context: ValueFn | None
    output: ValueFn | None
    faults: Faults


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
        faults=faults,
    )


class _Builder:
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
        allowed = STATE_KEYS | MACHINE_ONLY_KEYS if parent is None else STATE_KEYS
        check_keys(config, allowed, path, self.faults, what="state")
        check_extension(config, path, self.faults, allowed=())
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

    # -- pass 2: transitions, actions, invocations ------------------------------------------

    def wire(self, node: StateNode) -> None:
        config = self.configs[node]
        self._check_misuse(node, config)
        if node.type == "history":
            self._wire_history(node, config)
            return
        self._wire_initial(node, config)
        where = node.id
        entry = list(self._actions(config.get("entry"), join_path(node.path, "entry"), where))
        exit_ = list(self._actions(config.get("exit"), join_path(node.path, "exit"), where))
        transitions: dict[str, list[Transition]] = {}
        self._wire_on(node, config, transitions)
        if "onDone" in config:
            event = f"xstate.done.state.{node.id}"
            transitions[event] = self._transitions(
                node, config["onDone"], event, join_path(node.path, "onDone")
            )
        self._wire_invoke(node, config, transitions)
        self._wire_after(node, config, transitions, entry, exit_)
        node.transitions = transitions
        node.entry, node.exit = tuple(entry), tuple(exit_)
        if "always" in config:
            node.always = tuple(
                self._transitions(node, config["always"], None, join_path(node.path, "always"))
            )
        if "output" in config and node.parent is not None:
            node.output = compile_value(
                config["output"],
                path=join_path(node.path, "output"),
                faults=self.faults,
                scope="transition",
            )
        self._wire_info(node, config)

    def _check_misuse(self, node: StateNode, config: Mapping[str, object]) -> None:
        path, kind = node.path, node.type
        rules: list[tuple[str, bool, str, str]] = [
            (
                "history",
                kind != "history",
                'only a history state has "history"',
                'add "type": "history", or remove "history"',
            ),
            (
                "target",
                kind != "history",
                'only a history state has a default "target"',
                "put the target in a transition",
            ),
            (
                "initial",
                kind in ("parallel",),
                'a parallel state has no "initial"',
                "remove it: every region of a parallel state is entered",
            ),
            (
                "initial",
                kind in ("atomic", "final", "history"),
                f"{a_or_an(kind)} state has no child states to start in",
                'remove "initial"',
            ),
            (
                "onDone",
                kind in ("atomic", "final", "history"),
                f"onDone never fires on {a_or_an(kind)} state",
                "put onDone on a compound or parallel state",
            ),
            (
                "output",
                kind not in ("final",) and node.parent is not None,
                "only final states (and the machine) have an output",
                'remove "output"',
            ),
        ]
        for key in ("on", "always", "after", "invoke"):
            rules.append(
                (
                    key,
                    kind == "final",
                    f'a final state cannot have "{key}"',
                    "a final state is left only with its parent; move it to the parent",
                )
            )
        for key in ("on", "always", "after", "invoke", "entry", "exit", "states"):
            rules.append(
                (
                    key,
                    kind == "history",
                    f'a history state cannot have "{key}"',
                    "history is a pseudo-state; put this on its parent",
                )
            )
        for key, broken, message, fix in rules:
            if broken and key in config:
                self.faults.add(join_path(path, key), message, fix)

    def _wire_history(self, node: StateNode, config: Mapping[str, object]) -> None:
        mode = config.get("history", "shallow")
        if mode not in ("shallow", "deep"):
            self.faults.add(
                join_path(node.path, "history"),
                f"unknown history mode {mode!r}",
                'write "history": "shallow" or "deep"',
            )
            mode = "shallow"
        node.history = "deep" if mode == "deep" else "shallow"
        parent = node.parent
        assert parent is not None
        target = config.get("target")
        transition = Transition(source=node, event=None, path=join_path(node.path, "target"))
        if target is None:
            node.initial = parent.initial
            return
        targets = self._target_list(target, transition.path)
        resolved = []
        for index, written in enumerate(targets):
            at = join_path(transition.path, index) if len(targets) > 1 else transition.path
            found = (
                resolve_target(parent, written, self.ids, at, self.faults)
                if written.startswith("#")
                else resolve_path(parent, written, at, self.faults, written=written, ids=self.ids)
            )
            if found is not None and not found.is_descendant_of(parent):
                self.faults.add(
                    at,
                    f'history default "{written}" is not inside "{parent.id}"',
                    "target a state inside the history state's parent",
                )
            elif found is not None:
                resolved.append(found)
        transition.targets = tuple(resolved)
        node.initial = transition

    def _wire_initial(self, node: StateNode, config: Mapping[str, object]) -> None:
        if node.type != "compound":
            return
        raw = config.get("initial")
        path = join_path(node.path, "initial")
        # Suggest the first real child: a history pseudo-state is no place to start.
        first = next((c.key for c in node.real_children()), next(iter(node.children)))
        actions: tuple[Op, ...] = ()
        target_path = path
        if isinstance(raw, Mapping):
            check_keys(raw, frozenset({"target", "actions"}), path, self.faults, what="initial")
            actions = self._actions(raw.get("actions"), join_path(path, "actions"), node.id)
            raw = raw.get("target")
            target_path = join_path(path, "target")
            if raw is None:
                self.faults.add(
                    target_path,
                    'an "initial" object needs a "target"',
                    f'write "initial": {{"target": "{first}", "actions": [...]}}',
                )
        transition = Transition(source=node, event=None, path=path)
        transition.actions = actions
        transition.targets = (node.children[first],)
        node.initial = transition
        if raw is None and "initial" in config and not isinstance(config["initial"], Mapping):
            self.faults.add(
                path, '"initial" must name a child state, not null', f'write "initial": "{first}"'
            )
        elif raw is None and "initial" not in config and node not in self.untyped:
            what = (
                "the machine has child states but" if node.parent is None else "compound state has"
            )
            self.faults.add(
                node.path, f'{what} no "initial"', f'add "initial": "{first}" (its first child)'
            )
        elif raw is None:
            pass
        elif not isinstance(raw, str):
            self.faults.add(
                target_path,
                f'"initial" must name a child state, not {kind_of(raw)}',
                f'write "{first}" (its first child)',
            )
        elif raw not in node.children:
            hint = did_you_mean(raw, node.children) or f"its states are {few(node.children)}"
            if raw.startswith("#") or "." in raw:
                hint = f'"initial" names a direct child by its key; {hint}'
            self.faults.add(target_path, f'no child state "{raw}" to start in', hint)
        else:
            transition.targets = (node.children[raw],)

    def _wire_on(
        self, node: StateNode, config: Mapping[str, object], out: dict[str, list[Transition]]
    ) -> None:
        on = config.get("on")
        if on is None:
            return
        path = join_path(node.path, "on")
        if not isinstance(on, Mapping):
            self.faults.add(
                path, '"on" must map event types to transitions', 'write "on": {"EVENT": "target"}'
            )
            return
        for key, raw in on.items():
            event = str(key)
            event_path = join_path(path, event)
            usable = self._check_event(key, event_path)
            transitions = self._transitions(node, raw, event, event_path)
            if usable:
                out[event] = transitions

    def _check_event(self, key: object, path: str) -> bool:
        """Record a fault for an event descriptor no event can match; True if it is usable."""
        event = str(key)
        if isinstance(key, bool):
            self.faults.add(path, f"event type {key!r} is a boolean", YAML_BOOLEAN)
            return False
        if not event:
            self.faults.add(
                path, "an empty event type is not allowed", 'use "always" for eventless transitions'
            )
            return False
        if event != event.strip():
            self.faults.add(
                path, f'event type "{event}" has spaces around it', f'write "{event.strip()}"'
            )
        if "*" in event and event != "*" and not (event.endswith(".*") and "*" not in event[:-2]):
            head = event.split("*", 1)[0].rstrip(".")
            example = f'"{head}.*" or "*"' if head else '"order.*" or "*"'
            self.faults.add(
                path,
                f'"{event}" never matches: "*" may only be the whole '
                "descriptor or its last part after a dot",
                f"write {example}",
            )
        return True

    def _wire_invoke(
        self, node: StateNode, config: Mapping[str, object], out: dict[str, list[Transition]]
    ) -> None:
        raw = config.get("invoke")
        if raw is None:
            return
        items = raw if isinstance(raw, list) else [raw]
        invokes = []
        seen: dict[object, str] = {}
        for index, item in enumerate(items):
            path = (
                join_path(join_path(node.path, "invoke"), index)
                if isinstance(raw, list)
                else join_path(node.path, "invoke")
            )
            if not isinstance(item, Mapping):
                src_name = item if isinstance(item, str) and item else "chargeCard"
                self.faults.add(
                    path,
                    f"an invoke must be an object, not {kind_of(item)}",
                    f'write "invoke": {{"src": "{src_name}", "onDone": "paid"}}',
                )
                continue
            check_keys(item, INVOKE_KEYS, path, self.faults, what="invoke")
            check_extension(item, path, self.faults, allowed=("retry",))
            src = item.get("src")
            if not isinstance(src, str) or not src:
                self.faults.add(
                    join_path(path, "src"),
                    'an invoke needs "src": the name of a provided actor',
                    'write "src": "chargeCard" and provide it',
                )
                src = ""
            elif src not in self.impls.actors:
                self.faults.add_missing(join_path(path, "src"), "actors", src, self.impls.actors)
            invoke_id = item.get("id")
            if invoke_id is not None and (not isinstance(invoke_id, str) or not invoke_id):
                self.faults.add(
                    join_path(path, "id"),
                    "an invoke id must be a non-empty string",
                    'write "id": "charge", or remove it for a generated id',
                )
                invoke_id = None
            if invoke_id in seen:
                self.faults.add(
                    join_path(path, "id"),
                    f'duplicate invoke id "{invoke_id}" (also {seen[invoke_id]})',
                    "give each invoke of a state its "
                    "own id: the id names its done and error events",
                )
            if not isinstance(invoke_id, str):
                invoke_id = f"{index}.{node.id}"
            seen.setdefault(invoke_id, path)
            invoke = InvokeDef(id=invoke_id, src=src, state=node, path=path)
            if "input" in item:
                invoke.input = compile_value(
                    item["input"],
                    path=join_path(path, "input"),
                    faults=self.faults,
                    scope="transition",
                )
            invoke.retry = _retry_policy(item, path, self.faults)
            for key, prefix in (
                ("onDone", "xstate.done.actor."),
                ("onError", "xstate.error.actor."),
            ):
                if key in item:
                    event = prefix + invoke_id
                    out[event] = self._transitions(node, item[key], event, join_path(path, key))
            if src:
                invokes.append(invoke)
        node.invoke = tuple(invokes)

    def _wire_after(
        self,
        node: StateNode,
        config: Mapping[str, object],
        out: dict[str, list[Transition]],
        entry: list[Op],
        exit_: list[Op],
    ) -> None:
        after = config.get("after")
        if after is None:
            return
        path = join_path(node.path, "after")
        if not isinstance(after, Mapping):
            self.faults.add(
                path,
                '"after" must map delays to transitions',
                'write "after": {"48h": "escalated"}',
            )
            return
        delays = []
        for raw_key, raw in after.items():
            key = delay_key(str(raw_key))
            key_path = join_path(path, str(raw_key))
            if not str(raw_key).strip():
                self.faults.add(
                    key_path,
                    'an empty "after" key is not a delay',
                    'write milliseconds ("1000"), a duration ("48h") or a delay name',
                )
                self._transitions(node, raw, None, key_path)
                continue
            delay = compile_delay(str(raw_key), path=key_path, faults=self.faults, impls=self.impls)
            event = f"xstate.after.{key}.{node.id}"
            out.setdefault(event, []).extend(self._transitions(node, raw, event, key_path))
            entry.append(_schedule_after(event, delay, str(raw_key), node.id))
            exit_.append(_cancel_after(event))
            delays.append(key)
        node.after_delays = tuple(delays)

    def _wire_info(self, node: StateNode, config: Mapping[str, object]) -> None:
        tags = config.get("tags", ())
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
            self.faults.add(
                join_path(node.path, "tags"),
                "tags must be a list of strings",
                'write "tags": ["busy"]',
            )
            tags = ()
        node.tags = tuple(tags)
        node.meta = config.get("meta")
        description = config.get("description")
        if description is not None and not isinstance(description, str):
            self.faults.add(
                join_path(node.path, "description"), "a description is text", "write a string"
            )
            description = None
        node.description = description

    # -- transitions --------------------------------------------------------------------------

    def _transitions(
        self, node: StateNode, raw: object, event: str | None, path: str
    ) -> list[Transition]:
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else [raw]
        result = []
        for index, item in enumerate(items):
            item_path = join_path(path, index) if isinstance(raw, list) else path
            transition = self._transition(node, item, event, item_path)
            if transition is not None:
                result.append(transition)
        return result

    def _transition(
        self, node: StateNode, raw: object, event: str | None, path: str
    ) -> Transition | None:
        if isinstance(raw, str):
            raw = {"target": raw}
        if not isinstance(raw, Mapping):
            self.faults.add(
                path,
                "a transition must be a target string or an object",
                'write "target", or {"target": ..., "guard": ..., "actions": ...}',
            )
            return None
        check_keys(raw, TRANSITION_KEYS, path, self.faults, what="transition")
        check_extension(raw, path, self.faults, allowed=("roles",))
        transition = Transition(source=node, event=event, path=path)
        if "guard" in raw:
            transition.guard, transition.guard_label = compile_guard(
                raw["guard"], path=join_path(path, "guard"), faults=self.faults, impls=self.impls
            )
        transition.actions = self._actions(raw.get("actions"), join_path(path, "actions"), node.id)
        reenter = raw.get("reenter", False)
        if not isinstance(reenter, bool):
            self.faults.add(
                join_path(path, "reenter"),
                f"reenter must be true or false, not {kind_of(reenter)}",
                'write "reenter": true to exit and re-enter the source state',
            )
            reenter = False
        transition.reenter = reenter
        target = raw.get("target")
        if target is not None:
            transition.targets = self._resolve_targets(node, target, join_path(path, "target"))
        transition.has_content = bool(
            transition.targets is not None or transition.actions or transition.reenter
        )
        return transition

    def _resolve_targets(self, node: StateNode, raw: object, path: str) -> tuple[StateNode, ...]:
        written = self._target_list(raw, path)
        resolved = []
        for index, target in enumerate(written):
            at = join_path(path, index) if isinstance(raw, list) else path
            found = resolve_target(node, target, self.ids, at, self.faults)
            if found is not None:
                resolved.append(found)
        _check_orthogonal(resolved, path, self.faults)
        return tuple(resolved)

    def _target_list(self, raw: object, path: str) -> list[str]:
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(item, str) for item in items):
            self.faults.add(
                path,
                "a target must be a state name or a list of them",
                'write "target": "approved" or ["#a", "#b"]',
            )
            return [item for item in items if isinstance(item, str)]
        return [str(item) for item in items]

    def _actions(self, raw: object, path: str, where: str) -> tuple[Op, ...]:
        self._remember_raised(raw, path)
        return compile_actions(raw, path=path, faults=self.faults, impls=self.impls, where=where)

    def _remember_raised(self, raw: object, path: str) -> None:
        items = raw if isinstance(raw, list) else [raw]
        for index, item in enumerate(items):
            if not (isinstance(item, Mapping) and item.get("type") == "raise"):
                continue
            params = item.get("params")
            event = params.get("event") if isinstance(params, Mapping) else None
            event_type = event.get("type") if isinstance(event, Mapping) else event
            if isinstance(event_type, str):
                at = join_path(path, index) if isinstance(raw, list) else path
                self.raised.append((join_path(join_path(at, "params"), "event"), event_type))

    def check_raised_events(self) -> None:
        """A raised event that no state accepts is almost always a misspelling."""
        descriptors = {event for node in self.nodes for event in node.transitions}
        for path, event_type in self.raised:
            if not any(_matches(descriptor, event_type) for descriptor in descriptors):
                hint = did_you_mean(event_type, (d for d in descriptors if "*" not in d))
                self.faults.add(
                    path,
                    f'no state accepts the raised event "{event_type}"',
                    hint or "add a transition for it, or raise an event that exists",
                )


def _matches(descriptor: str, event_type: str) -> bool:
    if descriptor in (event_type, "*"):
        return True
    if not descriptor.endswith(".*"):
        return False
    head = descriptor[:-2]
    return event_type == head or event_type.startswith(head + ".")


def _check_orthogonal(targets: list[StateNode], path: str, faults: Faults) -> None:
    """Several targets must each lie in a different region of a parallel state."""
    for i, first in enumerate(targets):
        for second in targets[i + 1 :]:
            if first is second or first.is_descendant_of(second) or second.is_descendant_of(first):
                clash = True
            else:
                common = next(a for a in first.ancestors if second.is_descendant_of(a))
                clash = common.type != "parallel"
            if clash:
                faults.add(
                    path,
                    f'targets "{first.id}" and "{second.id}" cannot both be active',
                    "multiple targets must be in different regions of a parallel state",
                )


def _schedule_after(event: str, delay: object, label: str, where: str) -> Op:
    from statewright.chart.effects import ScheduleTimer

    assert callable(delay)

    def schedule(run: Run) -> None:
        try:
            milliseconds = delay(run.context, run.event)
        except Exception as error:
            raise implementation_error("delay", label, where, run.event, error) from error
        run.schedule_timer(ScheduleTimer(id=event, delay_ms=milliseconds, event={"type": event}))

    return schedule


def _cancel_after(event: str) -> Op:
    return lambda run: run.cancel_timer(event)


def _retry_policy(
    item: Mapping[str, object], path: str, faults: Faults
) -> Mapping[str, object] | None:
    from statewright.chart.schema import check_retry

    extension = item.get("statewright")
    if not isinstance(extension, Mapping) or "retry" not in extension:
        return None
    return check_retry(
        extension["retry"], join_path(join_path(path, "statewright"), "retry"), faults
    )
