"""Starts and sends on a new PostgreSQL database, before and after its first ANALYZE.

    .venv/bin/python -m benchmarks.fresh_database               # 90 s per variant
    .venv/bin/python -m benchmarks.fresh_database --seconds 30  # a shorter look

A throwaway PostgreSQL server committing durably (as in `benchmarks.durable`), autovacuum
on at its defaults. For each variant, a new database and one engine: one thread starts 16
counters with `Engine.start_many`, then sends an event to 16 of the instances started so far
(chosen at random), over and over, for `--seconds`. Reported: starts (and as many sends) a
second in each 5 s window, and by when `instances` was first analyzed (by the store, or by
autovacuum, up to a minute in).

Variants:
- "the store": the store as it is (`store/postgres/plan_choice.py`: each run planned while a
  table grows unanalyzed, one generic plan per statement otherwise);
- "generic plans throughout": the connections kept on generic plans from the start, as the
  store did before: a plan made while `instances` was nearly empty is kept until the ANALYZE.

Measured, not asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

import psycopg

from benchmarks.durable import COUNTER, durable_postgres
from statewright import Machine
from statewright.engine import Engine, StartRequest
from statewright.store.postgres import plan_choice

__all__ = ["main"]

WINDOW_S = 5.0
BATCH = 16


@contextmanager
def _generic_throughout() -> Iterator[None]:
    """Connections that keep generic plans whatever the tables' statistics say."""

    def look(self: plan_choice.PlanChoice, connection: object) -> None:
        self._mode = plan_choice.GENERIC
        self._settled = True

    with mock.patch.object(plan_choice.PlanChoice, "_look", look):
        yield


def one_run(url: str, seconds: float) -> tuple[list[float], float | None]:
    """Starts a second per window, and the end of the first window by which the server had
    analyzed `instances` (None: not within the run)."""
    engine = Engine.open(url)
    engine.register(Machine.from_config(COUNTER))
    began = time.perf_counter()
    ids: list[str] = []
    rates: list[float] = []
    analyzed_s: float | None = None
    started_in_window = 0
    window_end = began + WINDOW_S
    try:
        with psycopg.connect(url, autocommit=True) as watching:
            while (now := time.perf_counter()) < began + seconds:
                for started in engine.start_many([StartRequest("counter") for _ in range(BATCH)]):
                    assert not isinstance(started, BaseException), started
                    ids.append(started.id)
                for _ in range(BATCH):
                    engine.send(random.choice(ids), {"type": "INC"})
                started_in_window += BATCH
                if now >= window_end:
                    rates.append(started_in_window / WINDOW_S)
                    started_in_window = 0
                    if analyzed_s is None and _analyzed(watching):
                        analyzed_s = window_end - began
                    window_end += WINDOW_S
    finally:
        engine.close()
    return rates, analyzed_s


def _analyzed(connection: psycopg.Connection[Any]) -> bool:
    row = connection.execute(
        "SELECT reltuples >= 0 FROM pg_class WHERE oid = 'instances'::regclass"
    ).fetchone()
    return bool(row and row[0])


def report(name: str, rates: list[float], analyzed_s: float | None) -> list[str]:
    cut = int(analyzed_s // WINDOW_S) if analyzed_s is not None else len(rates)
    before, after = rates[1:cut], rates[cut + 1 :]
    lines = [f"{name}: instances first analyzed by " + (
        f"{analyzed_s:.0f} s" if analyzed_s is not None else "none within the run"
    )]  # fmt: skip
    lines.append("  starts/s per 5 s window: " + " ".join(f"{rate:.0f}" for rate in rates))
    for label, part in (("before the ANALYZE", before), ("after it", after)):
        if part:
            lines.append(
                f"  {label}: median {statistics.median(part):.0f}/s, "
                f"lowest {min(part):.0f}/s (windows after the first)"
            )
    return lines


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    with durable_postgres() as server:
        for index, (name, patch) in enumerate(
            (("the store", None), ("generic plans throughout", _generic_throughout))
        ):
            url = server.create_database(f"fresh_{index}")
            with patch() if patch else mock.patch.dict({}):
                rates, analyzed_s = one_run(url, args.seconds)
            print("\n".join(report(name, rates, analyzed_s)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
