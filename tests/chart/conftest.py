"""Shared helpers for the chart tests: a recorder that logs actions in the order they run.

Every chart test builds a tiny machine inline and asserts the exact order of the actions it ran.
`Recorder.machine(config)` gives every action name the config refers to (other than the
built-ins) a recording implementation, so a config can say `"entry": ["in_a"]` and the test
reads `rec.take() == ["in_a"]`. A reference with params records `(name, params)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from statewright import Machine

#: Action names that are statewright built-ins, never recorded.
BUILTIN_ACTIONS = frozenset({"assign", "raise", "cancel", "emit", "log"})


class Recorder:
    """Collects what recording actions saw, in the order they ran."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def action(self, name: str) -> Callable[[Any, Any, Any], None]:
        """A recording action: logs `name`, or `(name, params)` when called with params."""

        def record(context: Any, event: Any, params: Any) -> None:
            self.calls.append(name if params is None else (name, params))

        record.__name__ = f"record_{name}"
        return record

    def actions(self, *names: str) -> dict[str, Callable[[Any, Any, Any], None]]:
        """Recording actions for `names`."""
        return {name: self.action(name) for name in names}

    def machine(self, config: Mapping[str, Any], **implementations: Any) -> Machine:
        """Build `config` with a recording action for every action name it refers to.

        Keyword arguments are passed to `Machine.from_config`; `actions=` given there win over
        the recording ones.
        """
        actions: dict[str, object] = dict(self.actions(*sorted(set(action_names(config)))))
        actions.update(implementations.pop("actions", None) or {})
        return Machine.from_config(config, actions=actions, **implementations)

    def take(self) -> list[object]:
        """Return the calls recorded so far and start a new list."""
        calls, self.calls = self.calls, []
        return calls


def action_names(value: object) -> Iterator[str]:
    """Every action name referred to under `entry`, `exit` and `actions` keys, anywhere."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("entry", "exit", "actions"):
                yield from _names(item)
            else:
                yield from action_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from action_names(item)


def _names(actions: object) -> Iterator[str]:
    for action in actions if isinstance(actions, list) else [actions]:
        if isinstance(action, str):
            name = action
        elif isinstance(action, Mapping) and isinstance(action.get("type"), str):
            name = action["type"]
        else:
            continue
        if name not in BUILTIN_ACTIONS:
            yield name


@pytest.fixture
def rec() -> Recorder:
    """A fresh recorder for one test."""
    return Recorder()
