"""Opening a store safely: another application's database, a mistyped path, STATEWRIGHT_URL,
and a worker that meets a fault waiting cannot fix (one line, exit 5, nothing claimed)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import SchemaOutOfDate, StoreError, StoreUnavailable
from statewright.store import SCHEMA_VERSION, open_store
from statewright.store.url import with_query
from statewright.testing.postgres import create_schema


def test_another_applications_sqlite_file_is_refused_unless_shared(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    url = f"sqlite:///{path}"
    with pytest.raises(StoreError, match="not a statewright database") as info:
        Engine.open(url)
    assert "customers" in str(info.value) and "share=True" in str(info.value)
    with sqlite3.connect(path) as connection:
        assert [r[0] for r in connection.execute("SELECT name FROM sqlite_master")] == ["customers"]
    with Engine.open(url, share=True) as engine:
        assert engine.store.schema_version() == SCHEMA_VERSION
    with Engine.open(url) as engine:  # now it is statewright's too
        assert engine.store.foreign_tables() == []


def test_a_postgres_schema_with_other_tables_is_refused_unless_shared(postgres_url: str) -> None:
    empty_store_url = create_schema(postgres_url, f"theirs_{uuid.uuid4().hex[:12]}")
    with psycopg.connect(empty_store_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE invoices (id int PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"not a statewright database.*invoices"):
        Engine.open(empty_store_url)
    store = open_store(empty_store_url)
    try:
        assert store.schema_version() == 0
    finally:
        store.close()
    with Engine.open(empty_store_url, share=True) as engine:
        assert engine.store.schema_version() == SCHEMA_VERSION


def test_a_url_naming_a_file_that_is_no_database_says_to_check_the_url(tmp_path: Path) -> None:
    """A typo in the URL may point at another file: that comes first, before any advice to
    restore what may be no store at all; the file is left as it was."""
    other = tmp_path / "order.json"
    other.write_text('{"id": "order", "initial": "a", "states": {"a": {}}}' * 40)
    before = other.read_bytes()
    with pytest.raises(StoreError, match=r"is not a SQLite database .*; check the URL names"):
        open_store(f"sqlite:///{other}")
    assert other.read_bytes() == before


def test_a_missing_folder_is_named_and_nothing_is_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"its folder {tmp_path}/typo does not exist"):
        Engine.open(f"sqlite:///{tmp_path}/typo/app.db")
    with pytest.raises(StoreError, match="not a file"):
        Engine.open(f"sqlite:///{tmp_path}", create=False)
    with pytest.raises(StoreError, match=r"no SQLite database at .*app\.db.*fix the path"):
        Engine.open(f"sqlite:///{tmp_path}/app.db", create=False)
    assert list(tmp_path.iterdir()) == []


def test_open_without_a_url_reads_statewright_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATEWRIGHT_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with Engine.open() as engine:
        assert engine.store.url.endswith("env.db")
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("STATEWRIGHT_URL")
    with Engine.open() as engine:
        assert engine.store.url == "sqlite:///statewright.db"
    assert (tmp_path / "statewright.db").exists()


def test_check_passes_on_a_good_store(store_url: str) -> None:
    store = open_store(store_url)
    try:
        store.check()
    finally:
        store.close()


# -- a worker that cannot go on ---------------------------------------------------------------


def run_worker(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "statewright", "worker", "--url", url, "--poll", "0.05"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 5, (done.stdout, done.stderr)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, output


@pytest.mark.slow
def test_a_worker_on_an_old_schema_exits_5_naming_the_migration(old_store_url: str) -> None:
    assert_one_line(run_worker(old_store_url), "statewright db migrate")


@pytest.mark.slow
def test_a_worker_on_a_file_with_a_damaged_page_exits_5_before_claiming(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    machine = Machine.from_config(
        {
            "id": "padded",
            "initial": "a",
            "context": {"pad": "x" * 300},
            "states": {"a": {"after": {"0": "b"}}, "b": {"type": "final"}},
        }
    )
    with Engine.open(url) as engine:
        engine.register(machine)
        for index in range(300):
            engine.start("padded", instance_id=f"p-{index}")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = [row[0] for row in connection.execute(
            "SELECT pageno FROM dbstat WHERE name = 'audit' ORDER BY pageno"
        )]  # fmt: skip
    data = bytearray(path.read_bytes())
    offset = (pages[len(pages) // 2] - 1) * 4096  # one page of the audit table, in the middle
    data[offset : offset + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(data))

    assert_one_line(run_worker(url), "is damaged", "restore it from a backup")
    with sqlite3.connect(path) as connection:  # the timers' pages are intact: none was claimed
        due, claimed = connection.execute(
            "SELECT count(*), count(lease_until) FROM timers"
        ).fetchone()
    assert (due, claimed) == (300, 0)


@pytest.mark.slow
def test_a_worker_on_another_applications_file_exits_5(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "theirs.db") as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    assert_one_line(run_worker(f"sqlite:///{tmp_path / 'theirs.db'}"), "not a statewright")


@pytest.mark.slow
def test_a_worker_on_a_mistyped_path_exits_5_and_creates_nothing(tmp_path: Path) -> None:
    assert_one_line(run_worker(f"sqlite:///{tmp_path / 'typo.db'}"), "no SQLite database at")
    assert list(tmp_path.iterdir()) == []


def test_check_refuses_an_outdated_schema(old_store_url: str) -> None:
    store = open_store(old_store_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="statewright db migrate"):
            store.check()
    finally:
        store.close()


READ_ONLY = """
import os, sys
from statewright.engine import Engine
from statewright.errors import StatewrightError, StoreUnavailable
from statewright.runtime import Worker
import statewright.store.sqlite.faults

os.setgid(65534)
os.setuid(65534)  # nobody: the file is root's, readable by all, writable by root only
try:
    with Engine.open(sys.argv[1], create=False) as engine:
        Worker(engine).run(poll_ms=50)
except StoreUnavailable as error:
    print("transient", error)
except StatewrightError as error:
    print("fault", error)
"""


@pytest.mark.slow
def test_a_read_only_file_is_a_fault_naming_the_fix_not_an_outage(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the opener as another user (nobody)")
    folder = Path(tempfile.mkdtemp(prefix="statewright-ro-"))
    try:
        folder.chmod(0o755)
        url = f"sqlite:///{folder / 'ro.db'}"
        with Engine.open(url):
            pass
        (folder / "ro.db").chmod(0o644)
        done = subprocess.run(
            [sys.executable, "-c", READ_ONLY, url], capture_output=True, text=True, timeout=60
        )
        assert done.stdout.startswith("fault "), done.stdout + done.stderr
        assert "is read-only for this user" in done.stdout
        assert "writable for the user running statewright" in done.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_a_worker_on_a_postgres_database_that_does_not_exist_exits_5(postgres_url: str) -> None:
    missing = postgres_url.rpartition("/")[0] + "/no_such_database"
    done = run_worker(missing)
    assert_one_line(done, 'database "no_such_database" does not exist')


def test_a_server_without_ssl_asked_for_ssl_is_refused_not_waited_for(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        ssl = connection.execute("SHOW ssl").fetchone()
    if ssl != ("off",):  # pragma: no cover - a server given by STATEWRIGHT_TEST_POSTGRES_URL
        pytest.skip("the test server speaks SSL")
    pairs = parse_qsl(urlsplit(postgres_url).query)
    url = with_query(postgres_url, [*pairs, ("sslmode", "require")])
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert not isinstance(caught.value, StoreUnavailable)  # waiting cannot fix it
    assert "server does not support SSL, but SSL was required" in str(caught.value)
