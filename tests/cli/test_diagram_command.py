"""`statewright diagram`: a standalone SVG holding every state, the layout as JSON, and the
errors a user can hit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.diagram.render import RUNTIME_ENV

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
ORDER = ROOT / "examples" / "order" / "order.json"
SVG = "{http://www.w3.org/2000/svg}"
runner = CliRunner()

STATES = {
    "order",
    "order.submitted",
    "order.pending_approval",
    "order.escalated",
    "order.payment",
    "order.payment_failed",
    "order.fulfilment",
    "order.fulfilment.inventory",
    "order.fulfilment.inventory.reserving",
    "order.fulfilment.inventory.reserved",
    "order.fulfilment.shipping",
    "order.fulfilment.shipping.preparing",
    "order.fulfilment.shipping.handed_over",
    "order.shipped",
    "order.rejected",
    "order.cancelled",
}


def test_diagram_writes_a_standalone_svg_with_every_state(tmp_path: Path) -> None:
    out = tmp_path / "order.svg"
    result = runner.invoke(app, ["diagram", str(ORDER), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "16 states, 14 transitions" in result.output
    svg = ET.parse(out).getroot()
    assert svg.tag == f"{SVG}svg" and float(svg.get("width", "0")) > 0
    drawn = {
        g.get("data-state") for g in svg.iter(f"{SVG}g") if "sw-state" in g.get("class", "").split()
    }
    assert drawn == STATES
    labels = {"".join(t.itertext()) for t in svg.iter(f"{SVG}text")}
    assert {"APPROVE", "after 48h", "done: payment", "always [context.amount < 1000]"} <= labels
    style = svg.find(f"{SVG}style")
    assert style is not None and ".sw-statechart" in (style.text or "")
    text = out.read_text()
    assert "href=" not in text.replace('href="#', "").replace("url(#sw-arrow)", "")
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")


def test_diagram_prints_the_svg_or_the_layout(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["diagram", str(ORDER)])
    assert printed.exit_code == 0 and printed.stdout.startswith("<svg")
    ET.fromstring(printed.stdout)
    layout = runner.invoke(app, ["diagram", str(ORDER), "--layout-json"])
    assert layout.exit_code == 0, layout.output
    found = json.loads(layout.stdout)
    assert set(found["states"]) == STATES and found["width"] > 0
    assert len([e for e in found["edges"] if e["label"]]) == 14


def test_a_definition_with_faults_is_refused_with_its_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "b", "initial": "a", "states": {"a": {"on": {"GO": "z"}}}}))
    result = runner.invoke(app, ["diagram", str(bad), "-o", str(tmp_path / "b.svg")])
    assert result.exit_code == 1
    assert 'no state "z"' in result.output and "fix:" in result.output
    assert not (tmp_path / "b.svg").exists()


def test_without_a_javascript_runtime_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RUNTIME_ENV, "node")
    monkeypatch.setenv("PATH", str(tmp_path))  # no node here
    result = runner.invoke(app, ["diagram", str(ORDER), "-o", str(tmp_path / "o.svg")])
    assert result.exit_code == 1
    assert "pip install 'statewright[diagram]'" in result.output
    assert "node on PATH" in result.output
    assert not (tmp_path / "o.svg").exists()


def test_an_unwritable_output_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diagram", str(ORDER), "-o", str(tmp_path / "no" / "o.svg")])
    assert result.exit_code == 2 and "cannot write" in result.output


def test_the_documented_order_diagram_is_current() -> None:
    shown = ROOT / "docs" / "diagrams" / "order.svg"
    drawn = runner.invoke(app, ["diagram", str(ORDER)]).stdout
    assert shown.read_text(encoding="utf-8") == drawn, (
        "docs/diagrams/order.svg is stale: statewright diagram examples/order/order.json "
        "-o docs/diagrams/order.svg"
    )
