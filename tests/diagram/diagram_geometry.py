"""What a laid-out statechart must satisfy, whatever the chart: checked on every example and
on random definitions."""

from __future__ import annotations

from typing import Any

#: Rounding slack in px: elkjs works in floating point.
SLACK = 0.5


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - SLACK
        and inner["y"] >= outer["y"] - SLACK
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + SLACK
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + SLACK
    )


def _disjoint(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] + a["width"] <= b["x"] + SLACK
        or b["x"] + b["width"] <= a["x"] + SLACK
        or a["y"] + a["height"] <= b["y"] + SLACK
        or b["y"] + b["height"] <= a["y"] + SLACK
    )


def _ancestors(states: dict[str, dict[str, Any]], state_id: str) -> set[str]:
    found = set()
    parent = states[state_id]["parent"]
    while parent is not None:
        found.add(parent)
        parent = states[parent]["parent"]
    return found


def layout_faults(model: dict[str, Any], layout: dict[str, Any]) -> list[str]:
    """Every broken rule of `layout` for `model`, as readable lines (none: a good drawing)."""
    faults: list[str] = []
    states = {s["id"]: s for s in model["states"]}
    boxes = layout["states"]
    page = {"x": 0.0, "y": 0.0, "width": layout["width"], "height": layout["height"]}
    if set(boxes) != set(states):
        faults.append(f"boxes for {sorted(boxes)}, states {sorted(states)}")
        return faults
    ancestors = {state_id: _ancestors(states, state_id) for state_id in states}
    for state_id, state in states.items():
        box = boxes[state_id]
        if not _inside(box, page):
            faults.append(f"{state_id} {box} leaves the drawing {page}")
        if state["parent"] is not None and not _inside(box, boxes[state["parent"]]):
            faults.append(f"{state_id} {box} is not inside its parent {boxes[state['parent']]}")
    ids = sorted(states)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            related = a in ancestors[b] or b in ancestors[a]
            if not related and not _disjoint(boxes[a], boxes[b]):
                faults.append(f"{a} {boxes[a]} overlaps {b} {boxes[b]}")
    for state_id, marker in layout["initials"].items():
        if states[state_id]["initial"] is None or not _inside(marker, boxes[state_id]):
            faults.append(f"initial marker of {state_id} {marker} misplaced")
    edges = {edge["id"]: edge for edge in layout["edges"]}
    for transition in model["transitions"]:
        for index, target in enumerate(transition["targets"]):
            edge = edges.get(f"{transition['id']}:{index}")
            if edge is None:
                faults.append(f"{transition['id']} ({transition['label']}) has no edge")
                continue
            if (edge["source"], edge["target"]) != (transition["source"], target["state"]):
                faults.append(f"edge {edge['id']} joins {edge['source']} -> {edge['target']}")
            if len(edge["points"]) < 2:
                faults.append(f"edge {edge['id']} has {len(edge['points'])} points")
            for point in edge["points"]:
                if not _inside({**point, "width": 0, "height": 0}, page):
                    faults.append(f"edge {edge['id']} point {point} leaves the drawing")
            label = edge["label"]
            if index == 0 and (label is None or label["text"] != transition["label"]):
                faults.append(f"edge {edge['id']} lacks its label {transition['label']!r}")
            if label is not None and not _inside(label, page):
                faults.append(f"label {label} of {edge['id']} leaves the drawing {page}")
    for state in model["states"]:
        if state["initial"] is not None and state["id"] not in layout["initials"]:
            faults.append(f"{state['id']} has no initial marker")
    return faults
