"""A PostgreSQL store while its server is away, refuses the login, or comes back: each
operation answers within about a second, naming the cause, instead of waiting the pool's
10 s; a login refused is a lasting error naming it; and the pool connects again as soon as
the server takes connections, not at its next attempt after a growing pause."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from statewright import StoreError, StoreUnavailable
from statewright.engine import Engine
from statewright.testing.postgres import TemporaryPostgres

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[TemporaryPostgres]:
    with TemporaryPostgres() as started:
        yield started


def timed(operation: Callable[[], object]) -> tuple[float, BaseException | None]:
    began = time.monotonic()
    try:
        operation()
    except StoreError as error:
        return time.monotonic() - began, error
    return time.monotonic() - began, None


def test_while_the_server_is_away_each_operation_fails_within_about_a_second(
    server: TemporaryPostgres,
) -> None:
    with Engine.open(server.url) as engine:
        engine.store.migrate()
        engine.list()
        server.pause()
        answers = [timed(engine.list) for _ in range(6)]
        assert all(isinstance(error, StoreUnavailable) for _, error in answers), answers
        assert max(seconds for seconds, _ in answers) < 3, answers
        last = str(answers[-1][1])
        assert "cannot reach PostgreSQL" in last and "Connection refused" in last, last

        server.resume()
        began = time.monotonic()
        while timed(engine.list)[1] is not None:
            assert time.monotonic() - began < 5, "not answering 5 s after the server came back"
            time.sleep(0.1)


def test_a_server_back_after_a_long_outage_is_used_at_once(server: TemporaryPostgres) -> None:
    with Engine.open(server.url) as engine:
        engine.store.migrate()
        engine.list()
        server.pause()
        away_until = time.monotonic() + 14  # the pool's attempts: 1, 2, 4, 8 s apart
        while time.monotonic() < away_until:
            timed(engine.list)
            time.sleep(0.2)
        server.resume()
        began = time.monotonic()
        while timed(engine.list)[1] is not None:
            time.sleep(0.1)
        assert time.monotonic() - began < 3


def test_a_login_refused_while_running_is_a_lasting_error_naming_it(
    server: TemporaryPostgres,
) -> None:
    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute("CREATE ROLE app LOGIN PASSWORD 'secret'")
        admin.execute("CREATE DATABASE app OWNER app")
    hba = server.folder / "data" / "pg_hba.conf"
    hba.write_text("host all app 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    server.restart()
    url = f"postgresql://app:secret@127.0.0.1:{server.port}/app"
    with Engine.open(url) as engine:
        engine.store.migrate()
        engine.list()
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute("ALTER ROLE app PASSWORD 'rotated'")
        server.restart()  # the sessions logged in before are cut off
        answers = [timed(engine.list) for _ in range(3)]
        _, error = answers[-1]
        assert type(error) is StoreError, answers  # not an outage to wait out
        assert 'password authentication failed for user "app"' in str(error)
        assert "secret" not in str(error)
        assert max(s for s, _ in answers) < 12, answers
