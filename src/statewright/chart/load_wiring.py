"""Loading, pass 2: transitions, initial states, history defaults, actions and state info."""

from __future__ import annotations

from collections.abc import Mapping

from statewright.chart.actions import compile_actions
from statewright.chart.events import matches_descriptor
from statewright.chart.faults import Faults, a_or_an, did_you_mean, few, join_path, kind_of
from statewright.chart.guards import compile_guard
from statewright.chart.load_nodes import LoaderState
from statewright.chart.nodes import Op, StateNode, Transition
from statewright.chart.schema import (
    TRANSITION_KEYS,
    YAML_BOOLEAN,
    check_extension,
    check_keys,
)
from statewright.chart.state_in import StateTree
from statewright.chart.targets import resolve_path, resolve_target
from statewright.chart.values import compile_value

__all__ = ["WiringPass"]


class WiringPass(LoaderState):
    """Compiles what each state declares, now that every node exists to be targeted."""

    def _wire_invoke(
        self, node: StateNode, config: Mapping[str, object], out: dict[str, list[Transition]]
    ) -> None:
        raise NotImplementedError  # InvokeAfterPass

    def _wire_after(
        self,
        node: StateNode,
        config: Mapping[str, object],
        out: dict[str, list[Transition]],
        entry: list[Op],
        exit_: list[Op],
    ) -> None:
        raise NotImplementedError  # InvokeAfterPass

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
                kind in ("atomic", "final", "history") and not node.children,
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
        if mode is True:  # XState v5 reads `"history": true` as shallow
            mode = "shallow"
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
        if target is None and parent.type == "parallel":
            # XState: a history state of a parallel state defaults to the parallel state.
            transition.targets = (parent,)
            node.initial = transition
            return
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
        transition.roles = _roles(raw.get("statewright"))
        if "guard" in raw:
            transition.guard, transition.guard_label = compile_guard(
                raw["guard"],
                path=join_path(path, "guard"),
                faults=self.faults,
                impls=self.impls,
                tree=StateTree(self.nodes[0], self.ids),
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
        if "target" in raw:  # "target": null too, refused with the other non-strings
            transition.targets = self._resolve_targets(
                node, raw["target"], join_path(path, "target")
            )
        # What the definition declares, not what compiled: a machine loaded without its
        # implementations (to read, as the CLI's `accepted`) has no ops for its actions.
        raw_actions = raw.get("actions")
        declared = len(raw_actions) if isinstance(raw_actions, list) else raw_actions is not None
        transition.has_content = bool(
            transition.targets is not None or declared or transition.actions or transition.reenter
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
        """Warn of a raised event that no state handles: almost always a misspelling.

        XState accepts it and drops the event when its turn comes (nothing is selected), and
        so does statewright; the warning keeps the near miss visible.
        """
        descriptors = {event for node in self.nodes for event in node.transitions}
        for path, event_type in self.raised:
            if not any(matches_descriptor(descriptor, event_type) for descriptor in descriptors):
                hint = did_you_mean(event_type, (d for d in descriptors if "*" not in d))
                self.faults.warn(
                    path,
                    f'no state handles the raised event "{event_type}": '
                    "it is dropped when processed",
                    hint or "add a transition for it, or remove the raise if nothing should",
                )


def _check_orthogonal(targets: list[StateNode], path: str, faults: Faults) -> None:
    """Several targets must each lie in a different region of a parallel state."""
    for i, first in enumerate(targets):
        for second in targets[i + 1 :]:
            if first.is_descendant_of(second) or second.is_descendant_of(first):
                clash = False  # XState enters the deeper one
            elif first is second:
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


def _roles(extension: object) -> tuple[str, ...] | None:
    """The `roles` of a transition's statewright object, once `check_extension` took it."""
    roles = extension.get("roles") if isinstance(extension, Mapping) else None
    if isinstance(roles, list) and roles and all(isinstance(role, str) for role in roles):
        return tuple(roles)
    return None
