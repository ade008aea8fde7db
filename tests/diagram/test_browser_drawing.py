"""statechart.js in a real browser (Debian's Chromium, headless): it draws a model with the
page's global ELK in DOM nodes equal to what the markup of `renderSvg` parses to, highlights
the active states and paints counts by switching classes and badges only, and lays each
definition version out once (memory, then sessionStorage)."""

from __future__ import annotations

import functools
import html
import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from statewright.definitions import Machine
from statewright.diagram import diagram_model
from statewright.diagram.render import STATIC

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).parents[2]

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/css/diagram.css">
<script src="/static/vendor/elk.bundled.js"></script></head><body><div id="c"></div>
<script type="module">
import { drawStatechart, renderSvg, svgElement } from "/static/js/statechart.js";
const model = MODEL;
let layouts = 0;
const RealELK = window.ELK;
window.ELK = class extends RealELK { layout(g) { layouts++; return super.layout(g); } };
try {
  const drawing = await drawStatechart(document.getElementById("c"), model);
  const svg = document.querySelector("#c svg");
  const parsed = document.createElement("div");
  parsed.innerHTML = renderSvg(model, drawing.layout);
  const xml = (node) => new XMLSerializer().serializeToString(node);
  const built = svgElement(document, model, drawing.layout);
  drawing.highlight(["order", "order.pending_approval"]);
  drawing.highlight(["order", "order.payment"]);
  drawing.paintCounts({"order.pending_approval": 12, "order.payment": 3});
  drawing.paintCounts({"order.payment": 4});
  const other = document.createElement("div");
  await drawStatechart(other, model);
  document.body.dataset.result = JSON.stringify({
    sameSvg: svg === document.querySelector("#c svg"),
    builtAsMarkup: xml(built) === xml(parsed.firstElementChild),
    builtNodes: built.querySelectorAll("*").length,
    states: [...svg.querySelectorAll("g.sw-state")].map((g) => g.dataset.state),
    active: [...svg.querySelectorAll("g.sw-state.sw-active")].map((g) => g.dataset.state),
    counts: [...svg.querySelectorAll(".sw-count")].map(
      (b) => [b.parentNode.dataset.state, b.textContent]),
    layouts,
    stored: Object.keys(sessionStorage),
    redrawn: other.querySelectorAll("g.sw-state").length,
  });
} catch (error) {
  document.body.dataset.result = JSON.stringify({error: String(error)});
}
</script></body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    model = diagram_model(Machine.load(ROOT / "examples" / "order" / "order.json"), version=1)
    (tmp_path / "static").symlink_to(STATIC)
    (tmp_path / "index.html").write_text(PAGE.replace("MODEL", json.dumps(model)))
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def dump_dom(url: str, profile: Path) -> str:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=30000",
        "--dump-dom",
        url,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return out


def test_the_console_drawing_highlights_and_counts_without_laying_out_again(
    site: str, tmp_path: Path
) -> None:
    dom = dump_dom(site, tmp_path / "profile")
    found = re.search(r'data-result="([^"]*)"', dom)
    assert found, dom[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert "error" not in result, result
    assert result["sameSvg"] is True
    # The console builds its SVG with DOM calls: the same nodes as the file's markup.
    assert result["builtAsMarkup"] is True and result["builtNodes"] > 100
    assert len(result["states"]) == 16 and result["redrawn"] == 16
    assert result["active"] == ["order", "order.payment"]
    assert result["counts"] == [["order.payment", "4"]]
    assert result["layouts"] == 1  # the second drawing used the cached layout
    assert [key.split(":")[:4] for key in result["stored"]] == [["sw-layout", "1", "order", "1"]]
