"""Group commit: the transitions of concurrent senders committed in one transaction.

Threads sending at once (the HTTP API's thread pool, an application's threads) would each
commit alone: on SQLite they queue for the one write lock (and the waiting ones sleep in
SQLite's busy handler), on PostgreSQL each pays its own round trips and WAL flush. Here they
queue in the process instead. The sender at the head of the queue leads: it takes every
write queued behind it (at most `MAX_GROUP`, one per instance) and commits them with
`Store.commit_transitions`, one transaction and one flush to disk for all; meanwhile the
next senders queue behind it and form the next group. A lone sender leads at once and
commits alone; when the last group had several writes and fewer are queued, the leader
first waits up to `max_wait_s` (a few hundred microseconds) for the others to join.

Every promise of a lone commit holds for each sender:

- a sender returns only after the transaction holding its rows committed (a crash before
  that commit loses the whole group, and no sender of it was answered);
- each write keeps its own checks (versioned update, idempotency row, consumed work, the
  definition a start is pinned to): `commit_transitions` leaves out a write the database
  refuses and commits the others without it, so a conflict or failure reaches the sender it
  belongs to, and only that one (the engine then retries or reports it, as for a lone
  commit);
- only an error of the database itself (unreachable, the commit refused) fails every
  sender of the group, none of whose rows were then committed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from statewright.store.commit import check_write
from statewright.store.records import TransitionWrite

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["DEFAULT_MAX_WAIT_S", "MAX_GROUP", "CommitGroups"]

#: How long a leader waits for more senders to join, when the last group had more.
DEFAULT_MAX_WAIT_S = 0.0003
#: The most writes committed in one transaction.
MAX_GROUP = 128


class _Sender:
    __slots__ = ("done", "error", "ready", "taken", "write")

    def __init__(self, write: TransitionWrite) -> None:
        self.write = write
        self.ready: threading.Condition | None = None  # made when it has to wait
        self.done = False
        self.taken = False  # in a group being committed
        self.error: BaseException | None = None


class CommitGroups:
    """Commits each sender's write, in groups with the writes of concurrent senders."""

    def __init__(self, *, max_wait_s: float = DEFAULT_MAX_WAIT_S) -> None:
        self._max_wait_s = max_wait_s
        self._lock = threading.Lock()
        self._joined = threading.Condition(self._lock)
        self._queue: list[_Sender] = []
        self._last_size = 1

    def commit(self, write: TransitionWrite, store: Store) -> None:
        """Commit `write` to `store` (as `Store.commit_transition`), in a group with
        concurrent ones (all callers pass the same store).

        Raises:
            Whatever `Store.commit_transition` raises for this write.
        """
        check_write(write)  # a bug in one write must not fail the group
        sender = _Sender(write)
        with self._lock:
            self._queue.append(sender)
            self._joined.notify()
            while not sender.done and self._queue[0] is not sender:
                if sender.ready is None:
                    sender.ready = threading.Condition(self._lock)
                try:
                    sender.ready.wait()
                except BaseException:  # interrupted: leave the queue unless being committed
                    if not sender.taken:
                        self._queue.remove(sender)
                        self._wake_leader()
                    raise
            if sender.done:
                return self._answer(sender)
            group = self._gather()
        outcomes: list[BaseException | None]
        try:
            if len(group) == 1:
                store.commit_transition(write)  # alone: the cheapest path
                outcomes = [None]
            else:
                outcomes = list(store.commit_transitions([member.write for member in group]))
        except BaseException as error:  # alone: its own error; else the database's itself,
            outcomes = [error] * len(group)  # and no write of the group is in
        with self._lock:
            for member, outcome in zip(group, outcomes, strict=True):
                member.error = outcome
                member.done = True
                self._queue.remove(member)
                if member.ready is not None:
                    member.ready.notify()
            self._wake_leader()
            self._last_size = len(group)
        return self._answer(sender)

    def _wake_leader(self) -> None:
        """Wake the sender at the head of the queue, if it waits (lock held)."""
        if self._queue and (ready := self._queue[0].ready) is not None:
            ready.notify()

    def _gather(self) -> list[_Sender]:
        """The leader's group (lock held): the queue from its head, one write per instance,
        after waiting briefly for more when the last group was larger."""
        if len(self._queue) == 1 and self._last_size == 1:
            self._queue[0].taken = True
            return [self._queue[0]]  # a lone sender, as the last one was
        if len(self._queue) < self._last_size and self._max_wait_s > 0:
            deadline = time.monotonic() + self._max_wait_s
            while len(self._queue) < self._last_size:
                left = deadline - time.monotonic()
                if left <= 0 or not self._joined.wait(left):
                    break
        group: list[_Sender] = []
        keys: set[tuple[str, str]] = set()
        for member in self._queue:
            key = (member.write.tenant, member.write.instance_id)
            if key in keys:
                continue  # the next group: its version depends on this one's outcome
            keys.add(key)
            member.taken = True
            group.append(member)
            if len(group) == MAX_GROUP:
                break
        return group

    @staticmethod
    def _answer(sender: _Sender) -> None:
        if sender.error is not None:
            raise sender.error
