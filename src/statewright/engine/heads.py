"""Where an instance stands (its `Head`), and the engine's cache of the latest ones.

A transition needs only the head of its instance: the definition it runs, its version, its
snapshot and value as stored. After every commit the engine knows the new head without
reading it back, so it keeps the latest heads of the instances it moved (`HeadCache`, least
recently used first out): the next `send` to one of them skips the read. Nothing can go stale
unnoticed: a transition is committed only `WHERE version = head.version`, so if another
process moved the instance meanwhile, the commit finds the version changed, the engine drops
the cached head, reads the instance and runs the event again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from statewright.store.records import InstanceRecord, TransitionWrite

__all__ = ["DEFAULT_HEAD_CACHE", "Head", "HeadCache"]

#: How many instances' heads an engine keeps by default.
DEFAULT_HEAD_CACHE = 10_000


@dataclass(frozen=True, slots=True)
class Head:
    """An instance as a transition needs it (texts as stored)."""

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
        return cls(
            record.tenant,
            record.id,
            record.definition_id,
            record.definition_version,
            record.version,
            record.snapshot,
            record.value,
        )

    @classmethod
    def after(cls, write: TransitionWrite) -> Head:
        """The head of the instance once `write` is committed."""
        return cls(
            write.tenant,
            write.instance_id,
            write.definition_id,
            write.definition_version,
            write.audit.seq,
            write.instance.snapshot,
            write.instance.value,
        )


class HeadCache:
    """The latest known heads, at most `size` of them (0: keep none)."""

    def __init__(self, size: int = DEFAULT_HEAD_CACHE) -> None:
        self.size = size
        self._heads: OrderedDict[tuple[str, str], Head] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, instance_id: str) -> Head | None:
        """The cached head, or None."""
        with self._lock:
            head = self._heads.get((tenant, instance_id))
            if head is not None:
                self._heads.move_to_end((tenant, instance_id))
            return head

    def put(self, head: Head) -> None:
        """Remember a head just committed (the least recently used one goes if full)."""
        if self.size <= 0:
            return
        key = (head.tenant, head.id)
        with self._lock:
            self._heads[key] = head
            self._heads.move_to_end(key)
            if len(self._heads) > self.size:
                self._heads.popitem(last=False)

    def drop(self, tenant: str, instance_id: str) -> None:
        """Forget an instance's head (it may be stale)."""
        with self._lock:
            self._heads.pop((tenant, instance_id), None)

    def __len__(self) -> int:
        return len(self._heads)
