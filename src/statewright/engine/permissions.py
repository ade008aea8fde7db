"""Per-event permissions: a transition may name who may send the event that takes it
(`"statewright": {"roles": ["approver"]}` on the transition in the definition).

The engine checks them for callers that say which roles they hold (the HTTP API passes its
token's; a Python caller that passes none is trusted, as it can open the database anyway).
The check runs on the transition the event actually takes, decided on the version that is
committed (a send that loses a race is decided, and checked, again): a refused event writes
nothing. `admin` may send every event; any other role only where a transition names it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from statewright.chart import Macrostep
from statewright.errors import NotPermitted

__all__ = ["ADMIN_ROLE", "check_roles"]

#: The role that may send every event, whatever roles the transitions name.
ADMIN_ROLE = "admin"


def check_roles(
    instance_id: str,
    step: Macrostep,
    event: Mapping[str, object],
    roles: Collection[str] | None,
) -> None:
    """Refuse the event if a transition it selected names roles the caller holds none of.

    Only the transitions the event itself selected are checked: eventless transitions that
    follow, and the runtime's own events, belong to nobody.

    Raises:
        NotPermitted: naming the event, the roles that may send it and the caller's.
    """
    if roles is None or ADMIN_ROLE in roles or not step.selected:
        return
    (first, *_) = step.microsteps
    for transition in first.transitions:
        required = transition.roles
        if required is None or any(role in roles for role in required):
            continue
        held = ", ".join(sorted(roles)) or "none"
        raise NotPermitted(
            f"{instance_id}: {event['type']!r} may be sent here only by the roles "
            f"{', '.join(required)} (its transition at {transition.path}); the caller holds "
            f"{held}; use a token that has one of those roles",
            instance_id=instance_id,
            event=str(event["type"]),
            required=required,
        )
