"""Group commit: the transitions of concurrent senders committed in one transaction.

Threads sending at once (the HTTP API's thread pool, an application's threads) would each
commit alone: on SQLite they queue for the one write lock (and the waiting ones sleep in
SQLite's busy handler), on PostgreSQL each pays its own round trips and WAL flush. Here they
queue in the process instead. One sender at a time leads: it takes every write queued
behind it (at most `MAX_GROUP`, one per instance) and commits them with
`Store.commit_transitions`, one transaction and one flush to disk for all; meanwhile the
next senders queue and form the next group. When its commit is done, the leader hands the
lead to the first sender queued, who commits what has queued by then at once, so that the
database is kept busy while the Python of the answered senders runs; a sender that finds
nobody leading leads at once (and commits alone when nobody queued).

A waiting sender sleeps on a lock of its own, released once: when it is answered or made
leader; a leader wakes only the senders of its own group and the next leader, and it leaves
the waking of its group to that next leader, which does it once its own group is taken, so
that the commit it leads starts before the woken threads compete for the interpreter.

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

#: How long a leader whose group is smaller than the last one waits for more senders to
#: join (0: never; the next group forms while this one commits).
DEFAULT_MAX_WAIT_S = 0.0
#: The most writes committed in one transaction.
MAX_GROUP = 128


class _Sender:
    __slots__ = ("done", "error", "key", "lead", "taken", "wake", "write")

    def __init__(self, write: TransitionWrite) -> None:
        self.write = write
        self.key = (write.tenant, write.instance_id)
        self.wake = threading.Lock()  # held until it is answered or made leader
        self.wake.acquire()
        self.lead = False
        self.taken = False  # in a group being committed
        self.done = False
        self.error: BaseException | None = None


class CommitGroups:
    """Commits each sender's write, in groups with the writes of concurrent senders."""

    def __init__(self, *, max_wait_s: float = DEFAULT_MAX_WAIT_S) -> None:
        self._max_wait_s = max_wait_s
        self._lock = threading.Lock()
        self._queue: list[_Sender] = []  # waiting to be taken into a group, in order
        self._leading = False  # a sender leads (commits a group, or is about to)
        self._answered: list[_Sender] = []  # answered; the next leader wakes them
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
            if self._leading:
                self._queue.append(sender)
            else:
                self._leading = sender.lead = True
        if not sender.lead:
            self._park(sender)
            if sender.done:
                return self._answer(sender)
        self._lead(sender, store)
        return self._answer(sender)

    def _park(self, sender: _Sender) -> None:
        """Sleep until `sender` is answered or made leader."""
        try:
            sender.wake.acquire()
        except BaseException:  # interrupted: leave the queue unless being committed
            with self._lock:
                if sender.lead:
                    self._hand_on()
                elif not sender.taken:
                    self._queue.remove(sender)
            raise

    def _lead(self, leader: _Sender, store: Store) -> None:
        """Commit the group `leader` leads, answer its members, and hand the lead on."""
        with self._lock:
            group = self._gather(leader)
            answered, self._answered = self._answered, []
        if len(group) < self._last_size and self._max_wait_s > 0:
            time.sleep(self._max_wait_s)  # let more join
            with self._lock:
                group.extend(self._gather(None, group))
        for member in answered:  # the last group's, now that this one is taken
            member.wake.release()
        outcomes: list[BaseException | None]
        try:
            if len(group) == 1:
                store.commit_transition(leader.write)  # alone: the cheapest path
                outcomes = [None]
            else:
                outcomes = list(store.commit_transitions([member.write for member in group]))
        except BaseException as error:  # alone: its own error; else the database's itself,
            outcomes = [error] * len(group)  # and no write of the group is in
        for member, outcome in zip(group, outcomes, strict=True):
            member.error = outcome
            member.done = True
        with self._lock:
            self._last_size = len(group)
            self._answered = [member for member in group if member is not leader]
            self._hand_on()

    def _hand_on(self) -> None:
        """Make the first queued sender leader, or, with none queued, end the lead and wake
        the answered senders (lock held)."""
        if self._queue:
            leader = self._queue.pop(0)
            leader.lead = True
            leader.wake.release()
            return
        self._leading = False
        answered, self._answered = self._answered, []
        for member in answered:
            member.wake.release()

    def _gather(self, leader: _Sender | None, group: list[_Sender] | None = None) -> list[_Sender]:
        """Take the queued senders that join `leader` (or the `group` taken so far) out of
        the queue, in order, one write per instance, at most MAX_GROUP in all (lock held)."""
        taken = [] if group is None else group
        keys = {member.key for member in taken}
        joining: list[_Sender] = []
        if leader is not None:
            leader.taken = True
            keys.add(leader.key)
            joining.append(leader)
        left: list[_Sender] = []
        for member in self._queue:
            if member.key in keys or len(taken) + len(joining) >= MAX_GROUP:
                left.append(member)  # the same instance: its version depends on this outcome
                continue
            keys.add(member.key)
            member.taken = True
            joining.append(member)
        self._queue = left
        return joining

    @staticmethod
    def _answer(sender: _Sender) -> None:
        if sender.error is not None:
            raise sender.error
