"""Configurations and microstep plans, computed once and cached per machine.

A *configuration* is the ordered set of active state nodes (XState's `_nodes`: its order
decides the key order of parallel regions in `value` and the order eventless transitions are
looked for). Configurations are interned, so a snapshot points at a shared, immutable one.

A *plan* is everything about a microstep that does not depend on context or event: which
transitions survive conflict resolution, the states exited and entered, the history to record,
the next configuration, and the flat list of ops to run (exit actions, invocation stops,
transition actions, entry actions, timers, invocation starts, done events). Plans are cached per
configuration and selected transitions unless a history value was consulted. Running a cached
plan is the whole cost of a microstep: that is how statewright compiles what can be compiled
and interprets only guards and actions.
"""

from __future__ import annotations

from collections.abc import Sequence

from statewright.chart.enter_exit import (
    HistoryValue,
    compute_entry_set,
    compute_exit_set,
    remove_conflicting_transitions,
)
from statewright.chart.json_types import JsonValue
from statewright.chart.load import MachineTree
from statewright.chart.nodes import InvokeDef, Op, StateNode, Transition, ValueFn
from statewright.chart.run import ChildRef, Run

__all__ = ["Chart", "Configuration", "Plan"]


class Configuration:
    """An interned, ordered set of active state nodes, with per-configuration caches.

    `nodes` is XState's `_nodes` exactly as its microsteps leave it. In rare microsteps (two
    eventless transitions of parallel regions, one restoring history, one re-entering the
    parallel state) XState's entry set omits ancestors of an entered state; XState keeps that
    set (its exits and eventless selection use it) but reads the state value through
    `getAllStateNodes`, which adds missing ancestors and default descendants, and selects
    transitions for an event by walking that value (`transitionNode`), not the set: below a
    compound state whose first active child is atomic it follows that child only, even when
    the completed set holds another child too (a region left behind when its parallel state
    was exited). statewright does the same: `nodes` for exits, tags, eventless selection and
    `stateIn` by id; `kids`, the children the value follows, for the value, `matches`,
    `stateIn` by value and event selection.
    """

    __slots__ = (
        "accepted",
        "atomic",
        "has_always",
        "kids",
        "node_set",
        "nodes",
        "plans",
        "root",
        "selections",
        "tags",
        "value_template",
    )

    def __init__(self, nodes: tuple[StateNode, ...]) -> None:
        self.nodes = nodes
        self.node_set = frozenset(nodes)
        self.root = nodes[0].ancestors[-1] if nodes[0].ancestors else nodes[0]
        self.atomic = tuple(node for node in nodes if node.is_atomic)
        kids: dict[StateNode, list[StateNode]] = {}
        completed = complete_nodes(nodes)
        for node in completed:
            if node.parent is not None:
                kids.setdefault(node.parent, []).append(node)
        #: Per node, the active children its state value follows, in XState's adjacency
        #: order: all of them, except below a compound state whose first child is atomic.
        self.kids = {
            parent: (
                (children[0],)
                if parent.type == "compound" and children[0].is_atomic
                else tuple(children)
            )
            for parent, children in kids.items()
        }
        self.has_always = any(node.always for node in nodes)
        #: event type -> transitions, for events whose selection evaluated no guard.
        self.selections: dict[str, tuple[Transition, ...]] = {}
        self.plans: dict[tuple[Transition, ...], Plan] = {}
        self.tags = frozenset(tag for node in nodes for tag in node.tags)
        #: What event selection walks: the root and every node the value follows.
        walked: set[StateNode] = set()
        stack = [self.root]
        while stack:
            node = stack.pop()
            walked.add(node)
            stack.extend(self.kids.get(node, ()))
        self.accepted = _accepted_events([node for node in completed if node in walked])
        #: The state value, built once; never hand it out (it is shared), copy it.
        self.value_template = self._value_of(self.root)

    def value(self) -> JsonValue:
        """The XState state value (`"a"` or `{"p": {"x": "x1"}}`), a fresh copy."""
        template = self.value_template
        return template if type(template) is str else _copy_value(template)

    def _value_of(self, node: StateNode) -> JsonValue:
        children = self.kids.get(node, ())
        if node.type == "compound":
            if not children:
                return {}
            if children[0].is_atomic:
                return children[0].key
        return {child.key: self._value_of(child) for child in children}


def _copy_value(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return {key: _copy_value(inner) for key, inner in value.items()}
    return value


def complete_nodes(nodes: Sequence[StateNode]) -> list[StateNode]:
    """XState's `getAllStateNodes`: add default descendants of compound and parallel states
    that lack active children, then every ancestor, keeping first-seen order."""
    found: dict[StateNode, None] = dict.fromkeys(nodes)
    children_of: dict[StateNode, bool] = {}
    for node in found:
        if node.parent is not None:
            children_of[node.parent] = True
    index = 0
    while index < len(found):
        node = list(found)[index]
        index += 1
        if node.type == "compound" and not children_of.get(node):
            _add_initial_with_ancestors(node, found)
        elif node.type == "parallel":
            for child in node.real_children():
                if child not in found:
                    _add_initial_with_ancestors(child, found)
    for node in list(found):
        found.update(dict.fromkeys(node.ancestors))
    return list(found)


def _add_initial_with_ancestors(node: StateNode, found: dict[StateNode, None]) -> None:
    initial: dict[StateNode, None] = {}

    def visit(current: StateNode) -> None:
        if current in initial:
            return
        initial[current] = None
        if current.type == "compound" and current.initial and current.initial.targets:
            visit(current.initial.targets[0])
        elif current.type == "parallel":
            for child in current.real_children():
                visit(child)

    visit(node)
    for state in list(initial):
        for ancestor in state.ancestors:
            if ancestor is node:
                break
            initial[ancestor] = None
    found.update(initial)


def _accepted_events(nodes: Sequence[StateNode]) -> tuple[str, ...]:
    events: dict[str, None] = {}
    for node in nodes:
        for descriptor, transitions in node.transitions.items():
            if descriptor.startswith("xstate.") or "*" in descriptor:
                continue
            if any(t.has_content for t in transitions):
                events[descriptor] = None
    return tuple(events)


class Plan:
    """The context-independent part of one microstep."""

    __slots__ = ("done", "history", "next", "ops", "transitions", "unchanged")

    def __init__(
        self,
        *,
        transitions: tuple[Transition, ...],
        ops: tuple[Op, ...],
        history: dict[str, tuple[StateNode, ...]] | None,
        next: Configuration,
        unchanged: bool,
        done: bool,
    ) -> None:
        self.transitions = transitions
        self.ops = ops
        #: History entries recorded by this microstep, or None when none changed.
        self.history = history
        self.next = next
        #: True when the active set and history are as before (XState keeps its snapshot).
        self.unchanged = unchanged
        self.done = done


class Chart:
    """A machine's compiled tree plus its configuration and plan caches."""

    def __init__(self, tree: MachineTree) -> None:
        self.tree = tree
        self._configurations: dict[tuple[StateNode, ...], Configuration] = {}

    def configuration(self, nodes: tuple[StateNode, ...]) -> Configuration:
        """Intern a configuration."""
        found = self._configurations.get(nodes)
        if found is None:
            found = self._configurations[nodes] = Configuration(nodes)
        return found

    def plan(
        self,
        config: Configuration,
        transitions: tuple[Transition, ...],
        history: HistoryValue,
        *,
        initial: bool = False,
    ) -> Plan:
        """The plan of a microstep taking `transitions` from `config` (cached when possible)."""
        found = config.plans.get(transitions)
        if found is not None:
            return found
        plan, cacheable = self._build(config, transitions, history, initial)
        if cacheable:
            config.plans[transitions] = plan
        return plan

    def _build(
        self,
        config: Configuration,
        selected: tuple[Transition, ...],
        history: HistoryValue,
        initial: bool,
    ) -> tuple[Plan, bool]:
        active = config.nodes
        transitions = tuple(remove_conflicting_transitions(selected, active, history))
        ops: list[Op] = []
        recorded: dict[str, tuple[StateNode, ...]] = {}
        nodes = list(active)
        if not initial:
            exits = sorted(compute_exit_set(transitions, active, history), key=_reverse_order)
            for state in exits:
                _record_history(state, active, recorded)
            for state in exits:
                ops.extend(state.exit)
                ops.extend(_stop(invoke) for invoke in state.invoke)
                nodes.remove(state)
        for transition in transitions:
            ops.extend(transition.actions)
        merged = {**history, **recorded} if recorded else history
        entry = compute_entry_set(transitions, merged)
        if initial:
            entry.default_entry.add(config.root)
        done = self._enter(entry.states, entry.default_entry, nodes, ops)
        if done:
            for state in sorted(nodes, key=_reverse_order):
                ops.extend(state.exit)
            nodes.sort(key=_reverse_order)
        same_set = set(nodes) == config.node_set
        unchanged = same_set and not recorded and not done
        next_nodes = active if unchanged else tuple(nodes)
        # A history target makes the plan depend on the history value: in the entry set, and
        # also in conflict removal, whose exit sets read it (so `selected`, not `transitions`:
        # a transition to a history state that lost the conflict still decided it).
        cacheable = not entry.used_history and not any(
            target.type == "history" for t in selected for target in t.targets or ()
        )
        plan = Plan(
            transitions=transitions,
            ops=tuple(ops),
            history=recorded or None,
            next=self.configuration(next_nodes),
            unchanged=unchanged,
            done=done,
        )
        return plan, cacheable

    def _enter(
        self,
        states: dict[StateNode, None],
        default_entry: set[StateNode],
        nodes: list[StateNode],
        ops: list[Op],
    ) -> bool:
        """Append the entry ops of `states` in document order; True if the machine is done."""
        done = False
        completed: set[StateNode] = set()
        present = set(nodes)
        for state in sorted(states, key=_order):
            if state not in present:
                nodes.append(state)
                present.add(state)
            ops.extend(state.entry)
            ops.extend(_spawn(invoke) for invoke in state.invoke)
            if state in default_entry and state.type == "compound" and state.initial:
                ops.extend(state.initial.actions)
            if state.type != "final":
                continue
            parent = state.parent
            assert parent is not None
            marker = parent if parent.type == "parallel" else parent.parent
            completion = marker or state
            if parent.type == "compound":
                ops.append(_done_state(parent.id, state.output))
            while (
                marker is not None
                and marker.type == "parallel"
                and marker not in completed
                and _is_in_final_state(present, marker)
            ):
                completed.add(marker)
                ops.append(_done_state(marker.id, None))
                completion = marker
                marker = marker.parent
            if marker is not None:
                continue
            ops.append(_machine_done(completion, self.tree.output))
            done = True
        return done


def _order(node: StateNode) -> int:
    return node.order


def _reverse_order(node: StateNode) -> int:
    return -node.order


def _record_history(
    state: StateNode, active: Sequence[StateNode], recorded: dict[str, tuple[StateNode, ...]]
) -> None:
    """SCXML exitStates: remember what was active below `state` before it exits."""
    for child in state.children.values():
        if child.type != "history":
            continue
        if child.history == "deep":
            kept = tuple(n for n in active if n.is_atomic and n.is_descendant_of(state))
        else:
            kept = tuple(n for n in active if n.parent is state)
        recorded[child.id] = kept


def _is_in_final_state(present: set[StateNode], node: StateNode) -> bool:
    if node.type == "compound":
        return any(c.type == "final" and c in present for c in node.real_children())
    if node.type == "parallel":
        return all(_is_in_final_state(present, c) for c in node.real_children())
    return node.type == "final"


def _spawn(invoke: InvokeDef) -> Op:
    invoke_id, src, state_id, input_fn = invoke.id, invoke.src, invoke.state.id, invoke.input

    def spawn(run: Run) -> None:
        value = input_fn(run.context, run.event) if input_fn is not None else None
        run.start_child(invoke_id, ChildRef(src, value, state_id))

    return spawn


def _stop(invoke: InvokeDef) -> Op:
    invoke_id = invoke.id
    return lambda run: run.stop_child(invoke_id)


def _done_state(state_id: str, output: ValueFn | None) -> Op:
    event_type = f"xstate.done.state.{state_id}"
    if output is None:
        return lambda run: run.queue.append({"type": event_type})

    def done_with_output(run: Run) -> None:
        run.queue.append({"type": event_type, "output": output(run.context, run.event)})

    return done_with_output


def _machine_done(completion: StateNode, machine_output: ValueFn | None) -> Op:
    event_type = f"xstate.done.state.{completion.id}"
    inner = completion.output if completion.parent is not None else None

    def finish(run: Run) -> None:
        run.status = "done"
        if machine_output is None:
            return
        done_event = {
            "type": event_type,
            "output": inner(run.context, run.event) if inner else None,
        }
        run.output = machine_output(run.context, done_event)

    return finish
