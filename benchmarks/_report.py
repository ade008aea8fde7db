"""Render results: one Markdown table per scenario, and the summary ratios.

Ratios are "statewright / this": above 1 means statewright is faster. Only ratios from one
run mean anything on a shared machine; the absolute rates are printed for context.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks._harness import Result

PRIMARY = "statewright"
PEER_TARGET = 2.0  # statewright / fastest Python peer
XSTATE_STRETCH = 1.0  # statewright / XState


def format_rate(rate: float) -> str:
    """Return a rate with a k or M suffix: 1234 -> '1.23k'."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.3g}{suffix}"
    return f"{rate:.3g}"


def _is_statewright(result: Result) -> bool:
    return result.impl.startswith(PRIMARY)


def _is_xstate(result: Result) -> bool:
    return result.impl.startswith("xstate v5")


def _xstate_mode(result: Result) -> str:
    """'xstate v5 (actor)' -> 'actor'."""
    return result.impl.removeprefix("xstate v5").strip(" ()")


def _baseline(results: Sequence[Result]) -> float | None:
    return next((r.rate for r in results if r.impl == PRIMARY and r.rate), None)


def table(title: str, unit: str, results: Sequence[Result]) -> str:
    """Return the Markdown table of one scenario's results."""
    baseline = _baseline(results)
    lines = [
        f"### {title}",
        "",
        f"| implementation | {unit} | statewright / this | note |",
        "|---|---:|---:|---|",
    ]
    for result in results:
        name = result.impl + (" (approx)" if result.approx else "")
        if result.rate is None:
            lines.append(f"| {name} | - | - | skipped: {result.skipped} |")
            continue
        ratio = f"{baseline / result.rate:.2f}" if baseline else "-"
        lines.append(f"| {name} | {format_rate(result.rate)} | {ratio} | {result.note} |")
    return "\n".join(lines)


def summary(scenario: str, results: Sequence[Result]) -> list[str]:
    """Return the summary lines of one scenario, one per statewright row."""
    measured = [r for r in results if r.rate]
    peers = [r for r in measured if not _is_statewright(r) and not _is_xstate(r)]
    xstates = [r for r in measured if _is_xstate(r)]
    own = [r for r in measured if _is_statewright(r)]
    if not own:
        reasons = "; ".join(r.skipped for r in results if _is_statewright(r)) or "no row"
        return [f"{scenario}: statewright not measured ({reasons})"]
    lines = []
    for mine in own:
        assert mine.rate is not None
        parts = [f"{scenario}: {mine.impl}"]
        if peers:
            fastest = max(peers, key=lambda r: r.rate or 0.0)
            ratio = mine.rate / (fastest.rate or 1.0)
            verdict = "met" if ratio >= PEER_TARGET else "MISSED"
            parts.append(
                f"/ fastest Python peer ({fastest.impl}) = {ratio:.2f}x "
                f"[target >= {PEER_TARGET:g}x: {verdict}]"
            )
        if xstates:
            ratios = ", ".join(
                f"{mine.rate / (x.rate or 1.0):.2f}x vs {_xstate_mode(x)}" for x in xstates
            )
            best = max(xstates, key=lambda r: r.rate or 0.0)
            verdict = "met" if mine.rate / (best.rate or 1.0) >= XSTATE_STRETCH else "not met"
            parts.append(
                f"; / XState = {ratios} [stretch >= {XSTATE_STRETCH:g}x vs the faster: {verdict}]"
            )
        lines.append(" ".join(parts))
    return lines
