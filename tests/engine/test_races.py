"""Writers racing on one instance: a send without `expected_version` gets through on its own,
one with it hears of the conflict at once; `verify` reads one consistent version while
others write. Real threads, engines of their own, one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from tests_support import order_machine

import statewright.engine.conflicts as conflicts
from statewright.engine import Engine
from statewright.errors import VersionConflict
from statewright.testing import VirtualClock

pytestmark = pytest.mark.slow


def run_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    """Run the jobs on threads released at once; the errors they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def open_engines(url: str, clock: VirtualClock, count: int) -> list[Engine]:
    engines = []
    for _ in range(count):
        engine = Engine.open(url, clock=clock, head_cache=0)  # every send reads: races
        engine.register(order_machine())
        engines.append(engine)
    return engines


def test_sends_without_expected_version_all_get_through(
    store_url: str, clock: VirtualClock
) -> None:
    engines = open_engines(store_url, clock, 4)
    engines[0].start("order", input={"amount": 5}, instance_id="o-1")
    per_writer = 15

    def writer(engine: Engine, name: str) -> Callable[[], None]:
        def send_all() -> None:
            for index in range(per_writer):
                engine.send("o-1", {"type": "NOTE", "text": f"{name}-{index}"})

        return send_all

    errors = run_together([writer(engine, f"w{n}") for n, engine in enumerate(engines)])
    try:
        assert errors == []
        notes = [e.event.get("text") for e in engines[0].history("o-1")[1:]]
        assert len(notes) == len(set(notes)) == 4 * per_writer
        assert engines[0].get("o-1").version == 1 + 4 * per_writer
        assert engines[0].verify("o-1").ok
    finally:
        for engine in engines:
            engine.close()


def test_a_stale_expected_version_is_refused_at_once(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.send("o-1", {"type": "NOTE", "text": "first"})
    with pytest.raises(VersionConflict) as info:
        engine.send("o-1", {"type": "NOTE", "text": "late"}, expected_version=1)
    assert (info.value.expected, info.value.found) == (1, 2)
    assert engine.get("o-1").version == 2


class _AlwaysBeaten:
    """The engine's store, with another writer committing to the instance right before
    each of its commits: a race this engine never wins."""

    def __init__(self, engine: Engine, rival: Engine) -> None:
        self._store = engine.store
        self._rival = rival
        self.beaten = 0

    def commit_transition(self, write: object) -> None:
        self._rival.send("o-1", {"type": "NOTE", "text": f"rival-{self.beaten}"})
        self.beaten += 1
        self._store.commit_transition(write)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_a_send_that_never_wins_its_race_gives_up_with_a_conflict(
    store_url: str, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conflicts, "PAUSE_MAX_S", 0.001)  # the count matters, not the wait
    engine, rival = open_engines(store_url, clock, 2)
    try:
        engine.start("order", input={"amount": 5}, instance_id="o-1")
        beaten = _AlwaysBeaten(engine, rival)
        engine.store = beaten  # type: ignore[assignment]
        with pytest.raises(VersionConflict, match="kept changing under this event") as info:
            engine.send("o-1", {"type": "NOTE", "text": "mine"})
        assert beaten.beaten == conflicts.SEND_ATTEMPTS
        assert info.value.found == info.value.expected + 1
        texts = [e.event.get("text") for e in rival.history("o-1")]
        assert "mine" not in texts and len(texts) == 1 + conflicts.SEND_ATTEMPTS
    finally:
        engine.close()
        rival.close()


def test_verify_beside_a_writer_never_reports_a_false_mismatch(
    store_url: str, clock: VirtualClock
) -> None:
    writer_engine, verifier = open_engines(store_url, clock, 2)
    for index in range(3):
        writer_engine.start("order", input={"amount": 5}, instance_id=f"o-{index}")
    stop = threading.Event()
    verified: list[bool] = []
    written = [0]

    def write() -> None:
        while not stop.is_set():
            count = written[0]
            writer_engine.send(f"o-{count % 3}", {"type": "NOTE", "text": str(count)})
            written[0] = count + 1

    def wait_for_sends(count: int) -> None:
        # The writer thread may be kept from the interpreter lock for a while: the check
        # needs it to be writing, not to be quick (bounded so that a stuck writer fails).
        deadline = time.monotonic() + 30
        while written[0] < count and time.monotonic() < deadline:
            time.sleep(0.001)

    def verify() -> None:
        try:
            wait_for_sends(3)  # the writer is at work before the first verify
            for _ in range(60):
                for index in range(3):
                    result = verifier.verify(f"o-{index}")
                    assert result.ok, result.problem
                    verified.append(result.ok)
            wait_for_sends(6)  # and has sent o-0 another event meanwhile
        finally:
            stop.set()

    try:
        errors = run_together([write, verify])
        assert errors == []
        assert len(verified) == 180
        assert writer_engine.get("o-0").version > 2  # the writer did write meanwhile
    finally:
        writer_engine.close()
        verifier.close()


def test_twin_sends_with_one_idempotency_key_commit_once(
    store_url: str, clock: VirtualClock
) -> None:
    first, second = open_engines(store_url, clock, 2)
    try:
        for index in range(10):
            first.start("order", input={"amount": 5}, instance_id=f"o-{index}")
        entries: dict[int, list[int]] = {index: [] for index in range(10)}

        def twin(engine: Engine) -> Callable[[], None]:
            def send_all() -> None:
                for index in range(10):
                    entry = engine.send(
                        f"o-{index}", {"type": "NOTE", "text": "once"}, idempotency_key="k"
                    )
                    entries[index].append(entry.seq)

            return send_all

        assert run_together([twin(first), twin(second)]) == []
        for index in range(10):
            assert entries[index] == [2, 2]
            assert first.get(f"o-{index}").version == 2
    finally:
        first.close()
        second.close()
