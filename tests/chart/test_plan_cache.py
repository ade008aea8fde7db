"""A machine's cached microstep plans never change what a transition does.

Plans are cached per configuration and selected transitions, except when they depend on the
history value. A transition to a history state that loses a conflict still depends on it:
conflict removal compares exit sets, and those read the history. Found by the property test
of `statewright.testing.paths` (a transition gave a different snapshot the second time).
"""

from __future__ import annotations

from typing import Any

from statewright import Machine, Snapshot, assign

CONFIG: dict[str, Any] = {
    "id": "m",
    "context": {"n": 0},
    "initial": "p",
    "states": {
        "p": {
            "type": "parallel",
            "states": {
                "left": {
                    "initial": "inner",
                    "states": {"inner": {"type": "parallel", "states": {"only": {}}}},
                    "on": {"A": "#m.p.right.box.jump"},
                },
                "right": {
                    "type": "parallel",
                    "states": {
                        "box": {
                            "initial": "home",
                            "states": {
                                "jump": {
                                    "always": {
                                        "target": "#m.p",
                                        "guard": {"$expr": "context.n < 3"},
                                        "actions": ["inc"],
                                    }
                                },
                                "home": {"on": {"A": "#m.p.right.box.h"}},
                                "h": {"type": "history", "history": "shallow"},
                            },
                        }
                    },
                },
            },
        }
    },
}


def build() -> Machine:
    return Machine.from_config(
        CONFIG, actions={"inc": assign(lambda context, event: {"n": context["n"] + 1})}
    )


def test_a_transition_gives_the_same_snapshot_whatever_ran_before() -> None:
    machine = build()
    snapshots = [machine.initial_transition().snapshot]
    for _ in range(5):
        snapshots.append(machine.transition(snapshots[-1], {"type": "A"}).snapshot)
    for snapshot in snapshots:
        again = machine.transition(snapshot, {"type": "A"}).snapshot
        fresh = build()
        alone = fresh.transition(Snapshot.from_json(fresh, snapshot.to_json()), {"type": "A"})
        assert again.to_json() == alone.snapshot.to_json()
