"""chartvalue.js, the console pages' reading of statechart values, run in an embedded V8: the
active state paths of a value, the path the instance list filters it by, their ids in the
diagram model (custom ids included), values as text and event types as an operator reads
them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from statewright import Machine
from statewright.diagram import diagram_model

SOURCE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "statewright"
    / "console"
    / "static"
    / "js"
    / "chartvalue.js"
)

CHART = {
    "id": "shop",
    "initial": "cart",
    "states": {
        "cart": {"on": {"PAY": "fulfil"}},
        "fulfil": {
            "type": "parallel",
            "states": {
                "stock": {"initial": "picking", "states": {"picking": {"id": "pick"}}},
                "post": {"initial": "label", "states": {"label": {}}},
            },
        },
    },
}


@pytest.fixture(scope="module")
def js() -> Any:
    from py_mini_racer import MiniRacer

    context = MiniRacer()
    context.eval(re.sub(r"^export ", "", SOURCE.read_text(), flags=re.M))

    def call(expression: str) -> Any:
        return json.loads(context.eval(f"JSON.stringify({expression})"))

    return call


PARALLEL = {"fulfil": {"stock": "picking", "post": "label"}}


def test_a_value_gives_every_active_path_and_its_leaves(js: Any) -> None:
    value = json.dumps(PARALLEL)
    assert js(f"activePaths({value})") == [
        "fulfil",
        "fulfil.stock",
        "fulfil.stock.picking",
        "fulfil.post",
        "fulfil.post.label",
    ]
    assert js(f"leafPaths({value})") == ["fulfil.stock.picking", "fulfil.post.label"]
    assert js('activePaths("cart")') == ["cart"]
    assert js(f"valueText({value})") == "fulfil (stock.picking, post.label)"
    assert js('valueText({"review": {"legal": "waiting"}})') == "review.legal.waiting"


def test_a_value_filters_the_list_by_its_path_down_to_the_first_parallel_state(js: Any) -> None:
    assert js('filterPath("cart")') == "cart"
    assert js('filterPath({"review": {"legal": "waiting"}})') == "review.legal.waiting"
    assert js(f"filterPath({json.dumps(PARALLEL)})") == "fulfil"
    assert js(f"filterPath({json.dumps({'shop': PARALLEL})})") == "shop.fulfil"


def test_paths_map_to_the_diagram_models_ids_custom_ones_included(js: Any) -> None:
    model = json.dumps(diagram_model(Machine.from_config(CHART)))
    ids = js(
        f"(() => {{ const toId = stateIds({model}, 'shop'); "
        f"return activePaths({json.dumps(PARALLEL)}).map(toId); }})()"
    )
    assert ids == [
        "shop.fulfil",
        "shop.fulfil.stock",
        "pick",
        "shop.fulfil.post",
        "shop.fulfil.post.label",
    ]
    # Without a model (its request failed), XState's default ids.
    assert js("stateIds(null, 'shop')('fulfil.stock')") == "shop.fulfil.stock"


def test_event_types_read_as_what_happened(js: Any) -> None:
    labels = {
        "xstate.init": "started",
        "xstate.stop": "cancelled",
        "xstate.after.48h.order.pending_approval": "timer: after 48h",
        "xstate.done.actor.payment": "step payment done",
        "xstate.error.actor.payment": "step payment failed",
        "APPROVE": "APPROVE",
    }
    for event_type, label in labels.items():
        assert js(f"eventLabel({json.dumps(event_type)})") == label
    assert js('eventKind("xstate.after.2s.ticket.open")') == "timer"
