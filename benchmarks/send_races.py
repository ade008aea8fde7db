"""Sends without `expected_version` racing on one instance: do they all get through?

    .venv/bin/python -m benchmarks.send_races                 # 4, 8 and 16 writers, 50 sends each
    .venv/bin/python -m benchmarks.send_races --writers 16 --sends 200

Each writer is a thread with an engine of its own (no head cache, so every send reads the
instance and the races are real) sending NOTE events to one instance as fast as it can, on a
SQLite file and on a throwaway PostgreSQL server. Printed per run: the sends, how many gave up
with `VersionConflict` after `SEND_ATTEMPTS` lost races (the promise is none), and how many
sends paused after their 1st, 2nd, ... lost race.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import threading
import time
from pathlib import Path

import statewright.engine.sending as sending_module
from statewright import Machine
from statewright.engine import Engine
from statewright.errors import VersionConflict
from statewright.testing.postgres import TemporaryPostgres

NOTES: dict[str, object] = {
    "id": "notes",
    "initial": "open",
    "states": {
        "open": {
            "on": {
                "NOTE": {
                    "actions": [{"type": "assign", "params": {"last": {"$expr": "event.text"}}}]
                }
            }
        }
    },
}


def race(url: str, writers: int, sends: int) -> str:
    """One run: `writers` threads, `sends` each, on a fresh instance at `url`."""
    pauses: collections.Counter[int] = collections.Counter()
    pause_of = sending_module.conflict_pause_s

    def counting(lost: int) -> float:
        pauses[lost] += 1
        return pause_of(lost)

    sending_module.conflict_pause_s = counting  # counts the pauses the engine takes
    engines = [Engine.open(url, head_cache=0) for _ in range(writers)]
    try:
        for engine in engines:
            engine.register(Machine.from_config(NOTES))
        instance = engines[0].start("notes").id
        refused: list[VersionConflict] = []
        barrier = threading.Barrier(writers)

        def write(engine: Engine, name: int) -> None:
            barrier.wait()
            for index in range(sends):
                try:
                    engine.send(instance, {"type": "NOTE", "text": f"{name}-{index}"})
                except VersionConflict as error:
                    refused.append(error)

        started = time.perf_counter()
        threads = [threading.Thread(target=write, args=(e, n)) for n, e in enumerate(engines)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        sending_module.conflict_pause_s = pause_of
        for engine in engines:
            engine.close()
    backend = url.split(":", 1)[0]
    return (
        f"{backend:10} writers={writers:3} sends={writers * sends:5} gave_up={len(refused):3} "
        f"paused_after_lost_race={dict(sorted(pauses.items()))} {seconds:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="*", default=[4, 8, 16])
    parser.add_argument("--sends", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, TemporaryPostgres() as server:
        urls = [f"sqlite:///{Path(folder) / 'races.db'}", server.create_database("races")]
        for url in urls:
            for writers in args.writers:
                print(race(url, writers, args.sends), flush=True)


if __name__ == "__main__":
    main()
