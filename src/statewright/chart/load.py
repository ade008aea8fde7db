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
from statewright.chart.faults import Faults, did_you_mean, join_path
from statewright.chart.guards import compile_guard
from statewright.chart.implementations import Implementations
from statewright.chart.nodes import InvokeDef, NodeType, Op, StateNode, Transition, ValueFn
from statewright.chart.run import Run
from statewright.chart.schema import (
    INVOKE_KEYS,
    MACHINE_ONLY_KEYS,
    STATE_KEYS,
    TRANSITION_KEYS,
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
        context = compile_value(config["context"], path="context", faults=faults, scope="init")
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

    # -- pass 1: the nodes ------------------------------------------------------------------

    def make_node(
        self, raw: object, *, key: str, parent: StateNode | None, path: str
    ) -> StateNode:
        node = StateNode(key=key, parent=parent, path=path)
        node.order = len(self.nodes)
        self.nodes.append(node)
        config: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
        if not isinstance(raw, Mapping):
            what = "the machine config" if parent is None else f"state {key!r}"
            self.faults.add(path, f"{what} must be an object", 'write "name": {} for a state')
        self.configs[node] = config
        allowed = STATE_KEYS | MACHINE_ONLY_KEYS if parent is None else STATE_KEYS
        check_keys(config, allowed, path, self.faults, what="state")
        check_extension(config, path, self.faults, allowed=())
        self._name(node, config)
        states = config.get("states")
        if states is not None and not isinstance(states, Mapping):
            self.faults.add(join_path(path, "states"), "states must be an object", "")
            states = None
        node.type = self._type(node, config, bool(states))
        for child_key, child_raw in (states or {}).items():
            child_path = join_path(join_path(path, "states"), str(child_key))
            if "." in str(child_key) or not str(child_key):
                self.faults.add(child_path, f"state key {child_key!r} is not usable",
                                'use a non-empty key without "." (dots separate state paths)')
            node.children[str(child_key)] = self.make_node(
                child_raw, key=str(child_key), parent=node, path=child_path
            )
        return node

    def _name(self, node: StateNode, config: Mapping[str, object]) -> None:
        custom = config.get("id") if node.parent is not None else None
        if custom is not None and (not isinstance(custom, str) or not custom):
            self.faults.add(join_path(node.path, "id"), "a state id must be a non-empty string",
                            "remove it or write a name")
            custom = None
        node.id = custom or ".".join((self.machine_id, *node.state_path))
        if node.id in self.ids:
            other = self.ids[node.id]
            self.faults.add(join_path(node.path, "id") if custom else node.path,
                            f'duplicate state id "{node.id}" (also {other.path or "the root"})',
                            "give each state a unique id")
        else:
            self.ids[node.id] = node

    def _type(self, node: StateNode, config: Mapping[str, object], has_children: bool) -> NodeType:
        raw = config.get("type")
        path = join_path(node.path, "type")
        if raw is None:
            return "compound" if has_children else "atomic"
        if raw not in _TYPES or raw == "compound" and not has_children:
            hint = did_you_mean(str(raw), _TYPES) if isinstance(raw, str) else ""
            self.faults.add(path, f"unknown state type {raw!r}",
                            hint or "use one of atomic, compound, parallel, final, history")
            return "compound" if has_children else "atomic"
        kind: NodeType = raw  # type: ignore[assignment]
        if kind in ("atomic", "final", "history") and has_children:
            self.faults.add(path, f"a {kind} state cannot have child states",
                            'remove "states", or make it "compound" / "parallel"')
        if kind == "parallel" and not has_children:
            self.faults.add(path, "a parallel state needs child states (its regions)",
                            'add "states", or remove "type": "parallel"')
        if node.parent is None and kind in ("final", "history"):
            self.faults.add(path, f"the machine itself cannot be a {kind} state",
                            "move it into a child state")
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
            transitions[event] = self._transitions(node, config["onDone"], event,
                                                   join_path(node.path, "onDone"))
        self._wire_invoke(node, config, transitions)
        self._wire_after(node, config, transitions, entry, exit_)
        node.transitions = transitions
        node.entry, node.exit = tuple(entry), tuple(exit_)
        if "always" in config:
            node.always = tuple(self._transitions(node, config["always"], None,
                                                  join_path(node.path, "always")))
        if "output" in config and node.parent is not None:
            node.output = compile_value(config["output"], path=join_path(node.path, "output"),
                                        faults=self.faults, scope="transition")
        self._wire_info(node, config)

    def _check_misuse(self, node: StateNode, config: Mapping[str, object]) -> None:
        path, kind = node.path, node.type
        rules: list[tuple[str, bool, str, str]] = [
            ("history", kind != "history", "only a history state has \"history\"",
             'add "type": "history", or remove "history"'),
            ("target", kind != "history", "only a history state has a default \"target\"",
             "put the target in a transition"),
            ("initial", kind in ("parallel",), "a parallel state has no \"initial\"",
             "remove it: every region of a parallel state is entered"),
            ("initial", kind in ("atomic", "final", "history"),
             f"a {kind} state has no child to start in", 'remove "initial"'),
            ("onDone", kind in ("atomic", "final", "history"),
             f"onDone never fires on a {kind} state", "put onDone on a compound or parallel state"),
            ("output", kind not in ("final",) and node.parent is not None,
             "only final states (and the machine) have an output", 'remove "output"'),
        ]
        for key in ("on", "always", "after", "invoke"):
            rules.append((key, kind == "final", f"a final state cannot have \"{key}\"",
                          "a final state is left only with its parent; move it to the parent"))
        for key in ("on", "always", "after", "invoke", "entry", "exit", "states"):
            rules.append((key, kind == "history", f"a history state cannot have \"{key}\"",
                          "history is a pseudo-state; put this on its parent"))
        for key, broken, message, fix in rules:
            if broken and key in config:
                self.faults.add(join_path(path, key), message, fix)

    def _wire_history(self, node: StateNode, config: Mapping[str, object]) -> None:
        mode = config.get("history", "shallow")
        if mode not in ("shallow", "deep"):
            self.faults.add(join_path(node.path, "history"), f"unknown history mode {mode!r}",
                            'write "history": "shallow" or "deep"')
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
            found = (resolve_target(parent, written, self.ids, at, self.faults)
                     if written.startswith("#")
                     else resolve_path(parent, written, at, self.faults, written=written))
            if found is not None and not found.is_descendant_of(parent):
                self.faults.add(at, f'history default "{written}" is not inside {parent.id!r}',
                                "target a state inside the history state's parent")
            elif found is not None:
                resolved.append(found)
        transition.targets = tuple(resolved)
        node.initial = transition

    def _wire_initial(self, node: StateNode, config: Mapping[str, object]) -> None:
        if node.type != "compound":
            return
        raw = config.get("initial")
        path = join_path(node.path, "initial")
        first = next(iter(node.children))
        actions: tuple[Op, ...] = ()
        if isinstance(raw, Mapping):
            check_keys(raw, frozenset({"target", "actions"}), path, self.faults, what="initial")
            actions = self._actions(raw.get("actions"), join_path(path, "actions"), node.id)
            raw = raw.get("target")
        transition = Transition(source=node, event=None, path=path)
        transition.actions = actions
        node.initial = transition
        if raw is None:
            self.faults.add(path if "initial" in config else node.path,
                            "compound state has no \"initial\"",
                            f'add "initial": "{first}" (its first child)')
            transition.targets = (node.children[first],)
            return
        if not isinstance(raw, str) or raw not in node.children:
            hint = did_you_mean(str(raw), node.children) or f'its states are {", ".join(node.children)}'
            self.faults.add(path, f'no child state "{raw}" to start in', hint)
            transition.targets = (node.children[first],)
            return
        transition.targets = (node.children[raw],)

    def _wire_on(
        self, node: StateNode, config: Mapping[str, object], out: dict[str, list[Transition]]
    ) -> None:
        on = config.get("on")
        if on is None:
            return
        path = join_path(node.path, "on")
        if not isinstance(on, Mapping):
            self.faults.add(path, '"on" must map event types to transitions',
                            'write "on": {"EVENT": "target"}')
            return
        for event, raw in on.items():
            event_path = join_path(path, str(event))
            if not event:
                self.faults.add(event_path, "an empty event type is not allowed",
                                'use "always" for eventless transitions')
                continue
            if "*" in event and event != "*" and not (event.endswith(".*")
                                                       and "*" not in event[:-2]):
                self.faults.add(event_path, f'"{event}" never matches: "*" may only end a '
                                'descriptor after a dot', 'write "order.*" or "*"')
            out[event] = self._transitions(node, raw, event, event_path)

    def _wire_invoke(
        self, node: StateNode, config: Mapping[str, object], out: dict[str, list[Transition]]
    ) -> None:
        raw = config.get("invoke")
        if raw is None:
            return
        items = raw if isinstance(raw, list) else [raw]
        invokes = []
        for index, item in enumerate(items):
            path = join_path(join_path(node.path, "invoke"), index) if isinstance(raw, list) \
                else join_path(node.path, "invoke")
            if not isinstance(item, Mapping):
                self.faults.add(path, "an invoke must be an object",
                                'write "invoke": {"src": "chargeCard", "onDone": "paid"}')
                continue
            check_keys(item, INVOKE_KEYS, path, self.faults, what="invoke")
            check_extension(item, path, self.faults, allowed=("retry",))
            src = item.get("src")
            if not isinstance(src, str) or not src:
                self.faults.add(join_path(path, "src"), "an invoke needs \"src\": the name of a "
                                "provided actor", 'write "src": "chargeCard" and provide it')
                continue
            if src not in self.impls.actors:
                self.faults.add_missing(join_path(path, "src"), "actors", src, self.impls.actors)
            invoke_id = item.get("id")
            if not isinstance(invoke_id, str) or not invoke_id:
                invoke_id = f"{index}.{node.id}"
            invoke = InvokeDef(id=invoke_id, src=src, state=node, path=path)
            if "input" in item:
                invoke.input = compile_value(item["input"], path=join_path(path, "input"),
                                             faults=self.faults, scope="transition")
            invoke.retry = _retry_policy(item, path, self.faults)
            for key, prefix in (("onDone", "xstate.done.actor."), ("onError", "xstate.error.actor.")):
                if key in item:
                    event = prefix + invoke_id
                    out[event] = self._transitions(node, item[key], event, join_path(path, key))
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
            self.faults.add(path, '"after" must map delays to transitions',
                            'write "after": {"48h": "escalated"}')
            return
        delays = []
        for raw_key, raw in after.items():
            key = delay_key(str(raw_key))
            key_path = join_path(path, str(raw_key))
            delay = compile_delay(str(raw_key), path=key_path, faults=self.faults,
                                  impls=self.impls)
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
            self.faults.add(join_path(node.path, "tags"), "tags must be a list of strings",
                            'write "tags": ["busy"]')
            tags = ()
        node.tags = tuple(tags)
        node.meta = config.get("meta")
        description = config.get("description")
        if description is not None and not isinstance(description, str):
            self.faults.add(join_path(node.path, "description"), "a description is text",
                            "write a string")
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
            self.faults.add(path, "a transition must be a target string or an object",
                            'write "target", or {"target": ..., "guard": ..., "actions": ...}')
            return None
        check_keys(raw, TRANSITION_KEYS, path, self.faults, what="transition")
        check_extension(raw, path, self.faults, allowed=("roles",))
        transition = Transition(source=node, event=event, path=path)
        if "guard" in raw:
            transition.guard, transition.guard_label = compile_guard(
                raw["guard"], path=join_path(path, "guard"), faults=self.faults,
                impls=self.impls)
        transition.actions = self._actions(raw.get("actions"), join_path(path, "actions"),
                                           node.id)
        reenter = raw.get("reenter", False)
        if not isinstance(reenter, bool):
            self.faults.add(join_path(path, "reenter"), "reenter must be true or false", "")
            reenter = False
        transition.reenter = reenter
        target = raw.get("target")
        if target is not None:
            transition.targets = self._resolve_targets(node, target, join_path(path, "target"))
        transition.has_content = bool(
            transition.targets is not None or transition.actions or transition.reenter)
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
            self.faults.add(path, "a target must be a state name or a list of them",
                            'write "target": "approved" or ["#a", "#b"]')
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
                self.faults.add(path, f'no state accepts the raised event "{event_type}"',
                                hint or "add a transition for it, or raise an event that exists")


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
        for second in targets[i + 1:]:
            if first is second or first.is_descendant_of(second) or second.is_descendant_of(first):
                clash = True
            else:
                common = next(a for a in first.ancestors if second.is_descendant_of(a))
                clash = common.type != "parallel"
            if clash:
                faults.add(path, f'targets "{first.id}" and "{second.id}" cannot both be active',
                           "multiple targets must be in different regions of a parallel state")


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


def _retry_policy(item: Mapping[str, object], path: str, faults: Faults) -> Mapping[str, object] | None:
    from statewright.chart.schema import check_retry

    extension = item.get("statewright")
    if not isinstance(extension, Mapping) or "retry" not in extension:
        return None
    return check_retry(extension["retry"], join_path(join_path(path, "statewright"), "retry"),
                       faults)
