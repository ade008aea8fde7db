"""Where an instance stands (its `Head`), and the engine's cache of the latest ones.

A transition needs only the head of its instance: the definition it runs, its version, its
snapshot and value as stored. After every commit the engine knows the new head without
reading it back, so it keeps the latest heads of the instances it moved (`HeadCache`, least
recently used first out): the next `send` to one of them skips the read. Nothing can go stale
unnoticed: a transition is committed only `WHERE version = head.version`, so if another
process moved the instance meanwhile, the commit finds the version changed, the engine drops
the cached head, reads the instance and runs the event again.

With each head the cache keeps the snapshot parsed (`parsed_snapshot`, or
`stored_texts.snapshot_texts` for the common case), so that the next transition skips
decoding and restoring the stored JSON. It is the snapshot a reload of the stored text gives
(built only from JSON data equal, type for type, to what decoding that text returns, and
sharing no data a transition or a caller can change: its context is its own; what it shares
is the chart's interned configuration and history of state nodes, which nothing changes),
and it is lent once: `take_parsed` (or `take`, with the head) removes it, so no two
transitions (two threads, or a retry after an action that changed the context in place)
ever run on the same object; a transition without one restores the snapshot from the text,
as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from statewright.chart import Snapshot
from statewright.chart.run import ChildRef
from statewright.store.records import InstanceRecord, TransitionWrite

if TYPE_CHECKING:
    from statewright.chart import Machine

__all__ = ["DEFAULT_HEAD_CACHE", "Head", "HeadCache", "parsed_snapshot"]

#: How many instances' heads an engine keeps by default.
DEFAULT_HEAD_CACHE = 10_000


class Head(NamedTuple):
    """An instance as a transition needs it (texts as stored). Immutable; a tuple, which
    is cheaper to make than a frozen dataclass (one is made per transition)."""

    tenant: str
    id: str
    definition_id: str
    definition_version: int
    version: int
    snapshot: str
    value: str

    @classmethod
    def of(cls, record: InstanceRecord) -> Head:
        """The head of a stored instance."""
        return _new_tuple(
            cls,
            (
                record.tenant,
                record.id,
                record.definition_id,
                record.definition_version,
                record.version,
                record.snapshot,
                record.value,
            ),
        )

    @classmethod
    def after(cls, write: TransitionWrite) -> Head:
        """The head of the instance once `write` is committed."""
        instance = write.instance
        return _new_tuple(
            cls,
            (
                write.tenant,
                write.instance_id,
                write.definition_id,
                write.definition_version,
                write.audit.seq,
                instance.snapshot,
                instance.value,
            ),
        )


#: A named tuple made from its values in one C call (its class's `__new__` is a Python
#: function that takes them one by one).
_new_tuple = tuple.__new__


class HeadCache:
    """The latest known heads, at most `size` of them (0: keep none).

    Each entry is the head and its parsed snapshot, or None once that was taken (or if
    there was none).
    """

    def __init__(self, size: int = DEFAULT_HEAD_CACHE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], tuple[Head, Snapshot | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, instance_id: str) -> Head | None:
        """The cached head, or None."""
        key = (tenant, instance_id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def take(
        self, tenant: str, instance_id: str
    ) -> tuple[Head | None, tuple[int, Snapshot] | None]:
        """`get` and the parsed snapshot kept with the head (its version, the snapshot),
        taken out of the cache as `take_parsed` does, in one go; the caller checks that it
        is the head's version and machine before using it."""
        key = (tenant, instance_id)
        entries = self._entries
        with self._lock:
            entry = entries.get(key)
            if entry is None:
                return None, None
            entries.move_to_end(key)
            head, parsed = entry
            if parsed is None:
                return head, None
            entries[key] = (head, None)
        return head, (head.version, parsed)

    def put(self, head: Head, parsed: Snapshot | None = None) -> None:
        """Remember a head just committed (the least recently used one goes if full), and
        its snapshot `parsed` from the stored text (`parsed_snapshot`), if there is one."""
        if self.size <= 0:
            return
        key = (head.tenant, head.id)
        entries = self._entries
        with self._lock:
            entries[key] = (head, parsed)
            entries.move_to_end(key)
            if len(entries) > self.size:
                entries.popitem(last=False)

    def take_parsed(self, head: Head, machine: Machine) -> Snapshot | None:
        """The parsed snapshot of `head` in `machine`, lent to one transition only (it is
        removed here), or None: the caller then restores it from `head.snapshot`."""
        _, lent = self.take(head.tenant, head.id)
        if lent is None or lent[0] != head.version or lent[1].machine is not machine:
            return None
        return lent[1]

    def drop(self, tenant: str, instance_id: str) -> None:
        """Forget an instance's head (it may be stale)."""
        with self._lock:
            self._entries.pop((tenant, instance_id), None)

    def clear(self) -> None:
        """Forget every head (instances were removed in bulk: any may be stale)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def parsed_snapshot(machine: Machine, data: Mapping[str, object]) -> Snapshot | None:
    """The snapshot `Snapshot.from_json(machine, json.loads(text))` gives, where `text` is
    `data` (what `to_json()` of a snapshot of `machine` returned, handed over here) as
    stored JSON, without that round trip; or None (a finished instance, with an output or
    an error: left to the round trip).

    `data` must be plain JSON data (`payload.json_kind`: dicts with str keys, lists, str,
    int, float, bool, None, of exactly those types), so that decoding its JSON gives
    equal data of the same types; its context and its children's inputs become the
    snapshot's own (no copy: nothing else holds them).
    """
    if "output" in data or "error" in data:
        return None
    context = data["context"]
    children = data["children"]
    assert isinstance(context, dict) and isinstance(children, dict)
    history = data["historyValue"]
    configuration = data["configuration"]
    assert isinstance(history, dict) and isinstance(configuration, list)
    ids = machine.chart.tree.ids
    return Snapshot(
        machine,
        machine.chart.configuration(tuple(ids[state_id] for state_id in configuration)),
        context,
        data["status"],  # type: ignore[arg-type]
        history={key: tuple(ids[state_id] for state_id in kept) for key, kept in history.items()},
        children={
            key: ChildRef(child["src"], child["input"], child["state"])
            for key, child in children.items()
        },
    )
