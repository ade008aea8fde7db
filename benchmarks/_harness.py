"""Timing: calibrate a batch size, warm up, then time every implementation in rounds.

A scenario function returns a `Bench` whose `loop(n)` performs the scenario's operation
`n` times with everything else (machines, events, inputs) built beforehand. The harness
grows `n` until one call takes the target time, keeps calling it for the warm-up time,
then times REPEATS calls and keeps the median rate.

The implementations of one scenario are timed round-robin (round 1 of every
implementation, then round 2, ...) so that load from other tenants of this shared machine
falls on all of them alike, which is what makes the ratios of one run comparable. Since the
others ran in between, each timed call follows an untimed call of a tenth of the batch.
XState's loops run in a Node process and time themselves (`Bench.self_timed`), but take
their turn in the same rounds.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

REPEATS = 5


class Skip(Exception):
    """Raised by a scenario function when its implementation cannot express the scenario."""


@dataclass(frozen=True, slots=True)
class Bench:
    """One implementation's ready-to-time loop for one scenario.

    Attributes:
        loop: performs the scenario's operation `n` times.
        note: how this implementation's mirror differs from the statewright scenario.
        approx: the mirror leaves out or replaces part of the scenario (see `note`).
        self_timed: `loop(n)` returns the seconds it measured itself (another process's
            clock, e.g. Node's), rather than being timed here.
    """

    loop: Callable[[int], object]
    note: str = ""
    approx: bool = False
    self_timed: bool = False


@dataclass(slots=True)
class Result:
    """The measured (or skipped) row of one implementation in one scenario."""

    scenario: str
    impl: str
    rate: float | None = None
    rates: list[float] = field(default_factory=list)
    n: int = 0
    note: str = ""
    approx: bool = False
    skipped: str = ""


@dataclass(frozen=True, slots=True)
class Budget:
    """How long to run: seconds per timed call and seconds of warm-up per implementation."""

    target: float
    warmup: float


FULL = Budget(target=0.25, warmup=0.5)
QUICK = Budget(target=0.02, warmup=0.02)


def elapsed(bench: Bench, n: int) -> float:
    """Return the seconds `bench.loop(n)` takes, after a collection so no garbage is inherited."""
    gc.collect()
    if bench.self_timed:
        return float(bench.loop(n))  # type: ignore[arg-type]
    start = time.perf_counter()
    bench.loop(n)
    return time.perf_counter() - start


def calibrate(bench: Bench, budget: Budget) -> int:
    """Return the batch size for which `bench` takes about `budget.target`, warmed up."""
    n = 1
    seconds = elapsed(bench, n)
    while seconds < budget.target / 10:
        n *= 4
        seconds = elapsed(bench, n)
    n = max(1, round(n * budget.target / seconds))
    spent = 0.0
    while spent < budget.warmup:
        spent += elapsed(bench, n)
    return n


def measure(scenario: str, benches: dict[str, Bench], units: int, budget: Budget) -> list[Result]:
    """Time every bench of one scenario round-robin; rates are in units per second.

    Args:
        scenario: the scenario's name, copied into the results.
        benches: implementation label -> its bench.
        units: units (transitions, orders) that one operation of `loop` counts for.
        budget: target and warm-up seconds.

    Returns:
        One result per bench, in the order given, with the median of REPEATS rates.
    """
    sizes = {label: calibrate(bench, budget) for label, bench in benches.items()}
    rates: dict[str, list[float]] = {label: [] for label in benches}
    for _ in range(REPEATS):
        for label, bench in benches.items():
            n = sizes[label]
            elapsed(
                bench, -(-n // 10)
            )  # re-warm: the other implementations ran since its last turn
            rates[label].append(n * units / elapsed(bench, n))
    return [
        Result(
            scenario=scenario,
            impl=label,
            rate=statistics.median(rates[label]),
            rates=rates[label],
            n=sizes[label],
            note=bench.note,
            approx=bench.approx,
        )
        for label, bench in benches.items()
    ]
