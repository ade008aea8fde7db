"""The one seam between the shared store code and a database driver: an open transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["Params", "Row", "Transaction", "params_of"]

#: One result row, by column name.
Row = dict[str, Any]
#: Named query parameters (`:name` in SQLite, `%(name)s` in PostgreSQL).
Params = Mapping[str, object]


class Transaction(Protocol):
    """One open database transaction, as the shared code sees it."""

    def one(self, sql: str, params: Params) -> Row | None:
        """Run a query; its first row, or None."""
        ...

    def all(self, sql: str, params: Params) -> list[Row]:
        """Run a query; every row."""
        ...

    def run(self, sql: str, params: Params) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    def run_many(self, sql: str, params: Sequence[Params]) -> None:
        """Run a statement once per parameter set."""
        ...

    def run_each(self, sql: str, params: Sequence[Params]) -> list[int]:
        """Run a statement once per parameter set (PostgreSQL: pipelined, without a round
        trip each); the number of rows each run changed."""
        ...

    def script(self, sql: str) -> None:
        """Run several statements without parameters (a migration)."""
        ...


def params_of(record: DataclassInstance) -> dict[str, object]:
    """A record's fields as query parameters, by field name."""
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(field.name for field in fields(record))
    return {name: getattr(record, name) for name in names}


#: Field names per record class (`dataclasses.fields` is slow on a hot path).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
