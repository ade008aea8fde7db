"""The public surface is `__all__`: complete and sorted."""

from __future__ import annotations

import types

import pytest

import statewright
import statewright.chart
import statewright.runtime
import statewright.testing


@pytest.mark.parametrize(
    "module", [statewright, statewright.chart, statewright.runtime, statewright.testing]
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
