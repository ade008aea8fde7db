"""The tables `benchmarks.runtime` prints: Markdown, one per measurement.

Ratios are statewright / DBOS for rates (above 1: statewright does more per second) and
DBOS / statewright for latencies (above 1: statewright's is shorter).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

#: The product goal: statewright at least 5x DBOS's steps/s on each database (stretch 10x).
TARGET, STRETCH = 5.0, 10.0
DBOS_STEP_MODES = ("sequential", "threads", "queue")


def rate(value: float | None) -> str:
    """A rate with a k suffix: 12345 -> '12.3k'; '-' when missing."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value / 1000:.3g}k" if value >= 1000 else f"{value:.3g}"


def ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def ratio(top: float | None, bottom: float | None) -> str:
    if not top or not bottom:
        return "-"
    return f"{top / bottom:.3g}x"


def _rows(report: dict[str, Any], section: str) -> Iterator[Any]:
    for found in report["results"].values():
        rows = found[section]
        yield from rows if isinstance(rows, list) else [rows]


def _get(result: dict[str, Any] | None, key: str) -> float | None:
    if not result or "error" in result:
        return None
    value = result.get(key)
    return None if value is None else float(value)


def steps_table(report: dict[str, Any]) -> str:
    lines = [
        "| database | workers | statewright steps/s | DBOS sequential | DBOS threads "
        f"| DBOS queue | statewright / best DBOS | target >= {TARGET:g}x |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in _rows(report, "steps"):
        ours = _get(row["statewright"], "steps_per_s")
        theirs = {mode: _get(row.get(f"dbos_{mode}"), "steps_per_s") for mode in DBOS_STEP_MODES}
        best = max((value for value in theirs.values() if value), default=None)
        verdict = "-"
        if ours and best:
            times = ours / best
            verdict = "stretch met" if times >= STRETCH else "met" if times >= TARGET else "missed"
        lines.append(
            f"| {row['database']} | {row['workers']} | {rate(ours)} | "
            + " | ".join(rate(theirs[mode]) for mode in DBOS_STEP_MODES)
            + f" | {ratio(ours, best)} | {verdict} |"
        )
    return "\n".join(lines)


def drain_table(report: dict[str, Any]) -> str:
    lines = [
        "| database | workers | statewright steps/s | DBOS queue steps/s | statewright / DBOS |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in _rows(report, "steps"):
        ours = _get(row["statewright_drain"], "steps_per_s")
        theirs = _get(row.get("dbos_drain"), "steps_per_s")
        lines.append(
            f"| {row['database']} | {row['workers']} | {rate(ours)} | {rate(theirs)} "
            f"| {ratio(ours, theirs)} |"
        )
    return "\n".join(lines)


def starts_table(report: dict[str, Any]) -> str:
    lines = [
        "| database | workers | statewright: elapsed s (starting s) "
        "| DBOS queue: elapsed s (enqueueing s) |",
        "|---|---:|---:|---:|",
    ]
    for row in _rows(report, "steps"):
        cells = []
        for result in (row["statewright"], row.get("dbos_queue")):
            elapsed, starting = _get(result, "elapsed"), _get(result, "starting_s")
            cells.append("-" if elapsed is None else f"{elapsed:.2f} ({starting or 0:.2f})")
        lines.append(f"| {row['database']} | {row['workers']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def timers_table(report: dict[str, Any]) -> str:
    lines = [
        "| database | workers | statewright timers/s | DBOS recovered sleeps/s (sleepers) "
        "| statewright / DBOS |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in _rows(report, "timers"):
        ours = _get(row["statewright"], "timers_per_s")
        theirs = _get(row.get("dbos_sleep"), "timers_per_s")
        recovered = _get(row.get("dbos_sleep"), "n")
        lines.append(
            f"| {row['database']} | {row['workers']} | {rate(ours)} | {rate(theirs)} "
            f"({recovered or 0:.0f}) | {ratio(ours, theirs)} |"
        )
    return "\n".join(lines)


def lateness_table(report: dict[str, Any]) -> str:
    lines = [
        "| database | workers | load: steps/s asked (offered) | timers | p50 ms | p99 ms "
        "| max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in _rows(report, "lateness"):
        lines.append(
            f"| {row['database']} | {row['workers']} | {rate(row['load_steps_per_s'])} "
            f"({rate(row['offered_steps_per_s'])}) | {row['timers']} | {ms(row['p50_ms'])} "
            f"| {ms(row['p99_ms'])} | {ms(row['max_ms'])} |"
        )
    return "\n".join(lines)


def events_table(report: dict[str, Any]) -> str:
    lines = [
        "| database | wake-up | statewright p50 / p99 ms | DBOS p50 / p99 ms "
        "| DBOS p50 / statewright p50 | send p50 ms: statewright / DBOS |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in _rows(report, "events"):
        ours, theirs = row["statewright"], row["dbos"]
        settings = report["settings"]
        wake = f"statewright: wake-ups, poll {settings['worker_poll_ms']} ms; DBOS: " + (
            "NOTIFY"
            if row["database"] == "PostgreSQL"
            else f"poll {settings['dbos_poll_s'] * 1000:g} ms"
        )
        lines.append(
            f"| {row['database']} | {wake} "
            f"| {ms(_get(ours, 'p50_ms'))} / {ms(_get(ours, 'p99_ms'))} "
            f"| {ms(_get(theirs, 'p50_ms'))} / {ms(_get(theirs, 'p99_ms'))} "
            f"| {ratio(_get(theirs, 'p50_ms'), _get(ours, 'p50_ms'))} "
            f"| {ms(_get(ours, 'send_p50_ms'))} / {ms(_get(theirs, 'send_p50_ms'))} |"
        )
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    """Every table with its heading."""
    budget = report["budget"]
    return "\n\n".join(
        [
            f"## Steps/s: {budget['steps']} three-step instances/workflows, start to all done",
            steps_table(report),
            "Where the time went (the starts are issued one by one by one process):",
            starts_table(report),
            f"## Steps/s drained: {budget['steps']} instances/workflows started before the "
            "workers, first to last step result",
            drain_table(report),
            f"## Timers/s: {budget['timers']} due timers drained (DBOS: sleeps recovered "
            "after downtime)",
            timers_table(report),
            f"## Timer lateness under load: {budget['late_timers']} timers due over "
            f"{budget['late_window']:g} s, steps arriving at half the measured rate",
            lateness_table(report),
            f"## Event -> step start: {budget['events']} sends to an idle worker",
            events_table(report),
        ]
    )
