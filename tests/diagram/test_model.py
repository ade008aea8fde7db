"""The diagram model: states as a tree in document order, transition labels, and the state
each edge is drawn in (the lowest common ancestor of its ends, by ELK's rule)."""

from __future__ import annotations

from typing import Any

from statewright.chart import Machine
from statewright.diagram import diagram_model

CHART: dict[str, Any] = {
    "id": "m",
    "initial": "idle",
    "on": {"RESET": ".idle"},
    "states": {
        "idle": {
            "on": {
                "GO": {"target": "work", "guard": {"$expr": "context.ok"}},
                "NOTE": {"actions": [{"type": "assign", "params": {"ok": True}}]},
                "*": "idle",
            },
            "after": {"48h": "work", "500": "idle"},
        },
        "work": {
            "initial": "step",
            "invoke": {"id": "job", "src": "runJob", "onDone": "done", "onError": "idle"},
            "on": {"DEEPER": ".step.inner", "UP": "#m.work"},
            "states": {
                "step": {
                    "initial": "inner",
                    "states": {
                        "inner": {"always": {"target": "#m.work.other", "guard": "ready"}},
                        "hist": {"type": "history", "history": "deep"},
                    },
                    "on": {"OUT": "#m.work"},
                },
                "other": {"on": {"BACK": "step.hist"}},
            },
            "onDone": "done",
        },
        "both": {
            "type": "parallel",
            "states": {
                "left": {"initial": "a", "states": {"a": {"on": {"X": "#m.both.right.b"}}}},
                "right": {"initial": "b", "states": {"b": {}}},
            },
        },
        "done": {"type": "final"},
    },
    "context": {"ok": False},
}


def model() -> Any:
    return diagram_model(Machine.from_config(CHART), version=4)


def transition(found: Any, source: str, label: str) -> Any:
    return next(t for t in found["transitions"] if t["source"] == source and t["label"] == label)


def test_states_are_listed_in_document_order_as_a_tree() -> None:
    found = model()
    assert found["definition"] == "m" and found["version"] == 4 and found["root"] == "m"
    assert [s["id"] for s in found["states"]] == [
        "m",
        "m.idle",
        "m.work",
        "m.work.step",
        "m.work.step.inner",
        "m.work.step.hist",
        "m.work.other",
        "m.both",
        "m.both.left",
        "m.both.left.a",
        "m.both.right",
        "m.both.right.b",
        "m.done",
    ]
    states = {s["id"]: s for s in found["states"]}
    assert states["m"]["initial"] == "m.idle" and states["m"]["parent"] is None
    assert states["m.work"]["children"] == ["m.work.step", "m.work.other"]
    assert states["m.work.step"]["initial"] == "m.work.step.inner"
    assert states["m.both"]["kind"] == "parallel" and states["m.both"]["initial"] is None
    assert states["m.done"]["kind"] == "final"
    assert (states["m.work.step.hist"]["kind"], states["m.work.step.hist"]["history"]) == (
        "history",
        "deep",
    )


def test_labels_name_the_event_guard_delay_or_step() -> None:
    labels = [(t["source"], t["label"], t["kind"]) for t in model()["transitions"]]
    assert ("m.idle", "GO [context.ok]", "event") in labels
    assert ("m.idle", "*", "event") in labels
    assert ("m.idle", "after 48h", "after") in labels
    assert ("m.idle", "after 500ms", "after") in labels
    assert ("m.work", "done: job", "done") in labels
    assert ("m.work", "error: job", "error") in labels
    assert ("m.work", "done: work", "done") in labels
    assert ("m.work.step.inner", "always [ready]", "always") in labels
    assert ("m", "RESET", "event") in labels


def test_a_targetless_transition_is_listed_inside_its_state() -> None:
    found = model()
    states = {s["id"]: s for s in found["states"]}
    assert states["m.idle"]["internal"] == ["NOTE"]
    assert not [t for t in found["transitions"] if t["label"] == "NOTE"]


def test_each_edge_lies_in_the_lowest_common_ancestor_of_its_ends() -> None:
    found = model()

    def edge(source: str, label: str) -> tuple[str, str | None]:
        target = transition(found, source, label)["targets"][0]
        return target["state"], target["container"]

    assert edge("m.idle", "GO [context.ok]") == ("m.work", "m")  # siblings
    assert edge("m.idle", "*") == ("m.idle", "m")  # a self transition: in the parent
    assert edge("m.work", "DEEPER") == ("m.work.step.inner", "m.work")  # into a descendant
    assert edge("m.work.step", "OUT") == ("m.work", "m.work")  # out to an ancestor
    assert edge("m.work", "UP") == ("m.work", "m")
    assert edge("m.work.step.inner", "always [ready]") == ("m.work.other", "m.work")
    assert edge("m.work.other", "BACK") == ("m.work.step.hist", "m.work")
    assert edge("m.both.left.a", "X") == ("m.both.right.b", "m.both")  # across regions
    assert edge("m", "RESET") == ("m.idle", "m")  # from the root to a child


def test_a_self_transition_of_the_root_lies_on_the_page() -> None:
    found = diagram_model(
        Machine.from_config({"id": "r", "on": {"PING": {"target": "#r", "reenter": True}}})
    )
    assert found["states"][0]["kind"] == "atomic"
    assert found["transitions"][0]["targets"] == [{"state": "r", "container": None}]


def test_a_transition_to_several_regions_has_an_edge_to_each() -> None:
    chart = {
        "id": "p",
        "initial": "off",
        "states": {
            "off": {"on": {"ON": {"target": ["#p.on.a.a2", "#p.on.b.b2"]}}},
            "on": {
                "type": "parallel",
                "states": {
                    "a": {"initial": "a1", "states": {"a1": {}, "a2": {}}},
                    "b": {"initial": "b1", "states": {"b1": {}, "b2": {}}},
                },
            },
        },
    }
    targets = diagram_model(Machine.from_config(chart))["transitions"][0]["targets"]
    assert targets == [
        {"state": "p.on.a.a2", "container": "p"},
        {"state": "p.on.b.b2", "container": "p"},
    ]
