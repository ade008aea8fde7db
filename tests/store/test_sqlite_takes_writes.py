"""Readiness and writes when a SQLite store cannot take writes: its file deleted or replaced
under a running process (a write into the unlinked file would be acknowledged and lost), or
its disk full (the last lasting failure is reported until a write succeeds)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import StoreError, StoreUnavailable
from statewright.store.sqlite import store as sqlite_store
from tmpfs_kit import small_tmpfs

CONFIG = {
    "id": "door",
    "initial": "closed",
    "states": {"closed": {"on": {"OPEN": "opened"}}, "opened": {"on": {"CLOSE": "closed"}}},
}


def _open(path: Path) -> Engine:
    engine = Engine.open(f"sqlite:///{path}")
    engine.register(Machine.from_config(CONFIG))
    return engine


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.fixture
def every_write_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look at the file before every write rather than once a second."""
    monkeypatch.setattr(sqlite_store, "FILE_RECHECK_S", 0.0, raising=False)


def test_a_deleted_file_makes_the_store_not_ready_and_refuses_writes(
    tmp_path: Path, every_write_looks: None
) -> None:
    path = tmp_path / "app.db"
    with _open(path) as engine:
        engine.start("door", instance_id="d-1")
        engine.ready()
        _remove(path)
        with pytest.raises(StoreError, match="was deleted while this process had it open") as e:
            engine.ready()
        assert str(path) in str(e.value) and "restart this process" in str(e.value)
        with pytest.raises(StoreError, match="was deleted"):
            engine.start("door", instance_id="d-2")
        with pytest.raises(StoreError, match="was deleted"):
            engine.send("d-1", "OPEN")
    assert not path.exists()  # no new, empty database made at the path either


def test_a_replaced_file_makes_the_store_not_ready_and_refuses_writes(
    tmp_path: Path, every_write_looks: None
) -> None:
    path = tmp_path / "app.db"
    with _open(path) as engine:
        engine.start("door", instance_id="d-1")
        copy = tmp_path / "copy.db"
        with engine.store._pool.connection() as connection:  # type: ignore[attr-defined]
            connection.execute(f"VACUUM INTO '{copy}'")
        os.replace(copy, path)
        with pytest.raises(StoreError, match="was replaced by another file"):
            engine.ready()
        with pytest.raises(StoreError, match="replaced"):
            engine.start("door", instance_id="d-2")
    with _open(path) as engine:  # a new process uses the file now at the path
        engine.ready()
        assert engine.get("d-1").value == "closed"
        engine.start("door", instance_id="d-2")


def test_a_deleted_file_is_seen_within_a_second_without_a_stat_per_write(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with _open(path) as engine:
        engine.start("door", instance_id="d-1")
        _remove(path)
        store = engine.store
        store._file_check_at = 0.0  # type: ignore[attr-defined]  # the second has passed
        with pytest.raises(StoreError, match="was deleted"):
            engine.start("door", instance_id="d-2")


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:
        pass  # no space left
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_makes_the_store_not_ready_until_a_write_succeeds(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        path = disk / "app.db"
        engine = _open(path)
        try:
            engine.start("door", instance_id="d-0")
            filler = _fill(disk)
            big = {"blob": "x" * 60_000}
            with pytest.raises(StoreUnavailable, match="is full"):
                for number in range(40):
                    engine.start("door", instance_id=f"d-{number + 1}", input=big)
            with pytest.raises(StoreUnavailable, match="the store takes no writes") as e:
                engine.ready()
            assert "free space on that disk" in str(e.value) and "s ago" in str(e.value)
            filler.unlink()
            engine.ready()  # its own small write succeeds: ready again
            engine.start("door", instance_id="d-after", input=big)
        finally:
            engine.close()
