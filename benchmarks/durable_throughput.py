"""The engine's send against its limit: `Engine.send` beside the database's raw transition,
its single-row INSERT, the chart's pure transition and the two in one loop
(`durable_baselines`), all timed in the same turns, so that load from other work on this
shared machine falls on all alike.

The headline is `engine / (chart then raw)`: the microseconds of a send over those of a
loop that decides each write with the chart (its transition and the snapshot's JSON text)
and then writes it as the raw transition, done the cheapest way the database offers; the
median of the per-turn ratios. Target: at most `TARGET`. Beside it, `engine / (raw +
chart)` adds the two timed apart, which is less than they cost together where a flush is
slower after a pause (`flush_gap.py`). In a turn the loops of a database alternate in short
slices, so that they share the disk's good and bad moments.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.durable_baselines import FLOOR, Baseline, Loop

#: A send within this many times "raw transition + chart" meets the target.
TARGET = 1.4  # SQLite NORMAL and FULL
CHART = "chart"
#: Slices a turn is cut into, the loops of a database alternating slice by slice.
SLICES = 10


@dataclass(frozen=True, slots=True)
class Setting:
    """One database setting: its name, the engine's send loop, and its baselines."""

    name: str
    engine: Callable[[], Loop]
    baselines: Callable[[], list[Baseline]]


@dataclass(slots=True)
class Measured:
    """Microseconds per operation of every loop of one database, one entry per turn."""

    database: str
    engine: list[float] = field(default_factory=list)
    baselines: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    chart: list[float] = field(default_factory=list)

    def median(self, name: str) -> float:
        """The median µs of the engine ("engine") or of a baseline."""
        return statistics.median(self.engine if name == "engine" else self.baselines[name])

    @property
    def raw(self) -> str:
        """The raw transition this database does fastest (its baseline)."""
        raws = [name for name in self.baselines if name.startswith("raw")]
        return min(raws, key=self.median)

    @property
    def ratios(self) -> list[float]:
        """engine / (chart then raw), turn by turn."""
        return [e / f for e, f in zip(self.engine, self.baselines[FLOOR], strict=True)]

    @property
    def ratio(self) -> float:
        """The headline: the median of the per-turn ratios."""
        return statistics.median(self.ratios)

    @property
    def sum_ratio(self) -> float:
        """engine / (raw + chart), the two timed apart: the median over the turns."""
        raw = self.baselines[self.raw]
        return statistics.median(
            e / (r + c) for e, r, c in zip(self.engine, raw, self.chart, strict=True)
        )


def micros(loop: Loop, seconds: float) -> float:
    """Microseconds per operation of `loop`, run in chunks until `seconds` have passed."""
    gc.collect()
    done, spent = run_for(loop, seconds)
    return spent * 1e6 / done


def run_for(loop: Loop, seconds: float, chunk: int = 5) -> tuple[int, float]:
    """Run `loop` in chunks until `seconds` have passed: (operations, seconds spent)."""
    done = 0
    start = time.perf_counter()
    while True:
        loop(chunk)
        done += chunk
        spent = time.perf_counter() - start
        if spent >= seconds:
            return done, spent


def interleaved(loops: Sequence[tuple[str, Loop]], seconds: float, slices: int) -> list[float]:
    """µs per operation of each loop over one turn of `seconds` each, taken in `slices`
    slices that alternate between the loops (rotated each slice), so that a slow minute of
    the disk falls on all of them alike rather than on whichever ran then."""
    gc.collect()
    done = [0] * len(loops)
    spent = [0.0] * len(loops)
    for piece in range(slices):
        for offset in range(len(loops)):
            index = (offset + piece) % len(loops)
            ops, took = run_for(loops[index][1], seconds / slices)
            done[index] += ops
            spent[index] += took
    return [took * 1e6 / ops for took, ops in zip(spent, done, strict=True)]


def measure(
    settings: Sequence[Setting],
    chart: Sequence[Baseline],
    extra: Sequence[Baseline],
    *,
    seconds: float,
    repeats: int,
    warmup: float,
    slices: int = SLICES,
) -> tuple[list[Measured], dict[str, list[float]]]:
    """Time every setting's engine and baselines, the chart and `extra` (database-free
    loops) in `repeats` turns of `seconds` each, after `warmup` seconds each.

    Within a turn each database's loops take turns in `slices` short slices (`interleaved`);
    the database-free loops likewise, before the databases.

    Returns:
        Per database its measurements, and the database-free loops' µs per turn by name.
    """
    prepared: list[tuple[Measured, list[tuple[str, Loop]]]] = []
    for setting in settings:
        # The engine first: it creates its schema in a database that has no table yet.
        loops = [("engine", setting.engine())]
        result = Measured(setting.name)
        for baseline in setting.baselines():
            loops.append((baseline.name, baseline.loop))
            result.notes[baseline.name] = baseline.note
            result.baselines[baseline.name] = []
        prepared.append((result, loops))
    free = [(b.name, b.loop) for b in (*chart, *extra)]
    free_times: dict[str, list[float]] = {name: [] for name, _ in free}
    for _, loops in prepared:
        for _, loop in loops:
            micros(loop, warmup)
    for _, loop in free:
        micros(loop, warmup)
    for _ in range(repeats):
        for (name, _), spent in zip(free, interleaved(free, seconds, slices), strict=True):
            free_times[name].append(spent)
        for result, loops in prepared:
            timed = interleaved(loops, seconds, slices)
            for (name, _), spent in zip(loops, timed, strict=True):
                if name == "engine":
                    result.engine.append(spent)
                else:
                    result.baselines[name].append(spent)
            result.chart.append(free_times[CHART][-1])
    return [result for result, _ in prepared], free_times


def headline_table(results: Sequence[Measured]) -> str:
    """Markdown: per database the send, the chart then raw loop and the headline ratio, then
    the raw transition and the chart timed apart, and the ratio to their sum."""
    lines = [
        "| database | engine µs per send | chart then raw µs | engine / (chart then raw) "
        "| per-turn ratios | target | raw transition µs (fastest way) | chart µs "
        "| engine / (raw + chart) |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in results:
        spread = f"{min(r.ratios):.2f}-{max(r.ratios):.2f}"
        if r.database.startswith("SQLite"):
            target = f"<= {TARGET} ({'met' if r.ratio <= TARGET else 'missed'})"
        else:  # a round trip dominates: the target is no slower than before, across runs
            target = "no slower than before (compare runs)"
        lines.append(
            f"| {r.database} | {r.median('engine'):.0f} | {r.median(FLOOR):.0f} "
            f"| {r.ratio:.2f} | {spread} | {target} | {r.median(r.raw):.0f} ({r.raw}) "
            f"| {statistics.median(r.chart):.1f} | {r.sum_ratio:.2f} |"
        )
    return "\n".join(lines)


def details_table(results: Sequence[Measured], free: dict[str, list[float]]) -> str:
    """Markdown: every loop timed, its median µs and range over the turns, what it does."""
    lines = [
        "| database | loop | µs per op, median (range) | per second | engine / this | what |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        engine = r.median("engine")
        rows = [("engine", r.engine, "Engine.send of INC, round-robin over 1,000 counters")]
        rows += [(name, times, r.notes[name]) for name, times in r.baselines.items()]
        for name, times, note in rows:
            middle = statistics.median(times)
            lines.append(
                f"| {r.database} | {name} | {middle:.1f} ({min(times):.0f}-{max(times):.0f}) "
                f"| {1e6 / middle:,.0f} | {engine / middle:.2f} | {note} |"
            )
    for name, times in free.items():
        middle = statistics.median(times)
        lines.append(
            f"| no database | {name} | {middle:.1f} ({min(times):.1f}-{max(times):.1f}) "
            f"| {1e6 / middle:,.0f} | - | {FREE_NOTES.get(name, '')} |"
        )
    return "\n".join(lines)


FREE_NOTES = {
    "chart": "Machine.transition + the new snapshot as JSON text",
    "chart: transition only": "Machine.transition",
    "engine, no database": "Engine.send on a store that keeps rows in a dict (Python only)",
}
