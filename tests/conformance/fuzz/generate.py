"""Random machine definitions in the corpus's dialect, with random steps.

Every case uses only what `recorder/record.mjs` translates and `library.py` implements (see
../README.md): compound, parallel, final and history states, `onDone`, guarded `always`,
`after` (numbers and the library's named delays), `raise` (immediate and delayed), `cancel`,
`emit`, `assign` with `$expr` paths, the library's guards and `and`/`or`/`not`, and invoked
`succeed`/`fail`/`never` actors with `onDone`/`onError`. Also:

- states with their own `id`, which `#id` targets, `xstate.stateIn` guards, the names of
  XState's events (`xstate.after.<delay>.<id>`, `xstate.done.state.<id>`, an invocation's
  default id `<index>.<id>`) and the descendants' default ids (still `m.<path>`) depend on;
- wildcards over XState's own events: `xstate.*`, `xstate.done.*`, `xstate.after.*`;
- lists of guarded candidates not only in `on` but in `always`, `after`, `onDone` and an
  invocation's `onDone`/`onError`;
- results passed on: assigns, emits and outputs read `event.output`, `event.error` and
  `event.actorId`, so a final state's `output` reaches its parent's `onDone`, an invocation's
  result its `onDone`/`onError`, and the top-level final state's `output` the machine's
  `output` (`{"$expr": "event.output"}` in the root's `output`).

Two rules keep every case finite in both engines, since XState has no bound on a macrostep:

- every transition that an event from inside the machine can take (`always`, `onDone`, the
  result of an invocation, the raised `R.*` events and the wildcards `*` and `R.*`) is guarded
  by `countLt` and runs `inc`, so each can be taken only a few times;
- delays are never zero, so a timer set while the clock advances never fires in that advance.

Cases also avoid what the README says makes a comparison meaningless: numeric-looking state
keys, equal delays spelt as a number and a name, and a delayed event re-scheduled under an id
that is still pending (a delayed `raise` with an id is cancelled on exit of the state whose
entry raised it, and nothing else raises under that id).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["generate_case"]

#: Events sent from outside; events raised inside; events emitted.
EXTERNAL = ("E.a", "E.b", "F")
RAISED = ("R.a", "R.b")
#: `on` keys, and which of them can match an event from inside the machine.
#: Wildcards over XState's own events: every event they match comes from inside the machine.
XSTATE_WILDCARDS = ("xstate.*", "xstate.done.*", "xstate.after.*")
ON_KEYS = (*EXTERNAL, *RAISED, "E.*", "R.*", "*", *XSTATE_WILDCARDS)
INTERNAL_KEYS = frozenset({*RAISED, "R.*", "*", *XSTATE_WILDCARDS})
#: `after` keys: numbers and the library's named delays, all different values (short = 100,
#: long = 1000, fromCtx = context.delay = 200).
AFTER_KEYS = ("50", "150", "300", "short", "long", "fromCtx")
RAISE_DELAYS = (50, 150, "short")
ADVANCES = (0, 60, 100, 250, 1000)


@dataclass(eq=False)
class Node:
    key: str
    type: str
    parent: Node | None
    children: list[Node] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    #: The state's own `id`, if it has one.
    custom_id: str | None = None

    @property
    def id(self) -> str:
        """The id XState knows the state by: its own, else the machine id and its path."""
        return self.custom_id or self.path_id

    @property
    def path_id(self) -> str:
        return self.key if self.parent is None else f"{self.parent.path_id}.{self.key}"

    def ancestors(self) -> list[Node]:
        node, found = self.parent, []
        while node is not None:
            found.append(node)
            node = node.parent
        return found

    def descendants(self) -> list[Node]:
        found = []
        for child in self.children:
            found.append(child)
            found.extend(child.descendants())
        return found


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0
        self.nodes: list[Node] = []
        #: Set while filling a state whose entry raised a delayed event under its timer id.
        self.cancel_on_exit = False

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- the tree ---------------------------------------------------------------------------

    def new_key(self) -> str:
        self.count += 1
        return f"s{self.count}"

    def build(self, node: Node, depth: int) -> None:
        self.nodes.append(node)
        if node.type == "parallel":
            for _ in range(self.rng.randint(2, 3)):
                kind = "compound" if depth < 3 and self.chance(0.6) else "atomic"
                node.children.append(Node(self.new_key(), kind, node))
            if self.chance(0.04):
                node.children.append(Node(self.new_key(), "history", node))
        elif node.type == "compound":
            for index in range(self.rng.randint(2, 4)):
                node.children.append(Node(self.new_key(), self.child_kind(depth, index), node))
            if self.chance(0.25):
                node.children.append(Node(self.new_key(), "history", node))
        for child in node.children:
            self.build(child, depth + 1)

    def child_kind(self, depth: int, index: int) -> str:
        if index == 0:
            choices = {"atomic": 6, "compound": 2, "parallel": 1, "final": 0.5}
        else:
            choices = {"atomic": 5, "compound": 2, "parallel": 1, "final": 2}
        if depth >= 2:
            choices["compound"] = choices["parallel"] = 0
        return self.rng.choices(list(choices), weights=list(choices.values()))[0]

    # -- what each state declares -------------------------------------------------------------

    def fill(self, node: Node) -> dict[str, Any]:
        config = node.config
        if node.custom_id is not None:
            config["id"] = node.custom_id
        if node.type in ("parallel", "final", "history"):
            config["type"] = node.type
        if node.type == "history":
            if self.chance(0.5):
                config["history"] = "deep"
            if self.chance(0.3):
                assert node.parent is not None
                targets = [n for n in node.parent.descendants() if n.type != "history"]
                config["target"] = "#" + self.rng.choice(targets).id
            return config
        config["entry"] = [f"in_{node.key}", *self.actions(node, on_entry=True)]
        config["exit"] = [f"out_{node.key}", *self.actions(node, on_exit=True)]
        if node.type == "compound":
            real = [c for c in node.children if c.type != "history"]
            initial = real[0] if self.chance(0.8) else self.rng.choice(real)
            config["initial"] = (
                {"target": initial.key, "actions": [f"t_init_{node.key}"]}
                if self.chance(0.1)
                else initial.key
            )
        if node.type == "final":
            if self.chance(0.3):
                config["output"] = self.data()
            return config
        on: dict[str, Any] = {}
        for key in self.rng.sample(ON_KEYS, self.rng.choice((0, 1, 1, 2, 2, 3))):
            internal = key in INTERNAL_KEYS
            if self.chance(0.25):
                on[key] = [self.transition(node, internal) for _ in range(2)]
            else:
                on[key] = self.transition(node, internal)
        if on:
            config["on"] = on
        if self.chance(0.15):
            config["always"] = self.candidates(node, internal=True)
        elif self.chance(0.08):
            # Terminates without the count: it clears `armed`, which nothing else assigns.
            always = self.transition(node, internal=False)
            always = {"target": always} if isinstance(always, str) else always
            always["guard"] = {"type": "ctxTrue", "params": {"key": "armed"}}
            always["actions"] = [{"type": "assign", "params": {"armed": False}}, f"t_{node.key}"]
            config["always"] = always
        if self.chance(0.2):
            keys = self.rng.sample(AFTER_KEYS, self.rng.choice((1, 1, 2)))
            config["after"] = {
                key: self.candidates(node, internal=False, delayed=True) for key in keys
            }
        if node.type in ("compound", "parallel") and node.parent is not None and self.chance(0.4):
            config["onDone"] = self.candidates(node, internal=True)
        if self.chance(0.15):
            config["invoke"] = self.invoke(node)
            if self.chance(0.2):
                config["invoke"] = [config["invoke"], self.invoke(node, second=True)]
        return config

    def invoke(self, node: Node, second: bool = False) -> dict[str, Any]:
        src = self.rng.choices(("succeed", "fail", "never"), weights=(6, 2, 2))[0]
        invoke: dict[str, Any] = {"src": src}
        if second or self.chance(0.5):
            invoke["id"] = f"inv{2 if second else ''}_{node.key}"
        if self.chance(0.5):
            invoke["input"] = self.data()
        if self.chance(0.8):
            invoke["onDone"] = self.candidates(node, internal=True)
        if self.chance(0.5):
            invoke["onError"] = self.candidates(node, internal=True)
        return invoke

    def candidates(self, node: Node, internal: bool, *, delayed: bool = False) -> Any:
        """One transition, or a list of guarded candidates (the first whose guard passes).

        In a list under `after` a target is never a bare string: XState reads it as a
        transition without a target, and statewright refuses it (docs/xstate-differences.md).
        """
        if self.chance(0.25):
            found = [self.transition(node, internal) for _ in range(self.rng.randint(2, 3))]
            if delayed:
                found = [{"target": t} if isinstance(t, str) else t for t in found]
            return found
        return self.transition(node, internal)

    def transition(self, node: Node, internal: bool) -> dict[str, Any] | str:
        transition: dict[str, Any] = {}
        if self.chance(0.8):
            transition["target"] = self.target(node)
        guard = self.guard() if self.chance(0.4) else None
        if internal and guard == "explode":
            guard = None  # the recorder knows XState's message only for a guard on its own
        if internal:
            bound = {"type": "countLt", "params": {"n": self.rng.randint(1, 4)}}
            guard = bound if guard is None else {"and": [bound, guard]}
        if guard is not None:
            transition["guard"] = guard
        actions = self.actions(node, transition=True)
        if internal:
            actions.insert(self.rng.randint(0, len(actions)), "inc")
        elif self.chance(0.3):
            actions.append(f"t_{node.key}")
        if actions:
            transition["actions"] = actions
        if self.chance(0.12):
            transition["reenter"] = True
        if (
            list(transition) == ["target"]
            and isinstance(transition["target"], str)
            and self.chance(0.5)
        ):
            return str(transition["target"])
        return transition

    def target(self, node: Node) -> str | list[str]:
        if self.chance(0.05):
            parallels = [n for n in self.nodes if n.type == "parallel"]
            if parallels:
                parallel = self.rng.choice(parallels)
                regions = self.rng.sample([r for r in parallel.children if r.type != "history"], 2)
                return ["#" + self.rng.choice([r, *r.descendants()]).id for r in regions]
        candidates = [n for n in self.nodes if n.parent is not None]
        target = self.rng.choice(candidates)
        if node.parent is not None and target.parent is node.parent and self.chance(0.6):
            return target.key
        if target.parent is node and self.chance(0.6):
            return "." + target.key
        return "#" + target.id

    def guard(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if depth == 0 and roll < 0.2:
            kind = self.rng.choice(("and", "or", "not"))
            if kind == "not":
                return {"not": self.guard(1)}
            return {kind: [self.guard(1) for _ in range(self.rng.randint(1, 3))]}
        if depth == 0 and roll > 0.99:
            return "explode"
        if roll > 0.92:
            states = [n for n in self.nodes if n.parent is not None and n.type != "history"]
            state = self.rng.choice(states)
            return {"type": "xstate.stateIn", "params": {"state": "#" + state.id}}
        return self.rng.choice(
            (
                "yes",
                "no",
                {"type": "ctxTrue", "params": {"key": self.rng.choice(("flag", "x", "armed"))}},
                {"type": "evtTrue", "params": {"key": "v"}},
                {"type": "countLt", "params": {"n": self.rng.randint(1, 3)}},
                {"type": "countGte", "params": {"n": self.rng.randint(1, 3)}},
            )
        )

    def data(self) -> Any:
        return self.rng.choice(
            (
                self.rng.randint(0, 9),
                {"$expr": "context.x"},
                {"$expr": "event.v"},
                {"a": {"$expr": "context.flag"}, "b": [1, {"$expr": "event.type"}]},
                "text",
                {"$expr": "event.output"},
                {"o": {"$expr": "event.output"}, "e": {"$expr": "event.error"}},
                {"id": {"$expr": "event.actorId"}, "t": {"$expr": "event.type"}},
            )
        )

    def actions(
        self, node: Node, *, on_entry: bool = False, on_exit: bool = False, transition: bool = False
    ) -> list[Any]:
        actions: list[Any] = []
        for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
            roll = self.rng.random()
            if roll < 0.2:
                actions.append(
                    {
                        "type": "assign",
                        "params": {self.rng.choice(("x", "flag", "y")): self.data()},
                    }
                )
            elif roll < 0.4:
                event = {"type": self.rng.choice(RAISED)}
                if self.chance(0.3):
                    event["v"] = {"$expr": "context.flag"}
                params: dict[str, Any] = {"event": event}
                if self.chance(0.3):
                    params["delay"] = self.rng.choice(RAISE_DELAYS)
                    if on_entry and self.chance(0.5) and f"t_{node.key}" not in str(actions):
                        params["id"] = f"t_{node.key}"
                        self.cancel_on_exit = True
                actions.append({"type": "raise", "params": params})
            elif roll < 0.5:
                actions.append(
                    {"type": "emit", "params": {"event": {"type": "out", "x": self.data()}}}
                )
            elif roll < 0.55 and (transition or on_exit):
                actions.append({"type": "cancel", "params": {"id": f"t_{node.key}"}})
            elif roll < 0.65:
                actions.append("snap")
            elif roll < 0.75:
                actions.append({"type": f"p_{node.key}", "params": {"d": self.data()}})
            elif roll < 0.76:
                actions.append("boom")
            else:
                actions.append(f"a_{node.key}")
        return actions


def generate_case(seed: int) -> dict[str, Any]:
    """Return one random case (`description`, `machine`, `input`, `steps`) for `seed`."""
    rng = random.Random(seed)
    gen = _Generator(rng)
    root = Node("m", "parallel" if rng.random() < 0.12 else "compound", None)
    gen.build(root, 0)
    for node in gen.nodes[1:]:
        if node.type != "history" and rng.random() < 0.15:
            node.custom_id = f"id_{node.key}"
    for node in gen.nodes:
        gen.cancel_on_exit = False
        gen.fill(node)
        if gen.cancel_on_exit:
            node.config["exit"].append({"type": "cancel", "params": {"id": f"t_{node.key}"}})
    machine = _tree_config(root)
    machine["id"] = "m"
    machine["context"] = {"count": 0, "flag": rng.random() < 0.5, "x": rng.randint(0, 5)}
    machine["context"].update(delay=200, armed=True)
    case: dict[str, Any] = {"description": f"generated from seed {seed}", "machine": machine}
    if rng.random() < 0.15:
        case["input"] = {"flag": rng.random() < 0.5}
        machine["context"]["flag"] = {"$expr": "input.flag"}
    if rng.random() < 0.2:
        machine["output"] = rng.choice(
            (
                {"x": {"$expr": "context.x"}},
                {"x": {"$expr": "context.x"}, "final": {"$expr": "event.output"}},
            )
        )
    steps: list[dict[str, Any]] = []
    for _ in range(rng.randint(3, 10)):
        if rng.random() < 0.7:
            event: dict[str, Any] = {"type": rng.choice((*EXTERNAL, *EXTERNAL, *RAISED))}
            if rng.random() < 0.6:
                event["v"] = rng.choice((True, False, 0, 1))
            steps.append({"send": event})
        else:
            steps.append({"advance": rng.choice(ADVANCES)})
    case["steps"] = steps
    return case


def _tree_config(node: Node) -> dict[str, Any]:
    config = dict(node.config)
    if node.children:
        config["states"] = {child.key: _tree_config(child) for child in node.children}
    return config
