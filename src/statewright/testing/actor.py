"""An in-memory actor on a virtual clock, for unit tests of machine definitions.

It runs a machine the way XState's actor runs one under a `SimulatedClock`: it performs the
effects of every transition - timers on the virtual clock, invoked steps run through the
provided actors and reported back as `xstate.done.actor.<id>` / `xstate.error.actor.<id>`
events, emitted events collected - and keeps the latest snapshot. Nothing is persisted.

Step results arrive the way promise results do in XState: not inside the macrostep that
started the step, but when the actor settles, after the `send` or `advance` that started it.

`Actor.from_snapshot` continues from a saved snapshot as the durable engine continues after a
restart: pending timers keep their due times (given as `timers`, from the actor that saved the
snapshot), and the steps the snapshot has running are run again (see `restore.py`).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping
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
from statewright.chart.json_types import JsonObject
from statewright.chart.snapshot import error_to_json
from statewright.engine.writes import step_run_key
from statewright.errors import SnapshotError, StatewrightError
from statewright.runtime.step_context import StepContext, running
from statewright.testing.clock import VirtualClock
from statewright.testing.restore import (
    PendingTimer,
    SavedSnapshot,
    SavedTimer,
    read_snapshot,
    read_timers,
    states_with_after,
)

__all__ = ["PENDING", "Actor", "StepError"]

_ANONYMOUS = "anonymous."
#: The tenant `current_step()` names inside a step the actor runs (the engine's default).
_TENANT = "default"


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
        #: Pending timers: id -> (clock handle, event).
        self._timers: dict[str, tuple[int, JsonObject]] = {}
        self._anonymous = itertools.count()
        #: Running steps: invocation id -> (src, input).
        self.running_steps: dict[str, tuple[str, object]] = {}
        self._results: deque[tuple[str, dict[str, object]]] = deque()

    # -- driving ------------------------------------------------------------------------------

    @classmethod
    def from_snapshot(
        cls,
        machine: Machine,
        snapshot: SavedSnapshot,
        *,
        timers: Iterable[SavedTimer] | None = None,
        clock: VirtualClock | None = None,
        run_steps: bool = True,
    ) -> Actor:
        """Continue a machine from a saved snapshot, as the durable engine does after a restart.

        The actor starts at once (do not call `start()`): the steps the snapshot has running
        (`snapshot.children`) are run again with their saved input, as a worker runs the steps
        of a restarted instance again, and their results are settled before this returns; the
        `timers` are scheduled at their due times (one already due fires on the next
        `advance`, `advance(0)` will do). Nothing else runs: no entry action, no eventless
        transition. A snapshot that is `done`, `error` or `stopped` stays so, with no timers or
        steps.

        Stop the actor that saved the snapshot before restoring on its clock, or its timers
        fire too.

        Args:
            machine: the machine, with its implementations provided.
            snapshot: a `Snapshot`, `snapshot.to_json()`, or that as JSON text.
            timers: the timers pending when it was saved, with their due times on the clock:
                `actor.timers` of the saving actor, or their `to_json()` form. Required when an
                active state has `after` transitions; `[]` restores without any timers (what
                XState does).
            clock: the `VirtualClock` the timers' due times refer to (the saving actor's
                `clock`, or a `VirtualClock(start_ms=...)`); a new one at 0 by default.
            run_steps: run the restored and later steps (True), or leave them pending for
                `resolve_step` / `reject_step` (False).

        Returns:
            The restored, started actor.

        Raises:
            SnapshotError: the snapshot is not JSON, not a snapshot, or not one of `machine`
                (another machine, or states, history or steps this version lacks); a timer is
                malformed; or `timers` is missing while an active state waits on `after`.
            StatewrightError: with `run_steps`, a running step's actor is not provided.
            Nothing is scheduled on `clock` when any of these is raised.
        """
        restored = read_snapshot(machine, snapshot)
        active = restored.status == "active"
        if timers is None:
            waiting = states_with_after(restored) if active else []
            if waiting:
                names = ", ".join(repr(node.id) for node in waiting)
                raise SnapshotError(
                    f"the snapshot is in {names}, which waits on `after` timers, and no timers "
                    "were given; pass timers=actor.timers of the actor that saved it (their "
                    "due times are not in the snapshot), or timers=[] to restore without them"
                )
            pending: list[PendingTimer] = []
        else:
            pending = read_timers(timers)
        children = restored.children if active else {}
        if run_steps:
            for invoke_id, child in children.items():
                if child["src"] not in machine.implementations.actors:
                    raise StatewrightError(
                        f"step {child['src']!r} (invoked in {child['state']!r} as {invoke_id!r}) "
                        f"is running in the snapshot but not provided; "
                        f"machine.provide(actors={{{child['src']!r}: fn}})"
                    )
        actor = cls(machine, clock=clock, run_steps=run_steps)
        actor._snapshot = restored
        if not active:
            return actor
        now = actor.clock.now()
        for timer in pending:
            actor._set_timer(timer.id, dict(timer.event), max(0, timer.due_ms - now))
        # Anonymous ids the actor hands out next must not replace a restored timer.
        taken = [
            int(timer.id[len(_ANONYMOUS) :])
            for timer in pending
            if timer.id.startswith(_ANONYMOUS) and timer.id[len(_ANONYMOUS) :].isdigit()
        ]
        actor._anonymous = itertools.count(max(taken, default=-1) + 1)
        for invoke_id, child in children.items():
            actor._start_step(
                StartStep(
                    id=invoke_id,
                    src=str(child["src"]),
                    input=child["input"],
                    state=str(child["state"]),
                )
            )
        actor._settle()
        return actor

    def start(self) -> Actor:
        """Enter the initial state and settle; returns the actor.

        Raises:
            PayloadInvalid: the input fails the definition's input schema, as in the engine.
        """
        if self._snapshot is not None:
            raise StatewrightError("this actor has already started; create a new Actor")
        self.machine.check_input(self.input)
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
        """Process an event, then settle step results; returns the new snapshot.

        As the engine does, an event whose fields fail the schema the definition declares
        for its type is refused first (`PayloadInvalid`) and changes nothing, so a unit test
        catches what production refuses.
        """
        self.machine.check_event(event)
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
        return [timer.id for timer in self.timers]

    @property
    def timers(self) -> list[PendingTimer]:
        """The timers still pending, in the order they will fire, with their due times.

        Save them with the snapshot (`[t.to_json() for t in actor.timers]`) and pass them to
        `Actor.from_snapshot` to restore the actor with its timers, as the durable engine keeps
        its timer rows across a restart.
        """

        pending = [
            (self.clock.due(handle) or 0, handle, timer_id, event)
            for timer_id, (handle, event) in self._timers.items()
        ]
        return [
            PendingTimer(timer_id, due, dict(event))
            for due, _, timer_id, event in sorted(pending, key=lambda item: item[:2])
        ]

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
            for handle, _ in self._timers.values():
                self.clock.clear_timeout(handle)
            self._timers.clear()
            self.running_steps.clear()
            self._results.clear()

    def _perform(self, effect: Effect) -> None:
        if isinstance(effect, ScheduleTimer):
            self._schedule(effect)
        elif isinstance(effect, CancelTimer):
            pending = self._timers.pop(effect.id, None)
            if pending is not None:
                self.clock.clear_timeout(pending[0])
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
        timer_id = effect.id if effect.id is not None else f"{_ANONYMOUS}{next(self._anonymous)}"
        self._set_timer(timer_id, dict(effect.event), effect.delay_ms)

    def _set_timer(self, timer_id: str, event: JsonObject, delay_ms: int) -> None:
        old = self._timers.pop(timer_id, None)
        if old is not None:
            self.clock.clear_timeout(old[0])

        def fire() -> None:
            self._timers.pop(timer_id, None)
            if self.snapshot.status == "active":
                self._deliver(event)

        self._timers[timer_id] = (self.clock.set_timeout(fire, delay_ms), event)

    def _start_step(self, effect: StartStep) -> None:
        # A step started under an id that is still running replaces that run, as the engine's
        # step row is replaced: the old run's result, if it has one waiting, is discarded.
        self._results = deque(r for r in self._results if r[0] != effect.id)
        self.running_steps[effect.id] = (effect.src, effect.input)
        if not self.run_steps:
            return
        fn = self.machine.implementations.actors.get(effect.src)
        if fn is None:
            raise StatewrightError(
                f"step {effect.src!r} (invoked in {effect.state!r}) is not provided; "
                f"machine.provide(actors={{{effect.src!r}: fn}})"
            )
        # As on a worker, `current_step()` inside the step names its run: the key is the
        # engine's (tenant/instance/invoke id/version), the machine's id standing for the
        # instance and the number of macrosteps so far for its version.
        version = len(self.macrosteps)
        context = StepContext(
            tenant=_TENANT,
            instance_id=self.machine.id,
            invoke_id=effect.id,
            src=effect.src,
            attempt=1,
            idempotency_key=step_run_key(_TENANT, self.machine.id, effect.id, version),
        )
        outcome = _call_step(fn, effect.input, context)
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


def _call_step(fn: Callable[..., object], input: object, context: StepContext) -> Any:
    try:
        with running(context):
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
