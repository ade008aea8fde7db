"""The fuzzer's minimiser: which deletions it tries."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

CONFORMANCE = Path(__file__).parent


@pytest.fixture
def minimise(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The fuzzer's minimiser, a tool run from the repository root (`python -m
    tests.conformance.fuzz.minimise`): imported with that root on the path, for this test."""
    monkeypatch.syspath_prepend(str(CONFORMANCE.parents[1]))
    return importlib.import_module("tests.conformance.fuzz.minimise")


CASE = {
    "machine": {"id": "m", "initial": "a", "states": {"a": {"entry": ["in_a"]}}},
    "steps": [{"send": {"type": "GO"}}],
}


def test_the_machine_and_the_steps_themselves_are_never_deleted(minimise: ModuleType) -> None:
    # A case that differs at its start would otherwise lose its steps key and the next round
    # would fail reading it.
    for coarse in (True, False):
        paths = minimise.candidates(CASE, coarse=coarse)
        assert ("machine",) not in paths
        assert ("steps",) not in paths
        assert ("steps", 0) in paths


def test_the_fine_pass_tries_every_key_and_element_inside(minimise: ModuleType) -> None:
    paths = minimise.candidates(CASE, coarse=False)
    assert ("machine", "states", "a", "entry", 0) in paths
    assert ("machine", "initial") in paths
    assert ("machine", "id") not in paths


def test_a_known_difference_is_kept_apart_from_an_unexplained_one(minimise: ModuleType) -> None:
    # A shrink that leaves only a deliberate difference must not pass for the unexplained
    # disagreement being minimised.
    name = "fuzz-history-invoke-restarted"
    case = json.loads((CONFORMANCE / "cases" / f"{name}.json").read_text())
    expected = json.loads((CONFORMANCE / "expected" / f"{name}.json").read_text())
    cause = minimise._cause(case, expected)
    assert cause is not None and cause.startswith("known: an invocation started under an id")
