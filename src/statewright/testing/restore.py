"""What `Actor.from_snapshot` restores: a saved snapshot in any of its forms, and timers.

A snapshot says where an instance is (states, context, history, running steps), not when its
timers fall due: the durable engine keeps pending timers as rows with absolute due times, next
to the snapshot, and a restarted worker fires them when they fall due. The in-memory actor
does the same with `PendingTimer`s, taken from the actor that saved the snapshot
(`actor.timers`). XState persists neither (`getPersistedSnapshot` leaves its scheduler out),
so a restored XState actor loses them: see "Restoring a snapshot" in docs/xstate-differences.md.

Everything here only reads and checks; nothing is scheduled until every check has passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from statewright.chart import Machine, Snapshot
from statewright.chart.json_types import JsonObject, JsonValue
from statewright.chart.values import copy_data
from statewright.errors import SnapshotError

if TYPE_CHECKING:
    from statewright.chart.nodes import StateNode

__all__ = ["PendingTimer", "SavedSnapshot", "SavedTimer", "read_snapshot", "read_timers"]

#: What `Actor.from_snapshot` restores: a `Snapshot`, `snapshot.to_json()` or its JSON text.
SavedSnapshot = Snapshot | Mapping[str, object] | str | bytes


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """A timer waiting on an actor's clock: deliver `event` when the clock reaches `due_ms`.

    Attributes:
        id: the timer id (`xstate.after.<delay>.<state id>`, a delayed raise's `id`, or the id
            the actor gave an anonymous delayed raise).
        due_ms: the virtual time, in milliseconds on the actor's clock, it falls due.
        event: the event it delivers.
    """

    id: str
    due_ms: int
    event: JsonObject

    def to_json(self) -> dict[str, JsonValue]:
        """The timer as JSON-ready data: `{"id", "due", "event"}`."""
        return {"id": self.id, "due": self.due_ms, "event": copy_data(dict(self.event))}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PendingTimer:
        """Read a timer saved by `to_json()`.

        Raises:
            SnapshotError: a key is missing or has the wrong type (the message names it).
        """
        return _timer(data, 0)


#: A timer `Actor.from_snapshot` accepts: a `PendingTimer` or its `to_json()` form.
SavedTimer = PendingTimer | Mapping[str, object]


def read_snapshot(machine: Machine, saved: object) -> Snapshot:
    """The snapshot `saved` holds, restored into `machine` and checked against it.

    Raises:
        SnapshotError: `saved` is not a snapshot (not JSON, not an object), or not one of
            `machine` (another machine id, states or history it lacks).
    """
    if isinstance(saved, Snapshot):
        if saved.machine is machine:
            return saved
        # Another Machine object (another version, or the same definition compiled again):
        # checked like saved JSON, so that a snapshot naming states `machine` lacks is refused.
        return Snapshot.from_json(machine, saved.to_json())
    if isinstance(saved, (str, bytes, bytearray)):
        try:
            data = json.loads(saved)
        except ValueError as error:
            raise SnapshotError(
                f"the saved snapshot is not JSON ({error}); pass json.dumps(snapshot.to_json()), "
                "snapshot.to_json() or the Snapshot itself"
            ) from None
        if not isinstance(data, Mapping):
            raise SnapshotError(
                f"the saved snapshot is JSON {type(data).__name__}, not an object; pass "
                "json.dumps(snapshot.to_json())"
            )
        return Snapshot.from_json(machine, data)
    if isinstance(saved, Mapping):
        return Snapshot.from_json(machine, saved)
    raise SnapshotError(
        f"cannot restore a snapshot from {type(saved).__name__}; pass a Snapshot, "
        "snapshot.to_json() or its JSON text"
    )


def read_timers(timers: Iterable[SavedTimer] | Mapping[str, object] | str) -> list[PendingTimer]:
    """The timers to restore, checked, in firing order (due time, then the order given).

    Raises:
        SnapshotError: `timers` is not a list of timers, a timer is malformed, or two share an id.
    """
    if isinstance(timers, (str, bytes, Mapping)):
        raise SnapshotError(
            "timers must be a list of pending timers, such as actor.timers; "
            f"not {type(timers).__name__}"
        )
    result: list[PendingTimer] = []
    seen: set[str] = set()
    for index, timer in enumerate(timers):
        if isinstance(timer, PendingTimer):
            checked = _timer(timer.to_json(), index)
        elif isinstance(timer, Mapping):
            checked = _timer(timer, index)
        else:
            raise SnapshotError(
                f"timers[{index}] is {type(timer).__name__}, not a pending timer; "
                'pass actor.timers or {"id": ..., "due": ms, "event": {...}} items'
            )
        if checked.id in seen:
            raise SnapshotError(
                f"timers[{index}]: a second timer {checked.id!r}; an id is pending at most once, "
                "keep one of them"
            )
        seen.add(checked.id)
        result.append(checked)
    return sorted(result, key=lambda timer: timer.due_ms)


def states_with_after(snapshot: Snapshot) -> list[StateNode]:
    """The active states whose `after` transitions wait on a timer, root first."""
    machine = snapshot.machine
    ids = machine.chart.tree.ids
    return [ids[state_id] for state_id in snapshot.configuration if ids[state_id].after_delays]


def _timer(data: Mapping[str, object], index: int) -> PendingTimer:
    where = f"timers[{index}]"
    unknown = sorted(set(data) - {"id", "due", "event"})
    if unknown:
        raise SnapshotError(f"{where}: unknown key {unknown[0]!r}; a timer has id, due and event")
    timer_id = data.get("id")
    if not isinstance(timer_id, str) or not timer_id:
        raise SnapshotError(f"{where}: 'id' must be a non-empty string, not {timer_id!r}")
    due = data.get("due")
    if type(due) is not int or due < 0:
        raise SnapshotError(
            f"{where} ({timer_id}): 'due' must be the virtual time in whole milliseconds "
            f"(>= 0) it falls due, not {due!r}"
        )
    event = data.get("event")
    event_type = event.get("type") if isinstance(event, Mapping) else None
    if not isinstance(event, Mapping) or not isinstance(event_type, str) or not event_type:
        raise SnapshotError(
            f"{where} ({timer_id}): 'event' must be an event object with a string 'type', "
            f"not {event!r}"
        )
    return PendingTimer(timer_id, due, copy_data(dict(event)))  # type: ignore[arg-type]
