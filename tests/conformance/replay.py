"""Replaying a conformance case through statewright and comparing it with XState's trace.

Shared by `test_conformance.py` (the recorded corpus) and `fuzz/` (generated machines). A
case is `{"machine", "input"?, "steps"}`, an expected trace `{"initial", "steps"}`; see
README.md in this folder.
"""

from __future__ import annotations

import importlib.util
import json
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from statewright.chart.effects import CancelTimer, StartStep
from statewright.chart.json_types import JsonObject
from statewright.chart.run import Run
from statewright.testing import Actor

__all__ = [
    "XStateStepsActor",
    "XStateTimersActor",
    "first_difference",
    "library",
    "xstate_cancel",
]

HERE = Path(__file__).parent


def _load_library() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance_library", HERE / "library.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


library = _load_library()


class XStateTimersActor(Actor):
    """The testing actor with XState's scheduler (system.ts, `scheduler.schedule`/`cancel`).

    A timer scheduled under an id that is still pending does not replace it: the old timer
    still fires, and the id names only the newest (a `cancel` clears the newest; the old one,
    when it fires, forgets the id, so the newest can no longer be cancelled). statewright's
    actor replaces the pending timer: a deliberate difference (docs/xstate-differences.md).
    Replaying with this actor tells whether that difference alone explains a disagreement.
    """

    def _set_timer(self, timer_id: str, event: JsonObject, delay_ms: int) -> None:
        def fire() -> None:
            self._timers.pop(timer_id, None)
            if self.snapshot.status == "active":
                self._deliver(event)

        self._timers[timer_id] = (self.clock.set_timeout(fire, delay_ms), event)


@contextmanager
def xstate_cancel() -> Iterator[None]:
    """While replaying, a `cancel` in the chart only asks to cancel, as XState's does.

    The chart drops every timer of that id scheduled earlier in the macrostep: with timers
    that replace one another, only the last could be pending. With XState's scheduler
    (`XStateTimersActor`) an earlier one, orphaned by a later one under the same id, still
    fires; this keeps it, so that the replay shows it.
    """
    original = Run.cancel_timer

    def cancel_timer(self: Run, timer_id: str) -> None:
        self.effects.append(CancelTimer(id=timer_id))

    Run.cancel_timer = cancel_timer  # type: ignore[method-assign]
    try:
        yield
    finally:
        Run.cancel_timer = original  # type: ignore[method-assign]


#: Marks a run in `_results` that a newer run under its id has orphaned (XStateStepsActor).
_ORPHAN = "\0orphan:"


class XStateStepsActor(Actor):
    """The testing actor with XState's children (`spawnChild`, `stopChild` in actions/).

    An invocation started under an id whose run is still going does not replace it: the
    snapshot's `children[id]` names only the newest actor, so leaving the state stops only
    that one, and the older run, never stopped, still delivers its result. statewright's
    actor replaces the running step, as the engine replaces its row: a deliberate difference
    (docs/xstate-differences.md). Replaying with this actor tells whether that difference
    alone explains a disagreement.
    """

    _held: list[Any] | None = None

    def _apply(self, step: Any) -> None:
        if self.macrosteps:
            super()._apply(step)
            return
        # The initial macrostep: XState's `start()` starts the snapshot's children first (the
        # newest run under each id, in the order of `children`), then runs the deferred
        # actions, which start the runs that newer ones orphaned.
        self._held = []
        try:
            super()._apply(step)
        finally:
            held, self._held = self._held, None
        last = {effect.id: effect for effect in held}
        current = [last[i] for i in step.snapshot.children if i in last]
        for effect in current:
            self._start_step(effect)
        for effect in held:
            if not any(effect is c for c in current):
                self._start_orphan(effect)

    def _perform(self, effect: Any) -> None:
        if self._held is not None and isinstance(effect, StartStep):
            self._held.append(effect)
        else:
            super()._perform(effect)

    def _start_orphan(self, effect: Any) -> None:
        """Start a run that a newer one under its id has already orphaned."""
        held = f"{_ORPHAN}held"
        self._results = deque(
            (held, event) if run_id == effect.id else (run_id, event)
            for run_id, event in self._results
        )
        running = self.running_steps.get(effect.id)
        Actor._start_step(self, effect)
        self._results = deque(
            (f"{_ORPHAN}{run_id}", event)
            if run_id == effect.id
            else ((effect.id, event) if run_id == held else (run_id, event))
            for run_id, event in self._results
        )
        if running is None:
            self.running_steps.pop(effect.id, None)
        else:
            self.running_steps[effect.id] = running

    def _start_step(self, effect: Any) -> None:
        if effect.id in self.running_steps:
            self._results = deque(
                (f"{_ORPHAN}{run_id}", event) if run_id == effect.id else (run_id, event)
                for run_id, event in self._results
            )
        super()._start_step(effect)

    def _settle(self) -> None:
        while self._results and self.snapshot.status == "active":
            run_id, event = self._results.popleft()
            if run_id.startswith(_ORPHAN):
                self._deliver(event)
            elif run_id in self.running_steps:
                del self.running_steps[run_id]
                self._deliver(event)


def _trace(actor: Any, emitted_before: int) -> dict[str, object]:
    """The recorded shape of the actor's state after a step (see README.md)."""
    snapshot = actor.snapshot
    return {
        "value": library.plain(snapshot.value),
        "context": library.plain(snapshot.context),
        "status": snapshot.status,
        "output": library.plain(snapshot.output),
        "log": list(library.LOG),
        "emitted": library.plain(actor.emitted[emitted_before:]),
    }


def _difference(
    name: str, label: str, step: object, expected: Mapping[str, object], actual: dict[str, object]
) -> str | None:
    # dict equality ignores key order, so parallel `value`s compare as maps.
    wrong = [field for field in expected if expected[field] != actual.get(field)]
    if not wrong:
        return None
    lines = [f"{name}, {label} {json.dumps(step)}: {', '.join(wrong)} differ"]
    for field in wrong:
        lines.append(f"  {field}: expected {json.dumps(expected[field])}")
        lines.append(f"  {' ' * len(field)}  actual   {json.dumps(actual.get(field))}")
    return "\n".join(lines)


def _restore(actor: Any, machine: Any, step: Mapping[str, object]) -> Any:
    """The `{"restore": true}` step: save the snapshot as JSON text, stop, restore, carry on.

    The pending timers are saved too (the durable engine keeps them as rows beside the
    snapshot); XState loses them, which is why no recorded case restores with a timer pending.
    """
    assert step == {"restore": True}, f"unknown step {step!r}"
    saved = json.dumps(actor.snapshot.to_json())
    timers = [timer.to_json() for timer in actor.timers]
    actor.stop()
    return type(actor).from_snapshot(machine, saved, timers=timers, clock=actor.clock)


def first_difference(
    name: str, case: Mapping[str, Any], expected: Mapping[str, Any], *, actor_type: Any = None
) -> str | None:
    """Run `case` in statewright's testing actor; describe the first step that differs from
    `expected`, or return None if every step agrees. Errors statewright raises propagate.

    `actor_type` replaces `statewright.testing.Actor` (`XStateTimersActor` to test whether
    a difference comes from timers scheduled under a pending id).
    """
    import statewright

    if actor_type is None:
        actor_type = Actor

    machine = statewright.Machine.from_config(case["machine"]).provide(
        **library.implementations(case["machine"])
    )
    actor = actor_type(machine, input=case.get("input"))

    library.LOG.clear()
    actor.start()
    difference = _difference(name, "start", None, expected["initial"], _trace(actor, 0))
    if difference:
        return difference

    for index, (step, expected_step) in enumerate(
        zip(case["steps"], expected["steps"], strict=True)
    ):
        library.LOG.clear()
        emitted_before = len(actor.emitted)
        if "send" in step:
            actor.send(step["send"])
        elif "advance" in step:
            actor.advance(step["advance"])
        else:
            actor = _restore(actor, machine, step)
            emitted_before = 0
        actual = _trace(actor, emitted_before)
        difference = _difference(name, f"step {index}", step, expected_step, actual)
        if difference:
            return difference
    return None
