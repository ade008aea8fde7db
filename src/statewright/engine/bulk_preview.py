"""What a bulk operation would do, told before it runs: which of the instances matched it
would change and which it would skip, and why (a dry run's `would_act` and `would_skip`);
and the one refusal that holds for every instance, told once up front: an event that no
definition of the instances matched has at all.

A skip is told with the reason the operation itself would refuse that instance for, as it
stands now: `not_active` (done, stopped or in error already: nothing to cancel, no event
accepted, no step to retry), `not_accepted` (its active states take no such event now),
`not_permitted` (every transition that would take the event names roles the caller holds
none of) or `no_waiting_step` (no step of it waits for a retry). A guard's answer depends on
the event's payload and the context when it runs: an instance whose transitions for the
event are all guarded is counted among those acted on, and as `guarded` besides.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from statewright.chart import Machine
from statewright.chart.accepting import transitions_taking
from statewright.chart.events import matches_descriptor
from statewright.chart.faults import few
from statewright.engine.permissions import ADMIN_ROLE
from statewright.engine.views import Instance
from statewright.engine.work_views import state_text
from statewright.errors import PayloadError

__all__ = [
    "Skip",
    "Skipped",
    "check_event_known",
    "is_guarded",
    "not_active",
    "send_skip",
    "tally",
]

#: A skip's reason and its words, as they read after a count ("3 done already").
Skip = tuple[str, str]

_STATUS_WORDS = {"done": "done already", "stopped": "stopped already", "error": "in error"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """Instances a bulk operation would leave alone, for one reason: `reason` (a code, see
    the module's docstring), `count`, and `detail`, words that read after the count ("3 done
    already", "2 not accepting APPROVE in shipped")."""

    reason: str
    count: int
    detail: str


def not_active(instance: Instance) -> Skip | None:
    """The skip of an instance that is done, stopped or in error; None if it is active."""
    if instance.status == "active":
        return None
    return "not_active", _STATUS_WORDS.get(instance.status, f"{instance.status} already")


def send_skip(instance: Instance, event_type: str, roles: Collection[str] | None) -> Skip | None:
    """Why sending `event_type` to `instance` would be refused now (None: it would be taken,
    perhaps subject to guards). `roles` as `send` takes them (None: trusted)."""
    finished = not_active(instance)
    if finished is not None:
        return finished
    takes = transitions_taking(instance.snapshot, event_type)
    if not takes:
        return "not_accepted", f"not accepting {event_type} in {state_text(instance.value)}"
    if roles is None or ADMIN_ROLE in roles:
        return None
    if any(t.roles is None or any(role in roles for role in t.roles) for t in takes):
        return None
    required = ", ".join(dict.fromkeys(role for t in takes for role in t.roles or ()))
    return "not_permitted", f"letting only the roles {required} send {event_type}"


def is_guarded(instance: Instance, event_type: str) -> bool:
    """Whether every transition that may take `event_type` has a guard (which may refuse)."""
    takes = transitions_taking(instance.snapshot, event_type)
    return bool(takes) and all(t.guard is not None for t in takes)


def tally(skips: Iterable[Skip]) -> tuple[Skipped, ...]:
    """The skips counted per reason and words, the largest group first."""
    counted = Counter(skips)
    return tuple(
        Skipped(reason=reason, count=count, detail=detail)
        for (reason, detail), count in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def check_event_known(machines: Mapping[str, Sequence[Machine]], event_type: str) -> None:
    """Refuse `event_type` if no state of any of `machines` (per definition id, its stored
    versions) has a transition for it, wildcards included; name the near miss.

    Raises:
        PayloadError: no such event in any of them.
    """
    owners: dict[str, list[str]] = {}
    for definition_id, versions in machines.items():
        for machine in versions:
            for node in machine.states:
                for descriptor in node.transitions:
                    if descriptor.startswith("xstate."):
                        continue
                    if matches_descriptor(descriptor, event_type):
                        return
                    ids = owners.setdefault(descriptor, [])
                    if definition_id not in ids:
                        ids.append(definition_id)
    if not machines:
        return
    names = sorted(d for d in owners if "*" not in d)
    several = len(machines) > 1
    if several:
        which = ", ".join(sorted(machines))
        refused = f"no definition of the instances matched ({which}) has an event {event_type!r}"
    else:
        (only,) = machines
        refused = f"definition {only!r} has no event {event_type!r} (no state of it takes one)"
    close = difflib.get_close_matches(event_type, names, n=1)
    if close:
        where = f" (in {', '.join(owners[close[0]])})" if several else ""
        fix = f'did you mean "{close[0]}"{where}?'
    elif names:
        fix = f"send one of {'their' if several else 'its'} events: {few(names)}"
    else:
        fix = "it takes no events; filter by another definition"
    raise PayloadError(f"{refused}; {fix}; nothing was sent")
