"""Laying out and drawing a diagram model outside the browser, with the console's own code.

    layout = layout_model(model)          # the geometry statechart.js computes in the browser
    svg = render_svg(model)               # a standalone SVG file's text (styles inline)

Both run `console/static/vendor/elk.bundled.js` (fetched by the build) and
`console/static/js/statechart.js` in JavaScript: in an embedded V8 when the `mini-racer`
package is installed (`pip install 'statewright[diagram]'`), else with `node` on PATH. The
ES module's `export` keywords are dropped so that V8 runs it as a script: statechart.js
imports nothing, on purpose.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from statewright.errors import StatewrightError

__all__ = [
    "DIAGRAM_CSS",
    "ELK_JS",
    "STATECHART_JS",
    "DiagramUnavailable",
    "layout_model",
    "render_svg",
    "runtime_name",
]

STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
ELK_JS = STATIC / "vendor" / "elk.bundled.js"
STATECHART_JS = STATIC / "js" / "statechart.js"
DIAGRAM_CSS = STATIC / "css" / "diagram.css"
#: Force a runtime: "mini-racer" or "node" (default: mini-racer when installed, else node).
RUNTIME_ENV = "STATEWRIGHT_DIAGRAM_RUNTIME"
_TIMEOUT = 120.0  # seconds for one layout; elkjs takes well under one on charts of 100 states

# V8 alone has no window, global or self for elkjs to find its globals on, and mini-racer's
# setTimeout never fires a zero delay: elkjs's in-thread "worker" posts with setTimeout(0).
_PRELUDE = """
var window = globalThis;
globalThis.setTimeout = (f, d, ...args) => { Promise.resolve().then(() => f(...args)); return 0; };
globalThis.clearTimeout = () => {};
"""

_NODE_DRIVER = """
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const [elkPath, chartPath] = JSON.parse(process.argv[1]);
const ELK = createRequire(import.meta.url)(elkPath);
const chart = await import(pathToFileURL(chartPath).href);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { model, css } = JSON.parse(input);
const layout = await chart.layoutStatechart(ELK, model);
process.stdout.write(JSON.stringify({ layout, svg: chart.renderSvg(model, layout, { css }) }));
"""


class DiagramUnavailable(StatewrightError):
    """No JavaScript runtime, or no elkjs, to lay a statechart out with; the message says
    what to install."""


class _Runtime(Protocol):
    name: str

    def draw(self, model: Mapping[str, Any], css: str | None) -> tuple[dict[str, Any], str]: ...


def layout_model(model: Mapping[str, Any]) -> dict[str, Any]:
    """The laid-out geometry of a diagram model, as `layoutStatechart` in statechart.js.

    Raises:
        DiagramUnavailable: no mini-racer, no node, or elkjs missing from the install.
    """
    return _runtime().draw(model, None)[0]


def render_svg(model: Mapping[str, Any]) -> str:
    """A standalone SVG of the model: diagram.css embedded, no external references.

    Raises:
        DiagramUnavailable: no mini-racer, no node, or elkjs missing from the install.
    """
    return _runtime().draw(model, DIAGRAM_CSS.read_text(encoding="utf-8"))[1]


def runtime_name() -> str:
    """Which JavaScript runtime draws: "mini-racer" or "node".

    Raises:
        DiagramUnavailable: neither is there.
    """
    return _runtime().name


_LOCK = threading.Lock()
_RUNTIMES: dict[str, _Runtime] = {}


def _runtime() -> _Runtime:
    if not ELK_JS.is_file():
        raise DiagramUnavailable(
            f"elkjs is missing from this install ({ELK_JS}): the package build downloads it; "
            "reinstall statewright (pip install --force-reinstall statewright, or "
            "pip install -e . in a checkout) with access to the npm registry"
        )
    wanted = os.environ.get(RUNTIME_ENV, "").strip().lower()
    if wanted not in ("", "mini-racer", "node"):
        raise DiagramUnavailable(
            f"{RUNTIME_ENV}={wanted!r} is not a runtime: write mini-racer or node, or unset it"
        )
    with _LOCK:
        if wanted in ("", "mini-racer"):
            found = _RUNTIMES.get("mini-racer")
            if found is None and _has_mini_racer():
                found = _RUNTIMES["mini-racer"] = _MiniRacer()
            if found is not None:
                return found
            if wanted == "mini-racer":
                raise DiagramUnavailable(
                    f"{RUNTIME_ENV}=mini-racer but mini-racer is not installed: "
                    "pip install 'statewright[diagram]'"
                )
        node = shutil.which("node")
        if node is None:
            raise DiagramUnavailable(
                "drawing a statechart needs a JavaScript runtime: "
                "pip install 'statewright[diagram]' (an embedded V8), or put node on PATH"
            )
        return _Node(node)


def _has_mini_racer() -> bool:
    try:
        import py_mini_racer  # noqa: F401
    except ImportError:
        return False
    return True


def _script() -> str:
    """statechart.js as a classic script: its `export` keywords dropped."""
    source = STATECHART_JS.read_text(encoding="utf-8")
    return re.sub(r"^export (?=(async )?function |class |const )", "", source, flags=re.M)


class _MiniRacer:
    """One embedded V8 context with elkjs and statechart.js loaded, used under a lock."""

    name = "mini-racer"

    def __init__(self) -> None:
        from py_mini_racer import MiniRacer

        self._lock = threading.Lock()
        self._ctx = MiniRacer()
        self._ctx.eval(_PRELUDE)
        self._ctx.eval(ELK_JS.read_text(encoding="utf-8"))
        self._ctx.eval(
            "(() => {" + _script() + "\nglobalThis.__sw = { layoutStatechart, renderSvg };})()"
        )

    def draw(self, model: Mapping[str, Any], css: str | None) -> tuple[dict[str, Any], str]:
        argument = json.dumps(json.dumps({"model": model, "css": css}))
        code = (
            f"(async () => {{ const {{model, css}} = JSON.parse({argument});"
            " const layout = await __sw.layoutStatechart(ELK, model);"
            " return JSON.stringify({layout, svg: __sw.renderSvg(model, layout, {css})}); })()"
        )
        with self._lock:
            promise: Any = self._ctx.eval(code)
            text = promise.get(timeout=_TIMEOUT)
        found = json.loads(text)
        return found["layout"], found["svg"]


class _Node:
    """`node` on PATH, one process per drawing."""

    name = "node"

    def __init__(self, executable: str) -> None:
        self._node = executable

    def draw(self, model: Mapping[str, Any], css: str | None) -> tuple[dict[str, Any], str]:
        paths = json.dumps([str(ELK_JS), str(STATECHART_JS)])
        try:
            done = subprocess.run(
                [self._node, "--input-type=module", "-e", _NODE_DRIVER, paths],
                input=json.dumps({"model": model, "css": css}),
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DiagramUnavailable(
                f"{self._node} could not lay the statechart out: {error}; "
                "pip install 'statewright[diagram]' to use the embedded V8 instead"
            ) from None
        if done.returncode != 0:
            raise DiagramUnavailable(
                f"{self._node} failed to lay the statechart out (exit {done.returncode}): "
                f"{done.stderr.strip()[-2000:]}; node 18 or newer is needed, or "
                "pip install 'statewright[diagram]' to use the embedded V8 instead"
            )
        found = json.loads(done.stdout)
        return found["layout"], found["svg"]
