"""Group commit: the transitions of concurrent senders committed in one transaction.

Threads sending at once (the HTTP API's thread pool, an application's threads) would each
commit alone: on SQLite they queue for the one write lock (and the waiting ones sleep in
SQLite's busy handler), on PostgreSQL each pays its own round trips and WAL flush. Here they
queue in the process instead. A sender that finds nobody queued and a commit's place free
commits at once on its own thread (`commit_transition`: two uncontended locks, no hand-off).
Otherwise it queues its write and sleeps, and a committer thread (started on first need, one
per commit that may run at once: one on SQLite, which has one writer, or the store's
`group_commit_leaders`, two on PostgreSQL, for groups of distinct instances on connections
of their own) takes the writes queued (one per instance, up to a cap: see below) and
commits them with `Store.commit_transitions`, one transaction and one flush to disk for all.
When that commit is done, the committer takes what queued meanwhile at once: no group waits
for more senders to join, and the next group forms while one commits. The committer goes on
from one group to the next on its own thread, where a sender leading a group would hand the
lead to the next sender queued, a thread that had to wake and then wait for the interpreter
behind every thread ready to run before its group could start (16 threads on SQLite FULL:
2.28-2.34 -> 2.47-2.50 times the one-thread rate, side by side).

A waiting sender sleeps on a lock of its own, released once, when it is answered. A
committer leaves the waking of a group's senders to the next group, which does it once its
statements have run, just before the commit itself (`Store.commit_transitions`'
`before_commit`; at once when nothing is queued): so those statements run while the answered
threads sleep (each statement gives the interpreter up, and a thread that wants it back
waits behind every thread that is ready to run), and the commit's flush to disk, during
which the committer needs no interpreter, is when they run. `close()` (the engine's) stops
the committers once no sender is queued.

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
    __slots__ = ("done", "error", "key", "taken", "wake", "write")

    def __init__(self, write: TransitionWrite) -> None:
        self.write = write
        self.key = (write.tenant, write.instance_id)
        self.wake = threading.Lock()  # held until it is answered
        self.wake.acquire()
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
        self._work = threading.Condition(self._lock)  # the committers wait on it
        self._queue: list[_Sender] = []  # waiting to be taken into a group, in order
        self._leading = 0  # commits under way: a lone sender's, or a committer's group
        self._committing: set[tuple[str, str]] = set()  # the instances of those commits
        self._answered: list[_Sender] = []  # answered; the next group wakes them
        self._committers: list[threading.Thread] = []
        self._pid = 0  # the process the committers run in (a forked child starts its own)
        self._closed = False

    def commit(self, write: TransitionWrite, store: Store) -> None:
        """Commit `write` to `store` (as `Store.commit_transition`), in a group with
        concurrent ones (all callers pass the same store).

        Raises:
            Whatever `Store.commit_transition` raises for this write.
        """
        if self._most_leaders is None:
            self._most_leaders = max(1, getattr(store, "group_commit_leaders", 1))
        key = (write.tenant, write.instance_id)
        with self._lock:
            alone = (
                not self._queue
                and self._leading < self._most_leaders
                and key not in self._committing
            )
            if alone:  # nobody waits: commit it on this thread, without a place in the queue
                self._leading += 1
                self._committing.add(key)
                answered, self._answered = self._answered, []
        if alone:
            self._commit_alone(write, key, answered, store)
            return None
        check_write(write)  # a bug in one write must not fail the group
        sender = _Sender(write)
        with self._lock:
            self._start_committers(store)
            self._queue.append(sender)
            if self._leading < self._most_leaders:
                self._work.notify()
        self._park(sender)
        if sender.error is not None:
            raise sender.error
        return None

    def close(self) -> None:
        """Stop the committer threads once the queue is empty (no sender is left waiting)."""
        with self._lock:
            self._closed = True
            self._work.notify_all()

    def _commit_alone(
        self,
        write: TransitionWrite,
        key: tuple[str, str],
        answered: list[_Sender],
        store: Store,
    ) -> None:
        """A group of one, on the sender's own thread (counted by the caller): wake the last
        group's members, commit, let a committer take what queued meanwhile. Its error is
        its own, raised here."""
        if answered:
            _wake(answered)
        try:
            store.commit_transition(write)  # checks the write itself
        finally:
            with self._lock:
                self._committing.discard(key)
                self._leading -= 1
                if self._queue:
                    self._work.notify()

    def _park(self, sender: _Sender) -> None:
        """Sleep until `sender` is answered."""
        try:
            sender.wake.acquire()
        except BaseException:  # interrupted: leave the queue unless being committed
            with self._lock:
                if not sender.taken:
                    self._queue.remove(sender)
            raise

    def _start_committers(self, store: Store) -> None:
        """(lock held) The committer threads, started on first need in this process."""
        if self._committers and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        assert self._most_leaders is not None
        self._committers = [
            threading.Thread(
                target=self._commit_groups, args=(store,), name="statewright-commit", daemon=True
            )
            for _ in range(self._most_leaders)
        ]
        for thread in self._committers:
            thread.start()

    def _commit_groups(self, store: Store) -> None:
        """A committer thread: commit the queued senders' writes, group after group."""
        while True:
            with self._lock:
                while not (self._leading < (self._most_leaders or 1) and self._takeable()):
                    if self._closed and not self._queue:
                        return
                    self._work.wait()
                self._leading += 1
                group = self._gather()
                answered, self._answered = self._answered, []
            self._commit_group(group, answered, store)

    def _takeable(self) -> bool:
        """(lock held) Whether a queued sender's instance is free to commit."""
        return any(sender.key not in self._committing for sender in self._queue)

    def _commit_group(self, group: list[_Sender], answered: list[_Sender], store: Store) -> None:
        """Commit `group` and answer it; the last group's `answered` members are woken just
        before the commit (`before_commit`), and this group's by the next group, or now if
        none is queued."""

        def wake_answered() -> None:  # the last group's, once this one is about to commit
            _wake(answered)
            answered.clear()

        outcomes: list[BaseException | None]
        try:
            if len(group) == 1:
                wake_answered()
                store.commit_transition(group[0].write)  # alone: the cheapest path
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
            self._leading -= 1
            if self._takeable():
                self._answered.extend(group)
                self._work.notify()
                woken: list[_Sender] = []
            else:
                woken, self._answered = [*self._answered, *group], []
        _wake(woken)

    def _gather(self) -> list[_Sender]:
        """The queued senders that form the next group, taken out of the queue in order: one
        write per instance, none of an instance another group commits, at most half the
        senders in play or SMALLEST_CAP, and at most MAX_GROUP (lock held)."""
        group: list[_Sender] = []
        left: list[_Sender] = []
        in_play = 1 + len(self._queue) + len(self._answered)  # and a lone sender's
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


def _wake(senders: list[_Sender]) -> None:
    for sender in senders:
        sender.wake.release()
