"""Definitions nested past any real chart are refused with a fault, not a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

from statewright import DefinitionError, Machine
from statewright.chart.load import MAX_DEFINITION_DEPTH


def nested_states(levels: int) -> dict[str, object]:
    node: dict[str, object] = {}
    for _ in range(levels):
        node = {"initial": "s", "states": {"s": node}}
    return {"id": "m", **node}


def test_states_nested_1500_deep_are_a_fault() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(nested_states(1500))
    (fault,) = info.value.faults
    assert (
        fault.message
        == f"the definition nests objects and arrays deeper than {MAX_DEFINITION_DEPTH} levels"
    )
    assert fault.path.startswith("states.s.states.s")
    assert "flatten it" in fault.fix


def test_data_nested_1500_deep_is_a_fault() -> None:
    context: list[object] = []
    inner = context
    for _ in range(1500):
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    config = {"id": "m", "initial": "a", "context": {"deep": context}, "states": {"a": {}}}
    with pytest.raises(DefinitionError, match="deeper than"):
        Machine.from_config(config)


def test_a_config_that_contains_itself_is_a_fault() -> None:
    config: dict[str, object] = {"id": "m", "initial": "a", "states": {"a": {}}}
    config["meta"] = config
    with pytest.raises(DefinitionError, match="deeper than"):
        Machine.from_config(config)


def test_states_nested_within_the_limit_run() -> None:
    levels = MAX_DEFINITION_DEPTH // 2 - 1
    machine = Machine.from_config(nested_states(levels))
    snapshot = machine.initial_transition().snapshot
    assert len(snapshot.configuration) == levels + 1


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_file_nested_1500_deep_is_a_fault(tmp_path: Path, suffix: str) -> None:
    deep = "[" * 1500 + "]" * 1500
    path = tmp_path / f"deep{suffix}"
    path.write_text(
        '{"id": "m", "initial": "a", "context": {"d": ' + deep + '}, "states": {"a": {}}}'
    )
    with pytest.raises(DefinitionError) as info:
        Machine.load(path)
    (fault,) = info.value.faults
    assert fault.path == str(path)
    assert fault.message == "objects and arrays are nested too deeply to read"
