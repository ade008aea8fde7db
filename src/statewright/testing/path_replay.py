"""Replaying a test path on an in-memory `Actor`, checking each state on the way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from statewright.chart import Snapshot
from statewright.errors import StatewrightError
from statewright.testing.actor import Actor

if TYPE_CHECKING:
    from statewright.testing.paths import Path, PathStep

__all__ = ["replay"]

_RESULTS = (("xstate.done.actor.", "output"), ("xstate.error.actor.", "error"))


def replay(path: Path, actor: object) -> Snapshot:
    """`Path.run`: see its docstring."""
    if not isinstance(actor, Actor):
        raise TypeError(
            f"path.run() takes a statewright.testing.Actor, not {type(actor).__name__}; "
            "create one with Actor(machine, input=..., run_steps=False)"
        )
    try:
        actor.snapshot  # noqa: B018 - raises if the actor has not started
    except StatewrightError:
        actor.start()
    steps = path.steps
    _check(path, steps, actor, -1)
    for index, step in enumerate(steps):
        _deliver(actor, step.event)
        _check(path, steps, actor, index)
    return actor.snapshot


def _deliver(actor: Actor, event: Mapping[str, object]) -> None:
    event_type = str(event["type"])
    for prefix, key in _RESULTS:
        invoke_id = event_type[len(prefix) :]
        plain = set(event) <= {"type", key, "actorId"}
        if event_type.startswith(prefix) and invoke_id in actor.running_steps and plain:
            if key == "output":
                actor.resolve_step(invoke_id, event.get(key))
            else:
                actor.reject_step(invoke_id, event.get(key))
            return
    actor.send(event)


def _check(path: Path, steps: tuple[PathStep, ...], actor: Actor, index: int) -> None:
    expected = steps[index].snapshot if index >= 0 else path.start
    actual = actor.snapshot
    if path.key(actual) == path.key(expected):
        return
    where = "at the start" if index < 0 else f"after step {index + 1} ({steps[index].event})"
    hint = ""
    if actor.run_steps and any(node.invoke for node in actor.machine.states):
        hint = "; the path delivers step results itself: create the actor with run_steps=False"
    elif index < 0:
        hint = "; replay on a new actor, started with the input the path was explored with"
    raise AssertionError(
        f"{where} the actor is in {actual.value!r} (status {actual.status}, context "
        f"{dict(actual.context)!r}) but the path {path.describe()!r} expects "
        f"{expected.value!r} (status {expected.status}, context {dict(expected.context)!r})"
        f"{hint}"
    )
