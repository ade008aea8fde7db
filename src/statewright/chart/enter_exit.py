"""Exit sets, entry sets and transition domains: SCXML's algorithm as XState v5 runs it.

Theory of operation. A microstep takes the enabled transitions and
1. drops conflicting ones (two transitions whose exit sets intersect: the one from the deeper
   source wins, otherwise the earlier one) - SCXML "removeConflictingTransitions";
2. computes the exit set: every active state below each transition's *domain* (the nearest
   ancestor of source and targets, or the source itself when every target lies inside it and
   the transition does not `reenter`) - SCXML "computeExitSet", "getTransitionDomain";
3. records history for exiting states that own history states, then exits them in reverse
   document order;
4. runs the transitions' actions in selection order;
5. computes the entry set (targets, their default descendants, history restores, and the
   ancestors up to the domain, filling every region of a parallel ancestor) and enters it in
   document order - SCXML "computeEntrySet", "addDescendantStatesToEnter",
   "addAncestorStatesToEnter".
https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation

XState deviates from the letter of SCXML in places (a domain may be a parallel state; `*`
matches its own events; the order of its active-node set), and these functions follow XState
(`packages/core/src/stateUtils.ts`). Everything here is a pure function of the tree, the
active nodes and the history value, so `plan.py` can compute a microstep once and cache it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from statewright.chart.nodes import StateNode, Transition

__all__ = [
    "HistoryValue",
    "compute_entry_set",
    "compute_exit_set",
    "effective_targets",
    "proper_ancestors",
    "remove_conflicting_transitions",
    "transition_domain",
]

#: History state id -> the states it remembers.
HistoryValue = Mapping[str, tuple[StateNode, ...]]


def proper_ancestors(node: StateNode, up_to: StateNode | None) -> list[StateNode]:
    """Ancestors of `node`, nearest first, stopping before `up_to` (all of them for None)."""
    if node is up_to:
        return []
    result = []
    for ancestor in node.ancestors:
        if ancestor is up_to:
            break
        result.append(ancestor)
    return result


def history_default(history: StateNode) -> Transition:
    """The transition a history state takes when nothing is remembered yet."""
    assert history.initial is not None
    return history.initial


def effective_targets(transition: Transition, history: HistoryValue) -> list[StateNode]:
    """Targets with history states replaced by what they remember (or their default)."""
    if not transition.targets:
        return []
    result: dict[StateNode, None] = {}
    for target in transition.targets:
        if target.type != "history":
            result[target] = None
        elif target.id in history:
            result.update(dict.fromkeys(history[target.id]))
        else:
            result.update(dict.fromkeys(effective_targets(history_default(target), history)))
    return list(result)


def transition_domain(transition: Transition, history: HistoryValue) -> StateNode | None:
    """The state whose descendants a transition exits and enters (XState's rules)."""
    targets = effective_targets(transition, history)
    source = transition.source
    if not transition.reenter and all(t is source or t.is_descendant_of(source) for t in targets):
        return source
    common = _least_common_ancestor([*targets, source])
    if common is not None:
        return common
    if transition.reenter:
        return None
    return _root(source)


def _root(node: StateNode) -> StateNode:
    return node.ancestors[-1] if node.ancestors else node


def _least_common_ancestor(nodes: Sequence[StateNode]) -> StateNode | None:
    head, tail = nodes[0], nodes[1:]
    for ancestor in head.ancestors:
        if all(node.is_descendant_of(ancestor) for node in tail):
            return ancestor
    return None


def compute_exit_set(
    transitions: Iterable[Transition], active: Sequence[StateNode], history: HistoryValue
) -> list[StateNode]:
    """Active states the transitions exit, in the order XState collects them."""
    exits: dict[StateNode, None] = {}
    for transition in transitions:
        if not transition.targets:
            continue
        domain = transition_domain(transition, history)
        if transition.reenter and transition.source is domain and domain is not None:
            exits[domain] = None
        for node in active:
            if node.is_descendant_of(domain):
                exits[node] = None
    return list(exits)


def remove_conflicting_transitions(
    transitions: Sequence[Transition], active: Sequence[StateNode], history: HistoryValue
) -> list[Transition]:
    """Keep a conflict-free subset: a deeper source preempts, else the earlier one wins."""
    if len(transitions) < 2:
        return list(transitions)
    kept: list[Transition] = []
    exit_sets: dict[Transition, set[StateNode]] = {}

    def exits_of(t: Transition) -> set[StateNode]:
        if t not in exit_sets:
            exit_sets[t] = set(compute_exit_set([t], active, history))
        return exit_sets[t]

    for first in transitions:
        preempted = False
        to_remove = []
        for second in kept:
            if exits_of(first) & exits_of(second):
                if first.source.is_descendant_of(second.source):
                    to_remove.append(second)
                else:
                    preempted = True
                    break
        if not preempted:
            kept = [t for t in kept if t not in to_remove]
            kept.append(first)
    return kept


class EntrySet:
    """States to enter (insertion-ordered), those entered by default, and whether history
    values were consulted (then the result cannot be cached)."""

    __slots__ = ("default_entry", "states", "used_history")

    def __init__(self) -> None:
        self.states: dict[StateNode, None] = {}
        self.default_entry: set[StateNode] = set()
        self.used_history = False

    def has_descendant_of(self, node: StateNode) -> bool:
        return any(s.is_descendant_of(node) for s in self.states)


def compute_entry_set(transitions: Sequence[Transition], history: HistoryValue) -> EntrySet:
    """The states the transitions enter (SCXML computeEntrySet, as XState runs it)."""
    entry = EntrySet()
    for transition in transitions:
        domain = transition_domain(transition, history)
        if _touches_history(transition):
            entry.used_history = True
        for target in transition.targets or ():
            if target.type != "history" and (
                transition.source is not target
                or transition.source is not domain
                or transition.reenter
            ):
                entry.states[target] = None
                entry.default_entry.add(target)
            _add_descendants(target, history, entry)
        for target in effective_targets(transition, history):
            ancestors = proper_ancestors(target, domain)
            if domain is not None and domain.type == "parallel":
                ancestors.append(domain)
            reentrancy = None if transition.source.parent is None and transition.reenter else domain
            _add_ancestors(ancestors, history, entry, reentrancy)
    return entry


def _touches_history(transition: Transition) -> bool:
    return any(t.type == "history" for t in transition.targets or ())


def _add_descendants(node: StateNode, history: HistoryValue, entry: EntrySet) -> None:
    if node.type == "history":
        entry.used_history = True
        parent = node.parent
        assert parent is not None
        if node.id in history:
            remembered = history[node.id]
            for state in remembered:
                entry.states[state] = None
                _add_descendants(state, history, entry)
            for state in remembered:
                _add_ancestors(proper_ancestors(state, parent), history, entry, None)
            return
        default = history_default(node)
        for state in default.targets or ():
            entry.states[state] = None
            if default is parent.initial:
                entry.default_entry.add(parent)
            _add_descendants(state, history, entry)
        for state in default.targets or ():
            _add_ancestors(proper_ancestors(state, parent), history, entry, None)
        return
    if node.type == "compound":
        assert node.initial is not None and node.initial.targets
        initial = node.initial.targets[0]
        if initial.type != "history":
            entry.states[initial] = None
            entry.default_entry.add(initial)
        _add_descendants(initial, history, entry)
        _add_ancestors(proper_ancestors(initial, node), history, entry, None)
    elif node.type == "parallel":
        for child in node.real_children():
            if not entry.has_descendant_of(child):
                if child.type != "history":
                    entry.states[child] = None
                    entry.default_entry.add(child)
                _add_descendants(child, history, entry)


def _add_ancestors(
    ancestors: Sequence[StateNode],
    history: HistoryValue,
    entry: EntrySet,
    reentrancy: StateNode | None,
) -> None:
    for ancestor in ancestors:
        if reentrancy is None or ancestor.is_descendant_of(reentrancy):
            entry.states[ancestor] = None
        if ancestor.type == "parallel":
            for child in ancestor.real_children():
                if not entry.has_descendant_of(child):
                    entry.states[child] = None
                    _add_descendants(child, history, entry)
