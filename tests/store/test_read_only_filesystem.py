"""A SQLite store on a read-only filesystem is reported as that (with the remount and the
way to read it as it is), not as a permissions problem, whoever runs the command (root
too, whom permissions do not stop)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine
from statewright.errors import StoreError
from statewright.store import open_store
from tmpfs_kit import remount_read_only, small_tmpfs


def _a_store(path: Path) -> None:
    config = {"id": "door", "initial": "closed", "states": {"closed": {}}}
    with Engine.open(f"sqlite:///{path}") as engine:
        engine.register(Machine.from_config(config))
        engine.start("door", instance_id="d-1")


def test_a_store_on_a_read_only_filesystem_names_it_and_the_fix(tmp_path: Path) -> None:
    _a_store(tmp_path / "made.db")
    with small_tmpfs(tmp_path / "disk") as disk:
        shutil.copy(tmp_path / "made.db", disk / "statewright.db")
        remount_read_only(disk)
        url = f"sqlite:///{disk}/statewright.db"
        with pytest.raises(StoreError) as raised:
            open_store(url, create=False)
        message = str(raised.value)
        assert f"the filesystem mounted at {disk} is read-only" in message
        assert f"mount -o remount,rw {disk}" in message
        assert "to read it as it is" in message and "a writable folder" in message
        assert "permissions" not in message.replace("not a matter of permissions", "")

        result = CliRunner().invoke(app, ["list", "--url", url])
        assert result.exit_code == 5, result.output
        assert f"the filesystem mounted at {disk} is read-only" in result.stderr
        assert "fix the file's permissions" not in result.stderr
