"""Group commit (`engine/grouping.py`): concurrent senders share one transaction, and every
sender gets its own answer: a conflict or a failure in one send never fails another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence

import pytest

from statewright.engine import Engine
from statewright.errors import StatewrightError, VersionConflict
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

    def __init__(self, engine: Engine) -> None:
        self.release = threading.Event()
        self.sizes: list[int] = []
        store = engine.store
        self.one, self.many = store.commit_transition, store.commit_transitions
        store.commit_transition = self.commit_one  # type: ignore[method-assign]
        store.commit_transitions = self.commit_many  # type: ignore[method-assign]

    def hold(self, size: int) -> None:
        first = not self.sizes
        self.sizes.append(size)
        if first:
            assert self.release.wait(30)

    def commit_one(self, write: TransitionWrite) -> None:
        self.hold(1)
        self.one(write)

    def commit_many(self, writes: Sequence[TransitionWrite]) -> list[StatewrightError | None]:
        self.hold(len(writes))
        return self.many(writes)


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
