"""Store URLs: the accepted forms, their options, and clear errors for everything else."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from statewright.errors import ConfigError
from statewright.store import open_store
from statewright.store.sqlite import SqliteStore
from statewright.store.url import parse_postgres_url, parse_sqlite_url, redact_url, with_query


def test_sqlite_relative_and_absolute_paths() -> None:
    assert parse_sqlite_url("sqlite:///data/app.db").path == "data/app.db"
    assert parse_sqlite_url("sqlite:////var/lib/app.db").path == "/var/lib/app.db"
    assert parse_sqlite_url("sqlite:///my%20app.db").path == "my app.db"


def test_sqlite_options_and_defaults() -> None:
    default = parse_sqlite_url("sqlite:///app.db")
    assert (default.synchronous, default.busy_timeout_ms) == ("FULL", 5000)
    tuned = parse_sqlite_url("sqlite:///app.db?synchronous=normal&busy_timeout=250")
    assert (tuned.synchronous, tuned.busy_timeout_ms) == ("NORMAL", 250)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite://app.db", "three slashes"),
        ("sqlite:///", "no database file"),
        ("sqlite:///:memory:", "use a file"),
        ("sqlite:///app.db?synchronous=off", "synchronous='off'"),
        ("sqlite:///app.db?busy_timeout=soon", "busy_timeout='soon'"),
        ("sqlite:///app.db?journal=wal", "unknown option 'journal'"),
        ("postgresql://db/app?pool_min=5&pool_max=2", "pool_min=5 is larger than pool_max=2"),
        ("postgresql://db/app?pool_max=0", "pool_max='0'"),
        ("postgresql://db:port/app", "Port could not be cast"),
        ("mysql://db/app", "unknown scheme"),
        ("app", "unknown scheme"),
        ("db.internal/app", "unknown scheme"),
    ],
)
def test_a_bad_url_names_itself_the_reason_and_both_forms(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    message = str(caught.value)
    assert reason in message
    assert "sqlite:///relative/path.db" in message and "postgresql://user" in message


@pytest.mark.parametrize(
    ("path", "suggested", "how"),
    [
        (
            "/tmp/x/statewright.db",
            "sqlite:////tmp/x/statewright.db",
            "the path: an absolute one gives four slashes",
        ),
        ("x.db", "sqlite:///x.db", "the relative path"),
        (
            "C:\\data\\app.db",
            "sqlite:///C:\\data\\app.db",
            "the path",
        ),
        ("./data/app.sqlite3", "sqlite:///./data/app.sqlite3", "the relative path"),
        (
            "/tmp/a b?%.db",
            "sqlite:////tmp/a b%3F%25.db",
            "the path: an absolute one gives four slashes",
        ),
    ],
)
def test_a_file_path_given_as_a_url_names_its_sqlite_url(
    path: str, suggested: str, how: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(path)
    message = str(caught.value)
    assert message == (
        f"bad store URL {path!r}: a file path, not a URL; for a SQLite database in that file "
        f"use {suggested} (sqlite:/// then {how})"
    )
    assert parse_sqlite_url(suggested).path == path  # the suggestion names that very file


def test_a_home_path_is_suggested_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/ann")
    with pytest.raises(ConfigError) as caught:
        open_store("~/app.db")
    assert "use sqlite:////home/ann/app.db (" in str(caught.value)


def test_postgres_pool_options_are_taken_out_and_the_rest_goes_to_libpq() -> None:
    options = parse_postgres_url("postgres://ann@db:5433/app?pool_min=2&pool_max=4&sslmode=require")
    assert (options.pool_min, options.pool_max) == (2, 4)
    assert options.conninfo == "postgres://ann@db:5433/app?sslmode=require"
    assert parse_postgres_url("postgresql://db/app").pool_max == 10


def test_redact_url_drops_the_password_only() -> None:
    assert (
        redact_url("postgresql://ann:s3cret@db:5432/app?x=1") == "postgresql://ann@db:5432/app?x=1"
    )
    assert redact_url("postgresql://db/app?password=s3cret&sslmode=require") == (
        "postgresql://db/app?sslmode=require"
    )
    assert redact_url("sqlite:////tmp/app.db") == "sqlite:////tmp/app.db"
    with pytest.raises(ConfigError) as caught:
        open_store("postgresql://ann:s3cret@db:nope/app")
    assert "s3cret" not in str(caught.value)


def test_open_store_neither_creates_nor_migrates_the_schema(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'app.db'}?synchronous=normal")
    try:
        assert isinstance(store, SqliteStore)
        assert store.schema_version() == 0
    finally:
        store.close()


def test_urls_without_a_host_keep_their_slashes() -> None:
    assert parse_postgres_url("postgresql:///app?pool_max=3").conninfo == "postgresql:///app"
    assert redact_url("postgresql://:pw@/app?password=x") == "postgresql:///app"


def test_libpq_values_with_spaces_keep_them() -> None:
    url = "postgresql://db/app?options=-c%20statement_timeout%3D5s&application_name=night%20shift"
    assert parse_postgres_url(url + "&pool_max=3").conninfo == url


def test_libpq_options_with_spaces_reach_the_server(postgres_url: str) -> None:
    pairs = parse_qsl(urlsplit(postgres_url).query)
    url = with_query(
        postgres_url,
        [*pairs, ("options", "-c statement_timeout=4321"), ("application_name", "night shift")],
    )
    store = open_store(url)
    try:
        row = store._read_one(  # type: ignore[attr-defined]
            "SELECT current_setting('statement_timeout') AS timeout, "
            "current_setting('application_name') AS name",
            {},
            what="reading the session's settings",
        )
    finally:
        store.close()
    assert row == {"timeout": "4321ms", "name": "night shift"}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("sslmode=bogus", 'invalid sslmode value: "bogus"'),
        ("port=99999999", 'invalid port number: "99999999"'),
        ("bogus=1", 'invalid URI query parameter: "bogus"'),
    ],
)
def test_a_parameter_libpq_refuses_is_a_bad_url_on_one_line(query: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(f"postgresql://ann:s3cret@127.0.0.1:1/app?{query}")
    message = str(caught.value)
    assert message.startswith(f"bad store URL 'postgresql://ann@127.0.0.1:1/app?{query}': ")
    assert named in message
    assert "\n" not in message
    assert "s3cret" not in message
