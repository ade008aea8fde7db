"""Refusing a business state or a tag that no definition has: misspelt, such a filter would
match no instance and say nothing (and a bulk operation would act on none).

The near miss is looked for in every definition given, and named with the definitions that
have it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from statewright.chart import Machine
from statewright.chart.faults import few
from statewright.errors import PayloadError

__all__ = ["check_state", "check_tag"]


def check_state(machines: Sequence[Machine], state: str) -> None:
    """Refuse a state path (`review.legal`) that none of `machines` has, naming the near miss.

    Raises:
        PayloadError: no such state.
    """
    owners = _owners(
        (machine.id, ".".join(node.state_path))
        for machine in machines
        for node in machine.states
        if node.state_path
    )
    if state in owners:
        return
    several = len({machine.id for machine in machines}) != 1
    if not several:
        known = "its states are " + ", ".join(sorted(owners))
        refused = f"definition {machines[0].id!r} has no state {state!r}"
    else:
        known = f"the states are {few(owners)}" if owners else "no definition is registered"
        refused = f"no definition has a state {state!r}"
    raise PayloadError(f"{refused}; {_near_miss(state, owners, several, known)}")


def check_tag(machines: Sequence[Machine], tag: str) -> None:
    """Refuse a tag that none of `machines` declares on a state, naming the near miss.

    Raises:
        PayloadError: no such tag.
    """
    owners = _owners(
        (machine.id, name) for machine in machines for node in machine.states for name in node.tags
    )
    if tag in owners:
        return
    several = len({machine.id for machine in machines}) != 1
    if not several:
        known = f"its tags are {few(owners)}" if owners else "it declares none"
        refused = f"definition {machines[0].id!r} declares no tag {tag!r}"
    else:
        known = f"the tags are {few(owners)}" if owners else "no definition declares any"
        refused = f"no definition declares a tag {tag!r}"
    raise PayloadError(f"{refused}; {_near_miss(tag, owners, several, known)}")


def _owners(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Each name, with the ids of the definitions that have it (each once, in order)."""
    owners: dict[str, list[str]] = {}
    for definition_id, name in pairs:
        ids = owners.setdefault(name, [])
        if definition_id not in ids:
            ids.append(definition_id)
    return owners


def _near_miss(word: str, owners: dict[str, list[str]], several: bool, known: str) -> str:
    """`did you mean "x"?`, with the definitions that have it when `several` were looked in;
    else `known`."""
    close = difflib.get_close_matches(word, sorted(owners), n=1)
    if not close:
        return known
    where = f" (in {', '.join(owners[close[0]])})" if several else ""
    return f'did you mean "{close[0]}"{where}?'
