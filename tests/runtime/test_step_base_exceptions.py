"""A step that raises something other than an `Exception` (a `BaseException` subclass of its
own, `sys.exit()`) has failed: the attempt is retried per the policy and, when it gives up,
the machine takes its error path. It never counts as a success with no output, nor stops the
worker that runs it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from test_step_attempts import payment

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.testing import VirtualClock


class Abort(BaseException):
    """Not an Exception, as some libraries' cancellation and abort signals are not."""


def aborts(_: object) -> object:
    raise Abort("charge aborted")


async def aborts_async(_: object) -> object:
    await asyncio.sleep(0)
    raise Abort("charge aborted")


def exits(_: object) -> object:
    sys.exit("charge aborted")


@pytest.fixture
def open_engine(store_url: str, clock: VirtualClock) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def open_(charge: Callable[..., object], retry: dict[str, object]) -> Engine:
        engine = Engine.open(store_url, clock=clock)
        engine.register(Machine.from_config(payment(retry), actors={"charge": charge}))
        engines.append(engine)
        return engine

    yield open_
    for engine in engines:
        engine.close()


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize(
    ("charge", "error_type"),
    [(aborts, "Abort"), (aborts_async, "Abort"), (exits, "SystemExit")],
)
def test_a_step_raising_a_base_exception_fails_and_takes_the_error_path(
    open_engine: Callable[..., Engine],
    charge: Callable[..., object],
    error_type: str,
    concurrency: int,
) -> None:
    engine = open_engine(charge, {"attempts": 2, "delay": 0})
    engine.start("payment", instance_id="p-1")
    with Worker(engine, concurrency=concurrency) as worker:
        worker.run_once()

    review = engine.get("p-1")
    assert review.value == "review"
    error: Any = review.context["error"]  # type: ignore[index]
    assert error == {"type": error_type, "message": "charge aborted"}
    attempts = engine.step_attempts("p-1")
    assert [(a.attempt, a.error_type) for a in attempts] == [(1, error_type), (2, error_type)]


def test_a_step_raising_a_base_exception_with_a_timeout_is_not_reported_as_timed_out(
    open_engine: Callable[..., Engine],
) -> None:
    engine = open_engine(aborts, {"attempts": 1, "timeout": "5s"})
    engine.start("payment", instance_id="p-1")
    with Worker(engine) as worker:
        worker.run_once()

    error: Any = engine.get("p-1").context["error"]  # type: ignore[index]
    assert error == {"type": "Abort", "message": "charge aborted"}
