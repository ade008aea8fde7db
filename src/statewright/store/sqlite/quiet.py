"""The statements of a quiet transition on SQLite, with positional parameters.

A quiet transition (`fast_params.is_quiet`: no work written, consumed or dropped, status,
definition and runtime status kept) is the commonest write there is, and on SQLite its cost
is mostly the calls around two statements: so they take their values as tuples read off the
write by `operator.attrgetter` (one C call each), not as dicts whose every name `sqlite3`
looks up and converts per statement. The statements are those of `queries.sql`
(`update_instance_quiet`, `update_instance_quiet_same_value`, `insert_audit`), their
`:name` parameters numbered here (`?1`, `?2`, ...), so that the SQL is stated once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from operator import attrgetter

from statewright.store.records import AuditRecord, TransitionWrite

__all__ = ["QuietStatements", "numbered"]

#: The quiet update's parameters, each with where its value is in a `TransitionWrite`.
UPDATE_VALUES: Mapping[str, str] = {
    "tenant": "tenant",
    "id": "instance_id",
    "expected_version": "expected_version",
    "version": "audit.seq",
    "snapshot": "instance.snapshot",
    "value": "instance.value",
    "status": "instance.status",
    "definition_id": "definition_id",
    "definition_version": "definition_version",
    "at": "audit.at",
}
#: The audit insert's parameters: the fields of `AuditRecord`, in their order.
AUDIT_VALUES: tuple[str, ...] = tuple(field.name for field in fields(AuditRecord))

_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def numbered(sql: str, names: Sequence[str]) -> str:
    """`sql` with each `:name` parameter replaced by `?N`, N its place in `names` from 1.

    Raises:
        ValueError: `sql` uses a parameter not in `names`, or leaves one of them unused
            (`sqlite3` wants exactly as many values as the largest N).
    """
    places = {name: index for index, name in enumerate(names, start=1)}
    used: set[str] = set()

    def place(match: re.Match[str]) -> str:
        name = match[1]
        if name not in places:
            raise ValueError(f"parameter :{name} is not one of {', '.join(names)}")
        used.add(name)
        return f"?{places[name]}"

    text = _PARAMETER.sub(place, sql)
    if unused := [name for name in names if name not in used]:
        raise ValueError(f"the statement does not use {', '.join(unused)}")
    return text


class QuietStatements:
    """The quiet transition's SQL with numbered parameters, and the tuples of its values.

    Attributes:
        update: `update_instance_quiet`, which sets the state value.
        update_same_value: `update_instance_quiet_same_value`, for a write whose value is
            the one it comes from (it checks the value instead of setting it).
        insert_audit: `insert_audit`.
        update_values: a write's values for either update, in their order.
        audit_values: an audit record's values for `insert_audit`, in their order.
    """

    __slots__ = ("audit_values", "insert_audit", "update", "update_same_value", "update_values")

    def __init__(self, queries: Mapping[str, str]) -> None:
        names = tuple(UPDATE_VALUES)
        self.update = numbered(queries["update_instance_quiet"], names)
        self.update_same_value = numbered(queries["update_instance_quiet_same_value"], names)
        self.insert_audit = numbered(queries["insert_audit"], AUDIT_VALUES)
        self.update_values: Callable[[TransitionWrite], tuple[object, ...]] = attrgetter(
            *UPDATE_VALUES.values()
        )
        self.audit_values: Callable[[AuditRecord], tuple[object, ...]] = attrgetter(*AUDIT_VALUES)
