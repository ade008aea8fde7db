"""The three examples (order, approval, intake) with their steps: the `--machines` file of
the console's test server, and what the test process registers to make instances."""

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

MACHINES = [
    Machine.load(EXAMPLES / "order" / "order.json", actors=_order.ACTORS),
    Machine.load(EXAMPLES / "approval" / "approval.json", actors=_approval.ACTORS),
    Machine.load(EXAMPLES / "intake" / "intake.json"),
]
