"""Property: on random charts, `paths` reaches every state a random walk reaches.

The charts are those of tests/chart/test_properties.py (compound, parallel, final and history
states; guarded, re-entering and eventless transitions; a counter in the context), some states
given an `after` timer. The walk runs on an in-memory Actor: random events (handled or not)
and random clock advances, so timers fire as they would in a test. Every snapshot it passes
through must be among the states `paths` found (keyed by value, context, status and history),
and the path found to it must replay to the same state.

STATEWRIGHT_PATHS_EXAMPLES sets the number of random charts (default 60; 400 takes minutes).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path as FilePath
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from statewright.errors import PathError
from statewright.testing import Actor, paths
from statewright.testing.path_options import state_key

EXAMPLES = int(os.environ.get("STATEWRIGHT_PATHS_EXAMPLES", "60"))


def _load_chart_properties() -> ModuleType:
    path = FilePath(__file__).parents[1] / "chart" / "test_properties.py"
    spec = importlib.util.spec_from_file_location("chart_properties_strategies", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chart = _load_chart_properties()


@st.composite
def timed_machines(draw: st.DrawFn) -> dict[str, Any]:
    """A random chart, with an `after` transition on some of its states."""
    config: dict[str, Any] = draw(chart.machines())
    state_paths = chart.all_paths(config)
    targets = ["#m." + ".".join(p) for p in state_paths]
    for path in state_paths:
        node = chart._node_at(config, path)
        if node.get("type") not in ("final", "history") and draw(st.integers(0, 3)) == 0:
            delay = draw(st.sampled_from(["100", "250"]))
            node["after"] = {delay: {"target": draw(st.sampled_from(targets))}}
    return config


steps = st.lists(
    st.one_of(
        st.sampled_from(chart.EVENTS).map(lambda event: ("send", event)),
        st.sampled_from([50, 100, 250, 400]).map(lambda ms: ("advance", ms)),
    ),
    max_size=14,
)


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=timed_machines(), walk=steps)
def test_paths_reach_every_state_a_random_walk_reaches(
    config: dict[str, Any], walk: list[tuple[str, Any]]
) -> None:
    machine = chart.build(config, [])
    key = state_key("full")
    try:
        found = {key(path.snapshot): path for path in paths(machine)}
    except PathError:
        # Deep parallel charts with histories can have more states than the limit; the
        # limit's own behaviour is tested in test_paths.py.
        assume(False)
    actor = Actor(machine).start()
    seen = [actor.snapshot]
    for kind, argument in walk:
        if kind == "send":
            seen.append(actor.send({"type": argument}))
        else:
            seen.append(actor.advance(argument))
    for snapshot in seen:
        assert key(snapshot) in found, (snapshot, sorted(found))
    # The path found to the last state replays to it.
    path = found[key(seen[-1])]
    assert key(path.run(Actor(machine))) == key(seen[-1])
