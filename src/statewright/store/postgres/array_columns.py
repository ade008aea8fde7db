"""Binary dumpers for the column arrays of `commit_quiet_group` (the `...Column` lists of
`fast_params`).

psycopg dumps a Python list as an array by looking at its elements (which dumper, which
element type, how many dimensions) and then dumping each one through the general machinery:
for the statement's 19 columns of a group of 8 writes, about 180 µs of the interpreter's
time in all (61 with these), which the group's senders wait for. The store knows each
column's type, so these build PostgreSQL's binary array format directly: a header (one
dimension, whether any element is NULL, the element type, the length, lower bound 1), then
each element as its length and bytes (length -1 for NULL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from struct import Struct
from typing import Any

from psycopg import DataError
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.pq import Format

from statewright.store.fast_params import BigintColumn, BooleanColumn, IntegerColumn, TextColumn

__all__ = ["register_column_dumpers"]

_HEADER = Struct("!5i").pack  # dimensions, has NULLs, element type, length, lower bound
_LENGTH = Struct("!i").pack
_NULL = _LENGTH(-1)


def _array(element_oid: int, items: list[Any], parts: Iterable[bytes], nulls: bool) -> bytes:
    return _HEADER(1, nulls, element_oid, len(items), 1) + b"".join(parts)


class _TextColumnDumper(Dumper):
    format = Format.BINARY
    oid = 1009  # text[]

    def dump(self, obj: Any) -> bytes:
        try:
            if None in obj:
                parts = [_NULL if item is None else _text(item) for item in obj]
                return _array(25, obj, parts, True)
            return _array(25, obj, map(_text, obj), False)
        except Exception as error:  # not a string, or not encodable as UTF-8
            raise _misfit(error) from None


def _text(item: str) -> bytes:
    data = item.encode()
    return _LENGTH(len(data)) + data


def _fixed(array_oid: int, element_oid: int, pack: Callable[..., bytes], size: int) -> type[Dumper]:
    """A dumper of a column of fixed-size values, none NULL."""

    class FixedColumnDumper(Dumper):
        format = Format.BINARY
        oid = array_oid

        def dump(self, obj: Any) -> bytes:
            try:
                return _array(element_oid, obj, [pack(size, item) for item in obj], False)
            except Exception as error:  # out of range, or not a number
                raise _misfit(error) from None

    return FixedColumnDumper


def _misfit(error: Exception) -> DataError:
    return DataError(f"a column of the group does not fit its type: {error}")


_COLUMN_DUMPERS: dict[type, type[Dumper]] = {
    TextColumn: _TextColumnDumper,
    IntegerColumn: _fixed(1007, 23, Struct("!ii").pack, 4),  # integer[]
    BigintColumn: _fixed(1016, 20, Struct("!iq").pack, 8),  # bigint[]
    BooleanColumn: _fixed(1000, 16, Struct("!i?").pack, 1),  # boolean[]
}


def register_column_dumpers(adapters: AdaptersMap) -> None:
    """Dump the `fast_params` column types with these dumpers on `adapters`."""
    for column, dumper in _COLUMN_DUMPERS.items():
        adapters.register_dumper(column, dumper)
