"""What a database's schema is made of, read from its catalog, to compare two databases.

Structure only, never the text of the CREATE statements: a column added by ALTER TABLE must
compare equal to the same column written in schema.sql.
"""

from __future__ import annotations

import re
import sqlite3

import psycopg

Catalog = dict[str, list[tuple[object, ...]]]


def sqlite_catalog(path: str) -> Catalog:
    """Tables with their columns, keys, indexes and foreign keys; triggers and views."""
    connection = sqlite3.connect(path)
    try:
        objects = connection.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
        tables = [name for kind, name, _ in objects if kind == "table"]
        catalog: Catalog = {"objects": sorted(objects)}
        for table in tables:
            catalog[f"{table}.columns"] = sorted(
                (name, kind.upper(), notnull, default, pk)
                for _, name, kind, notnull, default, pk in connection.execute(
                    "SELECT * FROM pragma_table_info(?)", (table,)
                )
            )
            catalog[f"{table}.foreign_keys"] = sorted(
                tuple(row[2:]) for row in connection.execute(
                    "SELECT * FROM pragma_foreign_key_list(?)", (table,)
                )
            )  # fmt: skip
            indexes = []
            for _, index, unique, origin, partial in connection.execute(
                "SELECT * FROM pragma_index_list(?)", (table,)
            ):
                columns = connection.execute(
                    "SELECT name, desc, coll FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno",
                    (index,),
                ).fetchall()
                named = index if origin == "c" else origin  # autoindex names are positional
                indexes.append((named, unique, partial, tuple(columns)))
            catalog[f"{table}.indexes"] = sorted(indexes, key=repr)
        return catalog
    finally:
        connection.close()


def postgres_catalog(url: str) -> Catalog:
    """Columns, constraints, indexes and sequences of the connection's current schema."""
    with psycopg.connect(url) as connection:
        schema = connection.execute("SELECT current_schema()").fetchone()
        assert schema is not None
        name = schema[0]

        def rows(query: str) -> list[tuple[object, ...]]:
            found = connection.execute(query, {"schema": name}).fetchall()
            return sorted(
                (tuple(_unqualify(value, name) for value in row) for row in found), key=repr
            )

        return {
            "tables": rows(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_schema = %(schema)s"
            ),
            "columns": rows(
                "SELECT table_name, column_name, data_type, is_nullable, column_default, "
                "collation_name, character_maximum_length, numeric_precision "
                "FROM information_schema.columns WHERE table_schema = %(schema)s"
            ),
            "constraints": rows(
                "SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) "
                "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
                "JOIN pg_namespace ns ON ns.oid = rel.relnamespace WHERE ns.nspname = %(schema)s"
            ),
            "indexes": rows(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = %(schema)s"
            ),
            "sequences": rows(
                "SELECT sequence_name, data_type, start_value, increment, maximum_value "
                "FROM information_schema.sequences WHERE sequence_schema = %(schema)s"
            ),
            "triggers": rows(
                "SELECT event_object_table, trigger_name, action_statement "
                "FROM information_schema.triggers WHERE trigger_schema = %(schema)s"
            ),
        }


def _unqualify(value: object, schema: str) -> object:
    """Drop the schema name from catalog text, so that two schemas compare equal."""
    if isinstance(value, str):
        return re.sub(rf"\b{re.escape(schema)}\.", "", value)
    return value
