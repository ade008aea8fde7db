"""`Engine.start_async` (`engine/async_sending.py` over `engine/lane.py`): starts awaited on
event loops, taken by the start lane's thread in batches and committed with `start_many`,
each caller answered with its own outcome, as `start` would answer it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from statewright.engine import Engine, Instance, StartRequest
from statewright.errors import (
    InstanceExists,
    NotFound,
    PayloadError,
    PayloadInvalid,
    StoreError,
    StoreUnavailable,
)

ORDER = {
    "id": "order",
    "initial": "new",
    "context": {"amount": 0},
    "statewright": {
        "input": {
            "type": "object",
            "properties": {"amount": {"type": "integer", "minimum": 1}},
            "required": ["amount"],
        }
    },
    "states": {
        "new": {
            "entry": [{"type": "assign", "params": {"amount": {"$expr": "event.input.amount"}}}],
            "on": {"PAY": "paid"},
        },
        "paid": {"type": "final"},
    },
}


def one(amount: int = 1) -> dict[str, int]:
    return {"amount": amount}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine.open(store_url) as opened:
        opened.register(ORDER)
        yield opened


def lane_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "statewright-async-start"]


class HeldLane:
    """Holds the start lane's first batch (in `start_many`) until `queued` starts wait behind
    it, or, without `queued`, until `release` is set; records every batch's instance ids.
    The lane gets one thread, so that the starts queued meanwhile form the next batch."""

    def __init__(self, engine: Engine, queued: int | None = None) -> None:
        self.batches: list[list[str | None]] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        lane = engine._start_lane
        lane._most = 1
        start_many = engine.start_many

        def held(requests: Sequence[StartRequest]) -> Any:
            self.batches.append([request.instance_id for request in requests])
            if len(self.batches) == 1:
                self.holding.set()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not self.release.is_set():
                    if queued is not None and len(lane._queue) >= queued:
                        break
                    time.sleep(0.001)
            return start_many(requests)

        engine.start_many = held  # type: ignore[method-assign]


def test_each_caller_gets_its_own_instance_and_the_starts_commit_together(
    engine: Engine,
) -> None:
    ids = [f"c{n}" for n in range(16)]
    held = HeldLane(engine, queued=16)

    async def main() -> list[Instance]:
        first = asyncio.ensure_future(engine.start_async("order", input=one(), instance_id="f"))
        await asyncio.to_thread(held.holding.wait, 10)
        started = await asyncio.gather(
            *(
                engine.start_async("order", input=one(n + 1), instance_id=i, actor=f"a-{i}")
                for n, i in enumerate(ids)
            )
        )
        await first
        return started

    started = asyncio.run(main())
    assert [(i.id, i.version, i.context["amount"]) for i in started] == [
        (i, 1, n + 1) for n, i in enumerate(ids)
    ]
    assert held.batches == [["f"], ids]  # the 16 queued meanwhile: one batch
    for n, instance_id in enumerate(ids):
        assert engine.get(instance_id).context == {"amount": n + 1}
        assert engine.history(instance_id)[0].actor == f"a-{instance_id}"
        assert engine.verify(instance_id).ok


def test_a_refused_start_fails_alone_and_the_others_of_its_batch_commit(engine: Engine) -> None:
    engine.start("order", input=one(), instance_id="taken")
    held = HeldLane(engine, queued=5)

    async def main() -> list[Instance | BaseException]:
        first = asyncio.ensure_future(engine.start_async("order", input=one(), instance_id="f"))
        await asyncio.to_thread(held.holding.wait, 10)
        return await asyncio.gather(
            first,
            engine.start_async("order", input=one(), instance_id="a"),
            engine.start_async("order", input=one(), instance_id="taken"),
            engine.start_async("order", input=one(0), instance_id="b"),  # fails the schema
            engine.start_async("nope", instance_id="c"),
            engine.start_async("order", input=one(), instance_id="a"),  # a second time
            return_exceptions=True,
        )

    first, a, taken, b, c, again = asyncio.run(main())
    assert held.batches == [["f"], ["a", "taken", "b", "c", "a"]]
    assert isinstance(first, Instance) and isinstance(a, Instance)
    assert isinstance(taken, InstanceExists) and "taken" in str(taken)
    assert isinstance(b, PayloadInvalid) and "amount" in str(b)
    assert isinstance(c, NotFound) and "nope" in str(c)
    assert isinstance(again, InstanceExists)
    for missing in "bc":
        with pytest.raises(NotFound):
            engine.get(missing)


def test_the_result_and_errors_are_those_of_start(engine: Engine) -> None:
    async def main() -> Instance:
        with pytest.raises(PayloadError, match="instance id"):
            await engine.start_async("order", input=one(), instance_id="bad id/")
        with pytest.raises(NotFound, match="no version 4"):
            await engine.start_async("order", input=one(), version=4)
        return await engine.start_async("order", input=one(3))

    made = asyncio.run(main())
    stored = engine.get(made.id)
    assert (made.version, made.value, made.context, made.runtime_status) == (
        stored.version,
        stored.value,
        stored.context,
        stored.runtime_status,
    )
    assert made.context == {"amount": 3} and len(made.id) == 32  # a generated id


def test_a_database_error_fails_every_start_of_the_batch_and_commits_none(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}?busy_timeout=50"
    with Engine.open(url) as engine:
        engine.register(ORDER)
        held = HeldLane(engine)
        blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)

        async def main() -> list[Instance | BaseException]:
            first = asyncio.ensure_future(engine.start_async("order", input=one(), instance_id="f"))
            await asyncio.to_thread(held.holding.wait, 10)
            blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            rest = [
                asyncio.ensure_future(engine.start_async("order", input=one(), instance_id=i))
                for i in "ab"
            ]
            await asyncio.sleep(0)
            held.release.set()
            return await asyncio.gather(first, *rest, return_exceptions=True)

        try:
            outcomes = asyncio.run(main())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert held.batches[1] == ["a", "b"]
        assert [type(outcome) for outcome in outcomes] == [StoreUnavailable] * 3
        for name in ("f", "a", "b"):
            with pytest.raises(NotFound):
                engine.get(name)

        async def again() -> list[Instance]:
            return await asyncio.gather(
                *(engine.start_async("order", input=one(), instance_id=i) for i in "ab")
            )

        assert [instance.version for instance in asyncio.run(again())] == [1, 1]


def test_a_cancelled_task_does_not_withdraw_its_start(engine: Engine) -> None:
    held = HeldLane(engine)

    async def main() -> None:
        first = asyncio.ensure_future(engine.start_async("order", input=one(), instance_id="f"))
        await asyncio.to_thread(held.holding.wait, 10)
        starting = asyncio.ensure_future(engine.start_async("order", input=one(), instance_id="a"))
        await asyncio.sleep(0)  # handed over: queued on the lane
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
        held.release.set()
        await first
        with pytest.raises(InstanceExists):  # after the cancelled one: its start stood
            await engine.start_async("order", input=one(), instance_id="a")

    asyncio.run(main())
    assert engine.get("a").version == 1


def test_close_fails_the_queued_starts_waits_for_the_batch_and_leaves_no_thread(
    engine: Engine,
) -> None:
    held = HeldLane(engine)
    closed = threading.Event()

    def close() -> None:
        engine._close_async_lane()
        closed.set()

    async def main() -> tuple[Instance, list[Instance | BaseException]]:
        first = asyncio.ensure_future(engine.start_async("order", input=one(), instance_id="f"))
        await asyncio.to_thread(held.holding.wait, 10)
        queued = [
            asyncio.ensure_future(engine.start_async("order", input=one(), instance_id=i))
            for i in "ab"
        ]
        await asyncio.sleep(0)
        closing = threading.Thread(target=close)
        closing.start()
        failed = await asyncio.gather(*queued, return_exceptions=True)  # before the batch ends
        await asyncio.to_thread(closed.wait, 0.2)
        assert not closed.is_set()  # close waits for the batch being started
        held.release.set()
        done = await first
        await asyncio.to_thread(closing.join, 10)
        return done, failed

    done, failed = asyncio.run(main())
    assert closed.is_set() and done.id == "f"
    assert [type(error) for error in failed] == [StoreError, StoreError]
    assert "start_async cannot start" in str(failed[0])
    assert engine.get("f").version == 1
    for name in "ab":
        with pytest.raises(NotFound):
            engine.get(name)
    assert engine._start_lane.threads == 0 and not lane_threads()


def test_a_closed_engine_refuses_start_async_with_a_clear_error(store_url: str) -> None:
    engine = Engine.open(store_url)
    engine.register(ORDER)

    async def main() -> None:
        await engine.start_async("order", input=one())
        assert lane_threads()
        engine.close()
        assert not lane_threads()  # no thread left behind
        with pytest.raises(StoreError, match=r"engine is closed.*start_async.*Engine\.open"):
            await engine.start_async("order", input=one())

    asyncio.run(main())


def test_many_loops_start_at_once(engine: Engine) -> None:
    loops, tasks, starts = 4, 4, 10
    made: dict[str, list[str]] = {}

    def one_loop(loop: int) -> None:
        async def starter(task: int) -> None:
            for n in range(starts):
                instance = await engine.start_async(
                    "order", input=one(), instance_id=f"l{loop}-t{task}-{n}"
                )
                made.setdefault(f"l{loop}", []).append(instance.id)

        async def main() -> None:
            await asyncio.gather(*(starter(task) for task in range(tasks)))

        asyncio.run(main())

    threads = [threading.Thread(target=one_loop, args=(loop,)) for loop in range(loops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for loop in range(loops):
        assert len(made[f"l{loop}"]) == tasks * starts
        for instance_id in made[f"l{loop}"]:
            assert engine.get(instance_id).version == 1


def test_an_id_that_cannot_be_hashed_is_refused_as_start_refuses_it_and_the_lane_goes_on(
    engine: Engine,
) -> None:
    async def main() -> None:
        with pytest.raises(PayloadError, match="instance id"):
            await asyncio.wait_for(
                engine.start_async("order", input=one(), instance_id=["a"]),  # type: ignore[arg-type]
                10,
            )
        made = await asyncio.wait_for(engine.start_async("order", input=one(), instance_id="a"), 10)
        assert made.id == "a"

    asyncio.run(main())
