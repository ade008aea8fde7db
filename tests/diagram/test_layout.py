"""The computed layout of every example and of random definitions: no two state boxes overlap
unless one contains the other, every label lies inside the drawing, every transition has an
edge and its label. Laid out by statechart.js itself, in the embedded V8 (mini-racer).

`STATEWRIGHT_DIAGRAM_EXAMPLES` sets how many random definitions (default 20).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from diagram_geometry import layout_faults
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_model import CHART

from statewright.chart import Machine
from statewright.diagram import diagram_model, layout_model
from statewright.diagram.render import RUNTIME_ENV

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted(ROOT.glob("examples/*/*.json"))
DEFINITIONS = [path for path in EXAMPLES if "states" in json.loads(path.read_text())]
RANDOM_EXAMPLES = int(os.environ.get("STATEWRIGHT_DIAGRAM_EXAMPLES", "20"))


def test_the_examples_are_found() -> None:
    assert {p.parent.name for p in DEFINITIONS} == {"order", "approval", "intake"}


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.parent.name)
def test_every_example_lays_out_cleanly(path: Path) -> None:
    model = diagram_model(Machine.from_config(json.loads(path.read_text())))
    layout = layout_model(model)
    assert layout_faults(dict(model), layout) == []
    assert len(layout["edges"]) >= len(model["transitions"])


@pytest.mark.parametrize(
    "chart",
    [
        CHART,  # self, to ancestors and descendants, across regions, history, root edges
        {"id": "r", "on": {"PING": {"target": "#r", "reenter": True}}},  # the root alone
    ],
    ids=["every-edge", "root-only"],
)
def test_every_kind_of_edge_lays_out_cleanly(chart: dict[str, Any]) -> None:
    model = diagram_model(Machine.from_config(chart))
    assert layout_faults(dict(model), layout_model(model)) == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_node_and_the_embedded_v8_give_the_same_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    model = diagram_model(Machine.from_config(json.loads(DEFINITIONS[-1].read_text())))
    embedded = layout_model(model)
    monkeypatch.setenv(RUNTIME_ENV, "node")
    assert layout_model(model) == embedded


def test_the_geometry_check_catches_overlaps_and_missing_edges() -> None:
    model = diagram_model(
        Machine.from_config(
            {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "b"}}, "b": {}}}
        )
    )
    layout = layout_model(model)
    assert layout_faults(dict(model), layout) == []
    broken = json.loads(json.dumps(layout))
    broken["states"]["m.b"] = dict(broken["states"]["m.a"])
    broken["edges"] = [e for e in broken["edges"] if e["transition"] is None]
    faults = layout_faults(dict(model), broken)
    assert any("overlaps" in f for f in faults) and any("has no edge" in f for f in faults)
    broken = json.loads(json.dumps(layout))
    next(e for e in broken["edges"] if e["label"])["label"]["x"] = layout["width"] + 5
    assert any("leaves the drawing" in f for f in layout_faults(dict(model), broken))


# -- random definitions -------------------------------------------------------------------------

EVENTS = ("GO", "NEXT", "BACK", "PING", "RESET")
GUARDS = ("context.n > 1", "context.ok")
DELAYS = ("1s", "48h", "500")


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid machine: nested compound and parallel states, finals, histories, and
    transitions between arbitrary states (to ancestors, descendants, itself), with guards,
    `after`, `always`, `onDone` and targetless ones."""
    paths: list[tuple[str, ...]] = []
    configs: dict[tuple[str, ...], dict[str, Any]] = {}
    leaves_left = [draw(st.integers(4, 14))]

    def build(path: tuple[str, ...], kind: str, depth: int) -> dict[str, Any]:
        config: dict[str, Any] = {}
        configs[path] = config
        paths.append(path)
        if kind in ("final", "atomic", "history"):
            if kind != "atomic":
                config["type"] = kind
            if kind == "history" and draw(st.booleans()):
                config["history"] = "deep"
            leaves_left[0] -= 1
            return config
        if kind == "parallel":
            config["type"] = "parallel"
        count = draw(st.integers(2, 3))
        states: dict[str, Any] = {}
        for i in range(count):
            if kind == "parallel":
                child_kind = "compound"
            elif depth >= 3 or leaves_left[0] <= 0:
                child_kind = "final" if i == count - 1 and draw(st.booleans()) else "atomic"
            else:
                options = ["atomic", "atomic", "compound", "parallel", "final"]
                if i > 0:
                    options.append("history")
                child_kind = draw(st.sampled_from(options))
                if i == 0 and child_kind in ("final", "history"):
                    child_kind = "atomic"
            name = f"s{len(paths)}"
            states[name] = build((*path, name), child_kind, depth + 1)
        config["states"] = states
        if kind == "compound":
            config["initial"] = next(iter(states))
        return config

    root = build((), draw(st.sampled_from(["compound", "compound", "parallel"])), 0)
    root["id"] = "m"
    root["context"] = {"n": 0, "ok": True}
    sources = [p for p in paths if configs[p].get("type") not in ("final", "history")]
    for _ in range(draw(st.integers(1, 12))):
        source = draw(st.sampled_from(sources))
        config = configs[source]
        target = draw(st.sampled_from([*paths[1:], None]))
        transition: dict[str, Any] = {}
        if target is not None:
            transition["target"] = "#" + ".".join(("m", *target))
        else:
            transition["actions"] = [{"type": "assign", "params": {"n": 1}}]
        if draw(st.booleans()):
            transition["guard"] = {"$expr": draw(st.sampled_from(GUARDS))}
        how = draw(st.sampled_from(["on", "on", "after", "always", "done"]))
        if how == "on":
            config.setdefault("on", {})[draw(st.sampled_from(EVENTS))] = transition
        elif how == "after":
            config.setdefault("after", {})[draw(st.sampled_from(DELAYS))] = transition
        elif how == "always" and "guard" in transition:
            config.setdefault("always", []).append(transition)
        elif how == "done" and "states" in config and source:
            config["onDone"] = transition
        else:
            config.setdefault("on", {})["PING"] = transition
    return root


@settings(
    max_examples=RANDOM_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(definitions())
def test_random_definitions_lay_out_cleanly(definition: dict[str, Any]) -> None:
    model = diagram_model(Machine.from_config(definition))
    layout = layout_model(model)
    faults = layout_faults(dict(model), layout)
    assert faults == [], json.dumps(definition)
