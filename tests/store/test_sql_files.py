"""Named queries in .sql files: parsed once, each section by its header."""

from __future__ import annotations

import pytest

from statewright.store.sql_files import include_queries, parse_queries
from statewright.store.sqlite.connection import split_statements


def test_sections_are_split_by_header_and_comments_dropped() -> None:
    queries = parse_queries(
        "-- about the file\n\n-- name: one\n-- what it does, 100% sure\nSELECT 1;\n\n"
        "-- name: two\nSELECT '-- kept'\nFROM t;\n"
    )
    assert dict(queries) == {"one": "SELECT 1", "two": "SELECT '-- kept'\nFROM t"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1;\n-- name: one\nSELECT 1;", "before the first"),
        ("-- name: one\nSELECT 1;\n-- name: one\nSELECT 2;", "defined twice"),
        ("-- name: one\n-- nothing here\n", "is empty"),
    ],
)
def test_a_malformed_query_file_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_queries(text, source="queries.sql")


def test_a_script_splits_into_whole_statements() -> None:
    script = "-- c\nCREATE TABLE a (x TEXT DEFAULT ';');\nINSERT INTO a VALUES (';');\n-- end\n"
    assert list(split_statements(script)) == [
        "-- c\nCREATE TABLE a (x TEXT DEFAULT ';');",
        "INSERT INTO a VALUES (';');",
    ]
    with pytest.raises(ValueError, match="ends inside a statement"):
        list(split_statements("CREATE TABLE b (x"))


def test_a_statement_includes_named_queries_verbatim() -> None:
    queries = parse_queries("-- name: bump\nUPDATE t SET n = n + 1;\n")
    statements = parse_queries(
        "-- name: bumped\nWITH b AS ({include:bump} RETURNING n)\nSELECT n FROM b;\n"
    )
    assert dict(include_queries(statements, queries)) == {
        "bumped": "WITH b AS (UPDATE t SET n = n + 1 RETURNING n)\nSELECT n FROM b"
    }
    with pytest.raises(ValueError, match=r"\{include:missing\} names no query"):
        include_queries(parse_queries("-- name: x\nSELECT {include:missing};\n"), queries)


def test_the_quiet_fast_path_states_the_quiet_update_of_queries_sql() -> None:
    from statewright.store.postgres import PostgresStore

    quiet = PostgresStore.fast_paths["commit_quiet_transition"]
    assert PostgresStore.queries["update_instance_quiet"] in quiet


def test_both_backends_name_the_same_token_queries() -> None:
    from statewright.store.postgres import PostgresStore
    from statewright.store.sqlite import SqliteStore

    assert list(SqliteStore.token_queries) == list(PostgresStore.token_queries)
    assert {"find_token", "insert_request", "forget_requests"} <= set(SqliteStore.token_queries)
