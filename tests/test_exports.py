"""The public surface is `__all__`: complete and sorted."""

from __future__ import annotations

import types

import pytest

import statewright
import statewright.chart
import statewright.engine
import statewright.runtime
import statewright.testing


@pytest.mark.parametrize(
    "module",
    [statewright, statewright.chart, statewright.engine, statewright.runtime, statewright.testing],
)
def test_all_is_sorted_and_complete(module: types.ModuleType) -> None:
    exported = module.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", module.__name__).startswith("statewright")
    }
    assert public - set(exported) == set()
    for name in exported:
        assert hasattr(module, name)


def test_engine_and_runtime_names_load_on_first_use() -> None:
    """`import statewright` loads the core only; the engine's names come with first use."""
    import subprocess
    import sys

    code = (
        "import sys, statewright\n"
        "assert not [m for m in sys.modules if m.startswith(('statewright.store', "
        "'statewright.engine', 'statewright.runtime'))], 'the core imported the store'\n"
        "from statewright import Engine, Worker\n"
        "from statewright.engine import Engine as E\n"
        "from statewright.runtime import Worker as W\n"
        "assert Engine is E and Worker is W\n"
        "try:\n"
        "    statewright.Nope\n"
        "except AttributeError as error:\n"
        "    assert 'Nope' in str(error)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_engine_opens_from_the_top_level(tmp_path: object) -> None:
    engine = statewright.Engine.open(f"sqlite:///{tmp_path}/app.db")
    try:
        engine.register(
            statewright.Machine.from_config(
                {
                    "id": "light",
                    "initial": "on",
                    "states": {"on": {"on": {"OFF": "off"}}, "off": {}},
                }
            )
        )
        started = engine.start("light", instance_id="l1")
        with pytest.raises(statewright.VersionConflict):
            engine.send("l1", {"type": "OFF"}, expected_version=started.version + 1)
        assert engine.send("l1", {"type": "OFF"}).to_value == "off"
    finally:
        engine.close()


def test_send_many_takes_requests_from_the_public_engine_module(tmp_path: object) -> None:
    """`Engine.send_many` takes `SendRequest`s: a user imports them where the engine is."""
    from statewright.engine import SendRequest

    with statewright.Engine.open(f"sqlite:///{tmp_path}/app.db") as engine:
        engine.register(
            {"id": "light", "initial": "on", "states": {"on": {"on": {"OFF": "off"}}, "off": {}}}
        )
        engine.start("light", instance_id="l1")
        outcomes = engine.send_many([SendRequest("l1", "OFF"), SendRequest("l2", "OFF")])
    assert isinstance(outcomes[0], statewright.AuditEntry)
    assert outcomes[0].to_value == "off"
    assert isinstance(outcomes[1], statewright.NotFound)
