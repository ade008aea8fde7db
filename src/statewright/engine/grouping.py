"""Group commit: the transitions of concurrent senders committed in one transaction.

Threads sending at once (the HTTP API's thread pool, an application's threads) would each
commit alone: on SQLite they take turns at the one write lock (`writer_lock.py`), each
with its own flush, on PostgreSQL each pays its own round trips and WAL flush. Here they
queue in the process instead. A sender that finds a leader's place free leads at once: it
takes the writes queued behind it (one per instance, up to a cap: see below) and commits them
with `Store.commit_transitions`, one transaction and one flush to disk for all (alone, with
`commit_transition`; a sender that finds nobody queued does just that, without a place in
the queue: two uncontended locks); meanwhile the next senders queue. When its commit is done,
the leader hands its place to the first sender queued, who commits what has queued by then at
once: no leader waits for more senders to join, the next group forms while this one commits,
so the database is kept busy while the Python of the answered senders runs. One group commits at a
time (SQLite has one writer), or up to the store's `group_commit_leaders` (PostgreSQL: two,
of distinct instances, each on its own connection).

A waiting sender sleeps on a lock of its own, released once: when it is answered or made
leader. A leader wakes only the senders of its own group and the next leader, and it leaves
the waking of its group to that next leader, which does it once its group's statements have
run, just before the commit itself (`Store.commit_transitions`' `before_commit`): so its
statements run while the answered threads sleep (each statement gives the interpreter up,
and a thread that wants it back waits behind every thread that is ready to run), and its
commit's flush to disk, during which it needs no interpreter, is when they run.

With one group at a time (SQLite), the next leader's statements are what every queued
sender waits for, so a leader that has handed the lead on steps aside (gives the interpreter
up, `os.sched_yield`) before it returns to decide its caller's next send: the new leader's
statements start first (16 threads on SQLite FULL: +7 % in side-by-side runs). With two
(PostgreSQL) it does not: the other leader's round trip keeps the database busy, and the
extra hand-off of the interpreter cost 10 %.

Nor does a group take every sender queued: at most half the senders in play (queued, or
answered and about to send again), or `SMALLEST_CAP` if that is more. With many senders,
while one half commits, the other half decides its next sends; a group of all of them would
commit with nobody deciding, and then decide with nothing committing. With a few, they all
commit together (halving two or three senders would only add flushes).

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

import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from statewright.store.commit import check_write
from statewright.store.records import TransitionWrite

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["MAX_GROUP", "SMALLEST_CAP", "CommitGroups"]

#: The most writes committed in one transaction.
MAX_GROUP = 128
#: A group takes at most half the senders in play, or this many if that is more.
SMALLEST_CAP = 4


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

    def __init__(self, *, leaders: int | None = None) -> None:
        """`leaders`: how many groups may commit at once; by default the store's
        `group_commit_leaders` (1 if it has none: one writer at a time, as SQLite)."""
        self._most_leaders = leaders
        self._lock = threading.Lock()
        self._queue: list[_Sender] = []  # waiting to be taken into a group, in order
        self._leading = 0  # senders leading (committing a group, or about to)
        self._committing: set[tuple[str, str]] = set()  # the instances of the leaders' groups
        self._answered: list[_Sender] = []  # answered; the next leader wakes them

    def commit(self, write: TransitionWrite, store: Store) -> None:
        """Commit `write` to `store` (as `Store.commit_transition`), in a group with
        concurrent ones (all callers pass the same store).

        Raises:
            Whatever `Store.commit_transition` raises for this write.
        """
        most = self._most_leaders
        if most is None:
            most = self._most_leaders = max(1, getattr(store, "group_commit_leaders", 1))
        key = (write.tenant, write.instance_id)
        with self._lock:
            alone = not self._queue and self._leading < most and key not in self._committing
            if alone:  # nobody waits: lead a group of one, without a place in the queue
                self._leading += 1
                self._committing.add(key)
                # (never the list itself: another leader may add to it once unlocked)
                answered: Sequence[_Sender] = self._answered if self._answered else ()
                if answered:
                    self._answered = []
        if alone:
            self._commit_alone(write, key, answered, store)
            return None
        check_write(write)  # a bug in one write must not fail the group
        sender = _Sender(write)
        with self._lock:
            if self._leading >= most or sender.key in self._committing:
                self._queue.append(sender)
            else:
                self._leading += 1
                self._make_leader(sender)
        if not sender.lead:
            self._park(sender)
            if sender.done:
                return self._answer(sender)
        self._lead(sender, store)
        return self._answer(sender)

    def _commit_alone(
        self,
        write: TransitionWrite,
        key: tuple[str, str],
        answered: Sequence[_Sender],
        store: Store,
    ) -> None:
        """What `_lead` does for a group of one, for a sender that found no one queued and a
        leader's place free (lock taken and counted by the caller): wake the last group's
        members, commit, hand the lead on. Its error is its own, raised here."""
        if answered:
            _wake(answered)
        try:
            store.commit_transition(write)  # checks the write itself
        finally:
            with self._lock:
                self._committing.discard(key)
                if self._queue or self._answered:
                    woken = self._hand_on()
                else:  # `_hand_on` with nobody queued and nobody to wake
                    self._leading -= 1
                    woken = []
            if woken:
                self._hand_over(woken)

    def _park(self, sender: _Sender) -> None:
        """Sleep until `sender` is answered or made leader."""
        try:
            sender.wake.acquire()
        except BaseException:  # interrupted: leave the queue unless being committed
            woken: list[_Sender] = []
            with self._lock:
                if sender.lead:
                    self._committing.discard(sender.key)
                    woken = self._hand_on()
                elif not sender.taken:
                    self._queue.remove(sender)
            _wake(woken)
            raise

    def _lead(self, leader: _Sender, store: Store) -> None:
        """Commit the group `leader` leads, answer its members, and hand the lead on."""
        with self._lock:
            group = self._gather(leader)
            answered, self._answered = self._answered, []

        def wake_answered() -> None:  # the last group's, once this one is about to commit
            _wake(answered)
            answered.clear()

        outcomes: list[BaseException | None]
        try:
            if len(group) == 1:
                wake_answered()
                store.commit_transition(leader.write)  # alone: the cheapest path
                outcomes = [None]
            else:
                writes = [member.write for member in group]
                outcomes = list(store.commit_transitions(writes, before_commit=wake_answered))
        except BaseException as error:  # alone: its own error; else the database's itself,
            outcomes = [error] * len(group)  # and no write of the group is in
        finally:
            wake_answered()  # if the store did not
        for member, outcome in zip(group, outcomes, strict=True):
            member.error = outcome
            member.done = True
        with self._lock:
            self._committing.difference_update(member.key for member in group)
            self._answered.extend(member for member in group if member is not leader)
            woken = self._hand_on()
        self._hand_over(woken)

    def _hand_over(self, woken: list[_Sender]) -> None:
        """Wake the senders `_hand_on` returned; after making a new leader, with one group
        at a time, step aside so that its statements start before this thread goes on."""
        _wake(woken)
        if woken and woken[0].lead and self._most_leaders == 1:
            step_aside()

    def _hand_on(self) -> list[_Sender]:
        """Make the first queued sender leader, or, with none queued, end the lead; the
        senders to wake now (lock held; wake them after releasing it)."""
        for index, leader in enumerate(self._queue):
            if leader.key not in self._committing:
                del self._queue[index]
                self._make_leader(leader)
                return [leader]
        self._leading -= 1
        answered, self._answered = self._answered, []
        return answered

    def _make_leader(self, sender: _Sender) -> None:
        """(lock held)"""
        sender.lead = sender.taken = True
        self._committing.add(sender.key)

    def _gather(self, leader: _Sender) -> list[_Sender]:
        """`leader` and the queued senders that join its group, taken out of the queue in
        order: one write per instance, none of an instance another group commits, at most
        half the senders in play or SMALLEST_CAP, and at most MAX_GROUP (lock held)."""
        group = [leader]
        left: list[_Sender] = []
        in_play = 2 + len(self._queue) + len(self._answered)  # and the last leader
        most = min(MAX_GROUP, max(SMALLEST_CAP, in_play // 2))
        for member in self._queue:
            if member.key in self._committing or len(group) >= most:
                left.append(member)  # the same instance: its version depends on that outcome
                continue
            self._committing.add(member.key)
            member.taken = True
            group.append(member)
        self._queue = left
        return group

    @staticmethod
    def _answer(sender: _Sender) -> None:
        if sender.error is not None:
            raise sender.error


#: Give the interpreter up for a moment, letting a thread that waits for it run first.
step_aside = getattr(os, "sched_yield", lambda: time.sleep(0))


def _wake(senders: Sequence[_Sender]) -> None:
    for sender in senders:
        sender.wake.release()
