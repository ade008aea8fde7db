"""`commit_quiet_group`'s columns, dumped by `array_columns.py` in PostgreSQL's binary array
format, reach the server as the values they hold, NULLs and all, and a value that does not
fit its column's type is refused before anything is sent."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.adapt import PyFormat, Transformer

from statewright.store import open_store
from statewright.store.fast_params import BigintColumn, BooleanColumn, IntegerColumn, TextColumn
from statewright.store.postgres import array_columns
from statewright.store.postgres.array_columns import register_column_dumpers


@pytest.fixture
def connection(postgres_url: str) -> psycopg.Connection[tuple[object, ...]]:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        register_column_dumpers(connection.adapters)
        yield connection


TEXTS = ["default", "", "ünïcödé ✓ 🦜", '{"a":"b\\"c"}', "line\nbreak\ttab", "x" * 5000]


@pytest.mark.parametrize(
    ("column", "cast"),
    [
        (TextColumn(TEXTS), "text[]"),
        (TextColumn([None, "a", None]), "text[]"),
        (TextColumn([]), "text[]"),
        (IntegerColumn([0, 1, -1, 2**31 - 1, -(2**31)]), "integer[]"),
        (BigintColumn([0, 1_796_457_103_763, 2**63 - 1, -(2**63)]), "bigint[]"),
        (BooleanColumn([True, False, True]), "boolean[]"),
    ],
)
def test_a_column_reaches_the_server_as_its_values(
    connection: psycopg.Connection[tuple[object, ...]], column: list[object], cast: str
) -> None:
    row = connection.execute(
        f"SELECT %(column)b::{cast}, cardinality(%(column)b::{cast})", {"column": column}
    ).fetchone()
    assert row is not None
    assert row[0] == list(column)
    assert row[1] == len(column)


def test_each_element_is_its_own_row_of_unnest(
    connection: psycopg.Connection[tuple[object, ...]],
) -> None:
    rows = connection.execute(
        "SELECT * FROM unnest(%(t)b::text[], %(i)b::integer[], %(b)b::boolean[])",
        {
            "t": TextColumn(["a", None]),
            "i": IntegerColumn([7, 8]),
            "b": BooleanColumn([True, False]),
        },
    ).fetchall()
    assert rows == [("a", 7, True), (None, 8, False)]


@pytest.mark.parametrize(
    "column",
    [
        IntegerColumn([1, 2**31]),
        BigintColumn([2**63]),
        IntegerColumn([1, "2"]),  # type: ignore[list-item]
        TextColumn(["a", 1]),  # type: ignore[list-item]
        TextColumn(["a", "\ud800"]),  # a lone surrogate: no UTF-8 for it
    ],
)
def test_a_value_that_does_not_fit_its_column_is_refused(
    connection: psycopg.Connection[tuple[object, ...]], column: list[object]
) -> None:
    cast = {BigintColumn: "bigint[]", TextColumn: "text[]"}.get(type(column), "integer[]")
    with pytest.raises(psycopg.DataError, match="does not fit its type"):
        connection.execute(f"SELECT %(column)b::{cast}", {"column": column})


def test_the_stores_connections_dump_columns_so(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        with store._pool.connection() as pooled:  # type: ignore[attr-defined]
            for column in (TextColumn, IntegerColumn, BigintColumn, BooleanColumn):
                dumper = Transformer(pooled).get_dumper(column([]), PyFormat.BINARY)
                assert type(dumper).__module__ == array_columns.__name__, column
    finally:
        store.close()
