"""Closing the engine while `Worker.run` runs in another thread: `run` ends with the store's
`StoreError` (the store is closed), as a `send` after the close does, and the store's
wake-up socket or listening connection is released by the waiter, never closed under it."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from statewright import Engine, Machine, Worker
from statewright.errors import StoreError
from statewright.store.sqlite.wakeup import WakeChannel

MACHINE = Machine.from_config({"id": "idle", "initial": "a", "states": {"a": {}}})


def run_then_close(engine: Engine) -> list[BaseException]:
    """Run a worker on its own thread, close the engine under it, and return what `run`
    raised (an empty list: it returned)."""
    raised: list[BaseException] = []
    worker = Worker(engine)

    def run() -> None:
        try:
            worker.run(stop=threading.Event(), poll_ms=100)
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    engine.close()
    thread.join(5)
    assert not thread.is_alive(), "run went on after the engine was closed"
    return raised


def test_closing_the_engine_under_a_running_worker_ends_run_with_store_closed(
    store_url: str,
) -> None:
    engine = Engine.open(store_url)
    engine.register(MACHINE)
    raised = run_then_close(engine)
    assert len(raised) == 1
    assert isinstance(raised[0], StoreError), repr(raised[0])
    assert "the store is closed" in str(raised[0])
    with pytest.raises(StoreError, match="the store is closed"):
        engine.store.wait_for_work(0)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_a_wake_channel_closed_during_a_wait_wakes_the_waiter_which_closes_the_socket(
    tmp_path: Path,
) -> None:
    channel = WakeChannel(tmp_path / "app.db")
    channel.wait(0)  # binds its socket
    listener = channel._listener
    assert listener is not None
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            channel.wait(30)
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.2)  # in select()
    started = time.monotonic()
    channel.close()
    thread.join(5)
    assert time.monotonic() - started < 2, "the close did not wake the waiter"
    assert [type(error) for error in raised] == [StoreError]
    assert listener.fileno() == -1  # closed, by the waiter on its way out
    assert not channel.folder.exists()  # its socket's file removed, then the folder
    with pytest.raises(StoreError, match="the store is closed"):
        channel.wait(0)
    channel.notify()  # a commit that ends after the close: nothing to tell, no error
