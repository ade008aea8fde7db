"""Group commit (`engine/grouping.py`): concurrent senders share one transaction, and every
sender gets its own answer: a conflict or a failure in one send never fails another."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from statewright.engine import Engine, grouping
from statewright.engine.grouping import SMALLEST_CAP, CommitGroups
from statewright.errors import StatewrightError, StoreUnavailable, VersionConflict
from statewright.store.records import TransitionWrite

pytestmark = pytest.mark.slow

COUNTER = {
    "id": "counter",
    "initial": "counting",
    "context": {"n": 0},
    "states": {
        "counting": {
            "on": {
                "INC": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                }
            }
        }
    },
}
INC = {"type": "INC"}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine.open(store_url) as opened:
        opened.register(COUNTER)
        yield opened


class HeldFirstCommit:
    """Wraps the store's `commit_transition(s)`: the first commit waits for `release`, so
    that the senders arriving meanwhile queue into one group; records each commit's size."""

    def __init__(self, engine: Engine, *, leaders: int = 1) -> None:
        engine._commits = CommitGroups(leaders=leaders)  # one group at a time: in order
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.sizes: list[int] = []
        store = engine.store
        self.one, self.many = store.commit_transition, store.commit_transitions
        store.commit_transition = self.commit_one  # type: ignore[method-assign]
        store.commit_transitions = self.commit_many  # type: ignore[method-assign]

    def hold(self, size: int) -> None:
        with self.lock:
            first = not self.sizes
            self.sizes.append(size)
        if first:
            assert self.release.wait(30)

    def commit_one(self, write: TransitionWrite) -> None:
        self.hold(1)
        self.one(write)

    def commit_many(
        self, writes: Sequence[TransitionWrite], **options: object
    ) -> list[StatewrightError | None]:
        self.hold(len(writes))
        return self.many(writes, **options)  # type: ignore[arg-type]


def queued(engine: Engine) -> int:
    """The senders leading or waiting in the queue."""
    groups = engine._commits
    assert groups is not None
    with groups._lock:
        return len(groups._queue) + groups._leading


def wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, "the senders never queued"
        time.sleep(0.002)


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run `call` in a thread; its result or exception lands in the list."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as error:
            out.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_conflict_in_a_group_fails_only_its_own_sender(engine: Engine, store_url: str) -> None:
    for name in "abcdf":
        engine.start("counter", instance_id=name)
    held = HeldFirstCommit(engine)
    leader, leader_out = in_thread(lambda: engine.send("a", INC))
    wait_until(lambda: queued(engine) == 1)
    senders = [
        in_thread(lambda: engine.send("b", INC, expected_version=1)),  # will be stale
        in_thread(lambda: engine.send("c", INC)),
        in_thread(lambda: engine.send("d", INC)),
        in_thread(lambda: engine.send("f", INC, idempotency_key="k-1")),
    ]
    wait_until(lambda: queued(engine) == 5)
    # Another process moves b on, and sends f's request under the same key, while the
    # group waits: b's versioned update and f's idempotency row now fail in the group.
    with Engine.open(store_url, group_commit=False) as other:
        other.register(COUNTER)
        moved = other.send("b", INC)
        twin = other.send("f", INC, idempotency_key="k-1")
    held.release.set()
    for thread, _ in [(leader, leader_out), *senders]:
        thread.join(30)
    assert held.sizes[:2] == [1, 4]  # the four queued behind the leader: one transaction
    (b_out,), (c_out,), (d_out,), (f_out,) = (out for _, out in senders)
    assert isinstance(b_out, VersionConflict)
    assert (b_out.expected, b_out.found) == (1, moved.seq)
    assert [entry.seq for entry in (leader_out[0], c_out, d_out)] == [2, 2, 2]  # type: ignore[union-attr]
    assert f_out == twin  # the key's first request answers its twin
    assert engine.get("b").version == 2 and engine.get("f").version == 2
    for name in "abcdf":
        assert engine.verify(name).ok


def test_a_write_refused_by_the_database_fails_only_its_sender(engine: Engine) -> None:
    for name in "abc":
        engine.start("counter", instance_id=name)
    held = HeldFirstCommit(engine)
    leader, _ = in_thread(lambda: engine.send("a", INC))
    wait_until(lambda: queued(engine) == 1)
    gone, gone_out = in_thread(lambda: engine.send("b", INC))
    kept, kept_out = in_thread(lambda: engine.send("c", INC))
    wait_until(lambda: queued(engine) == 3)
    # b vanishes while its send waits in the group (as if pruned by another process).
    with engine.store._transaction(write=True, what="deleting b") as tx:  # type: ignore[attr-defined]
        tx.run("DELETE FROM audit WHERE instance_id = 'b'", {})
        tx.run("DELETE FROM instances WHERE id = 'b'", {})
    held.release.set()
    for thread in (leader, gone, kept):
        thread.join(30)
    assert isinstance(gone_out[0], StatewrightError)
    assert "'b'" in str(gone_out[0])
    assert kept_out[0].seq == 2  # type: ignore[attr-defined]
    assert engine.verify("c").ok


def test_many_threads_sending_at_once_each_get_their_own_transition(engine: Engine) -> None:
    threads, sends = 12, 15
    for index in range(threads):
        engine.start("counter", instance_id=f"own-{index}")
    engine.start("counter", instance_id="shared")
    results: dict[int, list[int]] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def sender(index: int) -> None:
        start.wait()
        seqs = []
        try:
            for turn in range(sends):
                target = "shared" if turn % 3 == 0 else f"own-{index}"
                seqs.append(engine.send(target, INC, actor=f"t{index}").seq)
        except BaseException as error:
            failures.append(error)
        results[index] = seqs

    workers = [threading.Thread(target=sender, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not failures
    shared_sends = threads * len(range(0, sends, 3))
    for index in range(threads):
        own = engine.get(f"own-{index}")
        assert own.version == 1 + sends - len(range(0, sends, 3))
        assert own.context == {"n": own.version - 1}
    shared = engine.get("shared")
    assert shared.version == 1 + shared_sends
    history = engine.history("shared")
    assert [entry.seq for entry in history] == list(range(1, shared.version + 1))
    # Every acknowledged seq of the shared instance is in its history, and only once.
    acknowledged = [seq for index in range(threads) for seq in results[index][::3]]
    assert sorted(acknowledged) == list(range(2, shared.version + 1))
    actors = {entry.actor for entry in history[1:]}
    assert actors == {f"t{index}" for index in range(threads)}
    for instance in engine.list(limit=100):
        assert engine.verify(instance.id).ok


def test_a_group_the_database_refuses_fails_only_its_own_senders(tmp_path: Path) -> None:
    """The commit of a whole group fails (the write lock stays taken past the busy timeout):
    every sender of that group gets the error and nothing of it is written, while the group
    committed before it and the sends after it are unaffected."""
    url = f"sqlite:///{tmp_path / 'busy.db'}?busy_timeout=50"
    with Engine.open(url) as engine:
        engine.register(COUNTER)
        for name in "abcd":
            engine.start("counter", instance_id=name)
        held = HeldFirstCommit(engine)
        leader, leader_out = in_thread(lambda: engine.send("a", INC))
        wait_until(lambda: queued(engine) == 1)
        group = [in_thread(lambda name=name: engine.send(name, INC)) for name in "bcd"]  # type: ignore[misc]
        wait_until(lambda: queued(engine) == 4)
        blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        held.release.set()
        leader.join(30)  # its commit waits for the lock, then fails alone
        for thread, _ in group:
            thread.join(30)
        blocker.execute("ROLLBACK")
        blocker.close()
        assert isinstance(leader_out[0], StoreUnavailable)
        assert held.sizes[0] == 1 and held.sizes[1] >= 3  # b, c and d: one transaction
        for _, out in group:
            assert isinstance(out[0], StoreUnavailable), out
        assert [engine.get(name).version for name in "abcd"] == [1, 1, 1, 1]
        assert engine.send("b", INC).seq == 2  # the queue is free again
        assert queued(engine) == 0


def test_a_sender_interrupted_while_queued_leaves_the_queue(engine: Engine) -> None:
    """A waiting sender interrupted (here by a signal handler raising in the main thread)
    is taken out of the queue: its write is not committed and the next senders go on."""
    for name in "ab":
        engine.start("counter", instance_id=name)
    held = HeldFirstCommit(engine)
    leader, leader_out = in_thread(lambda: engine.send("a", INC))
    wait_until(lambda: queued(engine) == 1)

    class Interrupted(Exception):
        pass

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            engine.send("b", INC)  # queues behind the held leader, then is interrupted
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert queued(engine) == 1  # the leader only
    held.release.set()
    leader.join(30)
    assert leader_out[0].seq == 2  # type: ignore[attr-defined]
    assert engine.get("b").version == 1  # the interrupted send was never committed
    assert engine.send("b", INC).seq == 2
    assert queued(engine) == 0


def test_each_group_is_answered_after_its_own_commit(engine: Engine) -> None:
    """Groups follow one another (the lead passes to the first queued sender): no sender
    returns before the commit holding its write, and every one returns."""
    names = [f"i{index}" for index in range(6)]
    for name in names:
        engine.start("counter", instance_id=name)
    store = engine.store
    commit_many = store.commit_transitions
    committed: set[str] = set()

    def recording(
        writes: Sequence[TransitionWrite], **options: object
    ) -> list[StatewrightError | None]:
        outcomes = commit_many(writes, **options)  # type: ignore[arg-type]
        committed.update(
            write.instance_id for write, outcome in zip(writes, outcomes, strict=True)
            if outcome is None
        )  # fmt: skip
        return outcomes

    commit_one = store.commit_transition

    def recording_one(write: TransitionWrite) -> None:
        commit_one(write)
        committed.add(write.instance_id)

    store.commit_transitions = recording  # type: ignore[method-assign]
    store.commit_transition = recording_one  # type: ignore[method-assign]
    early: list[str] = []

    def sender(name: str) -> None:
        for _ in range(20):
            engine.send(name, INC)
            if name not in committed:
                early.append(name)
            committed.discard(name)

    threads = [threading.Thread(target=sender, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not early
    assert [engine.get(name).version for name in names] == [21] * len(names)
    assert queued(engine) == 0


def test_two_leaders_commit_groups_of_distinct_instances_at_once(engine: Engine) -> None:
    """With two leaders (PostgreSQL's default), a second group commits while the first is
    held, and a send to an instance of the held group waits for that group's outcome."""
    for name in "abc":
        engine.start("counter", instance_id=name)
    held = HeldFirstCommit(engine, leaders=2)
    first, first_out = in_thread(lambda: engine.send("a", INC))
    wait_until(lambda: queued(engine) == 1)
    second, second_out = in_thread(lambda: engine.send("b", INC))  # leads a group of its own
    second.join(30)
    assert second_out[0].seq == 2  # type: ignore[attr-defined]
    same, same_out = in_thread(lambda: engine.send("a", INC))  # waits for a's group
    wait_until(lambda: queued(engine) == 2)
    assert not same_out
    assert engine.send("c", INC).seq == 2  # a free leader's place: not held up by a
    held.release.set()
    for thread in (first, same):
        thread.join(30)
    assert (first_out[0].seq, same_out[0].seq) == (2, 3)  # type: ignore[attr-defined]
    assert set(held.sizes) == {1}  # (the second send to a may conflict and be retried)
    assert queued(engine) == 0


WAITING = {
    "id": "waiting",
    "initial": "waiting",
    "context": {"n": 0},
    "states": {
        "waiting": {
            "after": {"24h": "expired"},
            "on": {
                "INC": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                },
                "STOP": {"target": "stopped"},
            },
        },
        "expired": {},
        "stopped": {},
    },
}


def test_a_group_keeps_or_recomputes_each_runtime_status(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction for sends that keep an instance's pending timer (its runtime status
    kept: `waiting`) and sends that cancel it (recomputed: `active`), as lone commits do."""
    monkeypatch.setattr(grouping, "SMALLEST_CAP", 8)  # the five queued: one group
    engine.register(WAITING)
    names = [f"w{index}" for index in range(6)]
    for name in names:
        engine.start("waiting", instance_id=name)
    held = HeldFirstCommit(engine)
    leader, _ = in_thread(lambda: engine.send("w0", INC))
    wait_until(lambda: queued(engine) == 1)
    events = {name: {"type": "STOP"} if index % 2 else INC for index, name in enumerate(names)}
    senders = [
        in_thread(lambda name=name: engine.send(name, events[name]))  # type: ignore[misc]
        for name in names[1:]
    ]
    wait_until(lambda: queued(engine) == len(names))
    held.release.set()
    for thread, _ in [(leader, None), *senders]:
        thread.join(30)
    assert held.sizes[:2] == [1, len(names) - 1]
    for index, name in enumerate(names):
        got = engine.get(name)
        assert got.version == 2
        assert got.runtime_status == ("active" if index % 2 else "waiting"), name
        assert engine.verify(name).ok


def test_a_group_takes_at_most_half_the_senders_in_play(engine: Engine) -> None:
    """Nine senders queued behind a held lone commit: the next group takes half of the
    eleven in play (five), and the rest commit in the group after it; every send is
    answered after its own commit."""
    names = [f"h{index}" for index in range(10)]
    for name in names:
        engine.start("counter", instance_id=name)
    held = HeldFirstCommit(engine)
    leader, leader_out = in_thread(lambda: engine.send(names[0], INC))
    wait_until(lambda: queued(engine) == 1)
    senders = [in_thread(lambda name=name: engine.send(name, INC)) for name in names[1:]]  # type: ignore[misc]
    wait_until(lambda: queued(engine) == len(names))
    held.release.set()
    for thread, _ in [(leader, leader_out), *senders]:
        thread.join(30)
    assert SMALLEST_CAP < 5
    assert held.sizes == [1, 5, 4]
    assert [out[0].seq for _, out in [(leader, leader_out), *senders]] == [2] * len(names)  # type: ignore[attr-defined]
    assert queued(engine) == 0


def test_the_last_group_is_woken_only_when_the_next_one_is_about_to_commit(
    engine: Engine,
) -> None:
    """A group's senders, answered while the next group waits, are woken by that group's
    leader once its statements have run (`before_commit`), not before: so the statements
    do not wait for their threads."""
    engine._commits = CommitGroups(leaders=1)  # one group at a time: in order
    first, second = ["p0", "p1", "p2"], ["q0", "q1", "q2"]
    for name in first + second:
        engine.start("counter", instance_id=name)
    store = engine.store
    commit_many = store.commit_transitions
    release_first = threading.Event()
    first_group: list[list[str]] = []  # what p1's group holds, once it waits to commit
    first_entered = threading.Event()
    returned: list[str] = []
    seen_at_entry: list[list[str]] = []
    woken_before_commit: list[list[str]] = []

    def wrapped(
        writes: Sequence[TransitionWrite],
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> list[StatewrightError | None]:
        ids = [write.instance_id for write in writes]
        if ids[0] in first:
            first_group.append(ids)
            first_entered.set()
            assert release_first.wait(30)  # the second group queues meanwhile
            return commit_many(writes, before_commit=before_commit)
        time.sleep(0.05)  # time enough for woken threads to return
        seen_at_entry.append(list(returned))
        assert before_commit is not None

        def waking() -> None:
            before_commit()
            # the last group's senders return now, before this group commits
            wait_until(lambda: {"p1", "p2"} <= set(returned))
            woken_before_commit.append(list(returned))

        return commit_many(writes, before_commit=waking)

    store.commit_transitions = wrapped  # type: ignore[method-assign]
    groups = engine._commits
    assert groups is not None

    def sending(name: str) -> None:
        engine.send(name, INC)
        returned.append(name)

    def queued_group(names: list[str]) -> list[threading.Thread]:
        threads = []
        for name in names:
            thread = threading.Thread(target=sending, args=(name,))
            thread.start()
            threads.append(thread)
        return threads

    blocker = threading.Event()
    hold_lone = store.commit_transition

    def lone(write: TransitionWrite) -> None:  # the first sender commits alone: held
        assert blocker.wait(30)
        hold_lone(write)

    store.commit_transition = lone  # type: ignore[method-assign]
    leader = queued_group(["p0"])
    wait_until(lambda: queued(engine) == 1)
    rest = queued_group(first[1:])
    wait_until(lambda: queued(engine) == 3)
    store.commit_transition = hold_lone  # type: ignore[method-assign]
    blocker.set()  # p0 commits alone; p1 and p2 then commit as a group, held
    wait_until(lambda: len(returned) == 1)
    # p1's group gathered before the q senders start (a loaded machine may wake p1 late)
    assert first_entered.wait(30)
    assert sorted(first_group[0]) == ["p1", "p2"]
    later = queued_group(second)
    wait_until(lambda: queued(engine) == 4)  # p1's group leading, q0-q2 queued
    release_first.set()
    for thread in leader + rest + later:
        thread.join(30)
    # p0 (alone) had returned, and perhaps the leader of p1 and p2; the other member still
    # slept while the q group's statements ran.
    (seen,) = seen_at_entry
    assert "p0" in seen and len({"p1", "p2"} & set(seen)) <= 1
    assert sorted(woken_before_commit[0]) == ["p0", "p1", "p2"]
    assert sorted(returned) == sorted(first + second)
    assert [engine.get(name).version for name in first + second] == [2] * 6


@pytest.mark.parametrize("leaders", [1, 2])
def test_a_leader_steps_aside_for_the_next_only_with_one_group_at_a_time(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, leaders: int
) -> None:
    """A sender queued behind a lone commit (of the same instance, so that it queues with
    two leaders too) is made leader when that commit ends; the leader handing on gives the
    interpreter up first only when one group commits at a time."""
    engine.start("counter", instance_id="s")
    stepped: list[str] = []
    monkeypatch.setattr(grouping, "step_aside", lambda: stepped.append("aside"))
    held = HeldFirstCommit(engine, leaders=leaders)
    first, first_out = in_thread(lambda: engine.send("s", INC))
    wait_until(lambda: queued(engine) == 1)
    second, second_out = in_thread(lambda: engine.send("s", INC))
    wait_until(lambda: queued(engine) == 2)
    held.release.set()
    for thread in (first, second):
        thread.join(30)
    assert [first_out[0].seq, second_out[0].seq] == [2, 3]  # type: ignore[attr-defined]
    assert stepped == (["aside"] if leaders == 1 else [])
