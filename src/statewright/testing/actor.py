"""An in-memory actor on a virtual clock, for unit tests of machine definitions.

It runs a machine the way XState's actor runs one under a `SimulatedClock`: it performs the
effects of every transition - timers on the virtual clock, invoked steps run through the
provided actors and reported back as `xstate.done.actor.<id>` / `xstate.error.actor.<id>`
events, emitted events collected - and keeps the latest snapshot. Nothing is persisted.

Step results arrive the way promise results do in XState: not inside the macrostep that
started the step, but when the actor settles, after the `send` or `advance` that started it.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from statewright.chart import (
    CancelTimer,
    Effect,
    Emit,
    Log,
    Machine,
    Macrostep,
    ScheduleTimer,
    Snapshot,
    StartStep,
    StopStep,
)
from statewright.chart.snapshot import error_to_json
from statewright.errors import StatewrightError
from statewright.testing.clock import VirtualClock

__all__ = ["PENDING", "Actor", "StepError"]


class _Pending:
    def __repr__(self) -> str:
        return "PENDING"


#: Return this from a step to keep it running until `resolve_step` / `reject_step`.
PENDING: Any = _Pending()


class StepError(Exception):
    """Raise it from a step to fail with `value` as the error event's `error` (JSON data)."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(str(value))


class Actor:
    """Run a machine in memory on a virtual clock.

    Args:
        machine: the machine, with its implementations provided.
        input: the machine's input (XState's `createActor(machine, {input})`).
        clock: a `VirtualClock` to share between actors; a new one by default.
        run_steps: run invoked steps with the provided actors (True), or leave them pending
            for `resolve_step` / `reject_step` (False).
    """

    def __init__(
        self,
        machine: Machine,
        *,
        input: object = None,
        clock: VirtualClock | None = None,
        run_steps: bool = True,
    ) -> None:
        self.machine = machine
        self.input = input
        self.clock = clock or VirtualClock()
        self.run_steps = run_steps
        self._snapshot: Snapshot | None = None
        #: Every macrostep, in order.
        self.macrosteps: list[Macrostep] = []
        #: Every effect, in order.
        self.effects: list[Effect] = []
        #: Events emitted by `emit` actions, in order.
        self.emitted: list[dict[str, object]] = []
        #: `log` actions, in order.
        self.logs: list[Log] = []
        self._timers: dict[str, int] = {}
        self._anonymous = itertools.count()
        #: Running steps: invocation id -> (src, input).
        self.running_steps: dict[str, tuple[str, object]] = {}
        self._results: deque[tuple[str, dict[str, object]]] = deque()

    # -- driving ------------------------------------------------------------------------------

    def start(self) -> Actor:
        """Enter the initial state and settle; returns the actor."""
        if self._snapshot is not None:
            raise StatewrightError("this actor has already started; create a new Actor")
        self._apply(self.machine.initial_transition(self.input))
        self._settle()
        return self

    @property
    def snapshot(self) -> Snapshot:
        """The latest snapshot."""
        if self._snapshot is None:
            raise StatewrightError("the actor has not started; call actor.start() first")
        return self._snapshot

    def send(self, event: Mapping[str, object] | str) -> Snapshot:
        """Process an event, then settle step results; returns the new snapshot."""
        self._deliver(event)
        self._settle()
        return self.snapshot

    def advance(self, amount: int | float | str) -> Snapshot:
        """Move the clock (`1000`, `"48h"`), firing due timers in order, then settle."""
        self.clock.advance(amount)
        self._settle()
        return self.snapshot

    def stop(self) -> Snapshot:
        """Stop the actor (XState's `actor.stop()`): status `stopped`, steps and timers void."""
        return self.send({"type": "xstate.stop"})

    def resolve_step(self, invoke_id: str, output: object = None) -> Snapshot:
        """Complete a pending step with `output` (its `onDone` runs)."""
        self._finish_manually(
            invoke_id,
            {"type": f"xstate.done.actor.{invoke_id}", "output": output, "actorId": invoke_id},
        )
        return self.snapshot

    def reject_step(self, invoke_id: str, error: object = None) -> Snapshot:
        """Fail a pending step with `error` (its `onError` runs)."""
        self._finish_manually(
            invoke_id,
            {"type": f"xstate.error.actor.{invoke_id}", "error": error, "actorId": invoke_id},
        )
        return self.snapshot

    @property
    def pending_timers(self) -> list[str]:
        """Ids of the timers still pending, in the order they will fire."""

        def firing_order(timer_id: str) -> tuple[int, int]:
            handle = self._timers[timer_id]
            return (self.clock.due(handle) or 0, handle)

        return sorted(self._timers, key=firing_order)

    # -- effects ------------------------------------------------------------------------------

    def _deliver(self, event: Mapping[str, object] | str) -> None:
        self._apply(self.machine.transition(self.snapshot, event))

    def _apply(self, step: Macrostep) -> None:
        self._snapshot = step.snapshot
        self.macrosteps.append(step)
        self.effects.extend(step.effects)
        for effect in step.effects:
            self._perform(effect)
        if step.snapshot.status != "active":
            for handle in self._timers.values():
                self.clock.clear_timeout(handle)
            self._timers.clear()
            self.running_steps.clear()
            self._results.clear()

    def _perform(self, effect: Effect) -> None:
        if isinstance(effect, ScheduleTimer):
            self._schedule(effect)
        elif isinstance(effect, CancelTimer):
            handle = self._timers.pop(effect.id, None)
            if handle is not None:
                self.clock.clear_timeout(handle)
        elif isinstance(effect, StartStep):
            self._start_step(effect)
        elif isinstance(effect, StopStep):
            self.running_steps.pop(effect.id, None)
            self._results = deque(r for r in self._results if r[0] != effect.id)
        elif isinstance(effect, Emit):
            self.emitted.append(dict(effect.event))
        elif isinstance(effect, Log):
            self.logs.append(effect)

    def _schedule(self, effect: ScheduleTimer) -> None:
        timer_id = effect.id if effect.id is not None else f"anonymous.{next(self._anonymous)}"
        old = self._timers.pop(timer_id, None)
        if old is not None:
            self.clock.clear_timeout(old)
        event = dict(effect.event)

        def fire() -> None:
            self._timers.pop(timer_id, None)
            if self.snapshot.status == "active":
                self._deliver(event)

        self._timers[timer_id] = self.clock.set_timeout(fire, effect.delay_ms)

    def _start_step(self, effect: StartStep) -> None:
        self.running_steps[effect.id] = (effect.src, effect.input)
        if not self.run_steps:
            return
        fn = self.machine.implementations.actors.get(effect.src)
        if fn is None:
            raise StatewrightError(
                f"step {effect.src!r} (invoked in {effect.state!r}) is not provided; "
                f"machine.provide(actors={{{effect.src!r}: fn}})"
            )
        outcome = _call_step(fn, effect.input)
        if outcome is PENDING:
            return
        kind, value = outcome
        if kind == "done":
            event = {
                "type": f"xstate.done.actor.{effect.id}",
                "output": value,
                "actorId": effect.id,
            }
        else:
            event = {
                "type": f"xstate.error.actor.{effect.id}",
                "error": value,
                "actorId": effect.id,
            }
        self._results.append((effect.id, event))

    def _settle(self) -> None:
        """Deliver finished steps' results, as XState's promise actors do after a macrostep."""
        while self._results and self.snapshot.status == "active":
            invoke_id, event = self._results.popleft()
            if invoke_id in self.running_steps:
                del self.running_steps[invoke_id]
                self._deliver(event)

    def _finish_manually(self, invoke_id: str, event: dict[str, object]) -> None:
        if invoke_id not in self.running_steps:
            running = ", ".join(self.running_steps) or "none"
            raise StatewrightError(f"no running step {invoke_id!r}; running: {running}")
        del self.running_steps[invoke_id]
        self._deliver(event)
        self._settle()


def _call_step(fn: Callable[..., object], input: object) -> Any:
    try:
        result = fn(input)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except StepError as error:
        return ("error", error.value)
    except Exception as error:
        return ("error", error_to_json(error))
    if result is PENDING:
        return PENDING
    return ("done", result)


async def _await(awaitable: Any) -> object:
    return await awaitable
