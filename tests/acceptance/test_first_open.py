"""Four processes open an empty database at the same moment: every one of them succeeds.

The schema is created in one transaction under the migration lock, so the others wait for
it and then find it whole (before, some met a half-made schema and failed with
SchemaOutOfDate). Real processes on each backend, released together by a file that
appears (a few milliseconds apart, so that some come while the first creates the schema);
STATEWRIGHT_FIRST_OPEN_ROUNDS (default 2) repeats it on fresh databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from statewright.engine import Engine
from statewright.store import SCHEMA_VERSION
from statewright.testing.postgres import create_schema, drop_schema

ROUNDS = int(os.environ.get("STATEWRIGHT_FIRST_OPEN_ROUNDS", "2"))
PROCESSES = 4
#: How far apart the openers arrive, by round.
STAGGERS_S = (0.003, 0.0, 0.01)

pytestmark = pytest.mark.slow

OPENER = """
import os, sys, time
from statewright import Machine
from statewright.engine import Engine

url, go, name, delay = sys.argv[1:]
while not os.path.exists(go):
    time.sleep(0.001)
time.sleep(float(delay))
with Engine.open(url) as engine:
    engine.register(Machine.from_config({"id": "first", "initial": "a", "states": {"a": {}}}))
    engine.start("first", instance_id=name)
    print("opened", engine.store.schema_version(), flush=True)
"""


def open_at_once(
    url: str, folder: Path, stagger_s: float
) -> list[subprocess.CompletedProcess[str]]:
    """Start the openers, release them together, the n-th `n * stagger_s` after the first
    (so that some arrive while the first is creating the schema); how each ended."""
    go = folder / f"go-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, url, str(go), f"p-{index}", str(index * stagger_s)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for index in range(PROCESSES)
    ]
    time.sleep(1.0)  # every one imported statewright and waits for the go
    go.touch()
    done = []
    for opener in openers:
        out, err = opener.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(opener.args, opener.returncode, out, err))
    return done


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_four_processes_open_an_empty_database_at_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    opened = 0
    for round_ in range(ROUNDS):
        schema = f"first_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'first-{round_}.db'}"
        else:
            base: str = request.getfixturevalue("postgres_url")
            url = create_schema(base, schema)
        try:
            for result in open_at_once(url, tmp_path, STAGGERS_S[round_ % len(STAGGERS_S)]):
                assert result.returncode == 0, result.stderr
                assert result.stdout.split() == ["opened", str(SCHEMA_VERSION)]
                opened += 1
            with Engine.open(url) as engine:
                assert {i.id for i in engine.list()} == {f"p-{n}" for n in range(PROCESSES)}
        finally:
            if backend == "postgres":
                drop_schema(base, schema)
    print(f"\n{backend}: {ROUNDS} rounds, {opened} of {ROUNDS * PROCESSES} processes opened")
