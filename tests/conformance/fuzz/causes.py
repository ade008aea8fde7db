"""Disagreements whose cause is known and deliberate, each recognised by a precise test.

A test does not guess from the shape of the machine: it replays the case with the one
deliberate difference undone and checks that statewright then agrees with XState's trace.
So a case is labelled only if that difference alone explains it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conformance.replay import (
    XStateStepsActor,
    XStateTimersActor,
    first_difference,
    xstate_cancel,
)

__all__ = ["KNOWN_CAUSES", "known_cause"]


def _timer_replaced(case: dict[str, Any], expected: dict[str, Any], cause: str) -> bool:
    if not cause.startswith("trace differs"):
        return False
    with xstate_cancel():
        return first_difference("case", case, expected, actor_type=XStateTimersActor) is None


def _step_replaced(case: dict[str, Any], expected: dict[str, Any], cause: str) -> bool:
    return (
        cause.startswith("trace differs")
        and first_difference("case", case, expected, actor_type=XStateStepsActor) is None
    )


#: (test of the case, XState's trace and the cause; label).
KNOWN_CAUSES: tuple[tuple[Callable[[dict[str, Any], dict[str, Any], str], bool], str], ...] = (
    (
        _timer_replaced,
        "a delayed event or `after` timer scheduled under an id that is still pending (a "
        "state entered again without being exited, through a history state that remembers "
        "it or one of its ancestors): in XState the old timer still fires, in statewright "
        "the new one replaces it (deliberate, docs/xstate-differences.md; KNOWN_GAPS "
        "fuzz-history-root-after-rescheduled, fuzz-history-sibling-after-rescheduled)",
    ),
    (
        _step_replaced,
        "an invocation started under an id whose run is still going (a state entered again "
        "without being exited, through a history state that remembers or defaults to it): in "
        "XState the old run still delivers its result, in statewright the new run replaces it "
        "(deliberate, docs/xstate-differences.md; KNOWN_GAPS fuzz-history-invoke-restarted)",
    ),
)


def known_cause(case: dict[str, Any], expected: dict[str, Any], cause: str) -> str:
    """`cause`, prefixed with what is known about it."""
    for matches, label in KNOWN_CAUSES:
        if matches(case, expected, cause):
            return f"known: {label}: {cause}"
    return cause
