"""A step started again under an id that is still running replaces the running one, in the
testing actor as in the engine (whose step row is replaced): only the newest run's result is
applied. A state is entered again without being exited through a history state that defaults
to it (docs/xstate-differences.md: XState keeps the first run going and applies both)."""

from __future__ import annotations

from statewright import Machine
from statewright.testing import Actor

CONFIG = {
    "id": "m",
    "initial": "idle",
    "context": {"count": 0, "got": []},
    "states": {
        "idle": {"on": {"GO": "p"}},
        "p": {
            "initial": "a",
            "states": {
                "a": {
                    "always": {
                        "target": "h",
                        "guard": {"$expr": "context.count < 1"},
                        "actions": {
                            "type": "assign",
                            "params": {"count": {"$expr": "context.count + 1"}},
                        },
                    },
                    "invoke": {
                        "id": "job",
                        "src": "job",
                        "input": {"$expr": "context.count"},
                        "onDone": {
                            "actions": {
                                "type": "assign",
                                "params": {"got": {"$expr": "context.got + [event.output]"}},
                            }
                        },
                    },
                },
                "h": {"type": "history"},
            },
        },
    },
}


def test_only_the_newest_run_of_a_restarted_step_is_applied() -> None:
    inputs: list[object] = []

    def job(input: object) -> object:
        inputs.append(input)
        return input

    actor = Actor(Machine.from_config(CONFIG, actors={"job": job})).start()
    actor.send("GO")
    # Both runs were started (the state was entered twice) ...
    assert inputs == [0, 1]
    # ... and only the second, which replaced the first, had its result applied.
    assert actor.snapshot.context == {"count": 1, "got": [1]}
    assert actor.snapshot.value == {"p": "a"}
