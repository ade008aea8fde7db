"""The three examples (order, approval, intake) with their steps, and `sync` (a step that
always fails and waits an hour between attempts, so a retrying step stays on the queues
page): the `--machines` file of the console's test server, and what the test process
registers to make instances."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from statewright import Machine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_order = _module(EXAMPLES / "order" / "steps.py", "console_example_order_steps")
_approval = _module(EXAMPLES / "approval" / "steps.py", "console_example_approval_steps")


class SyncFailed(Exception):
    """The remote system refused the sync."""


def push_record(input: dict[str, object]) -> dict[str, object]:
    """Always fails: the remote system is down."""
    raise SyncFailed(f"remote refused record {input.get('record')}")


SYNC = {
    "id": "sync",
    "initial": "pushing",
    "context": {"record": {"$expr": "input.record"}},
    "states": {
        "pushing": {
            "invoke": {
                "id": "push",
                "src": "pushRecord",
                "input": {"record": {"$expr": "context.record"}},
                "statewright": {"retry": {"attempts": 3, "delay": "1h"}},
                "onDone": "synced",
                "onError": "failed",
            }
        },
        "synced": {"type": "final"},
        "failed": {},
    },
}

MACHINES = [
    Machine.load(EXAMPLES / "order" / "order.json", actors=_order.ACTORS),
    Machine.load(EXAMPLES / "approval" / "approval.json", actors=_approval.ACTORS),
    Machine.load(EXAMPLES / "intake" / "intake.json"),
    Machine.from_config(SYNC, actors={"pushRecord": push_record}),
]
