"""XState v5 itself, on Node, driven through `benchmarks/xstate/bench.mjs --serve`.

The script pins `xstate` 5.33.3 in `benchmarks/xstate/package.json`; the first run installs
it with npm into `benchmarks/xstate/node_modules` (git-ignored). One Node process serves the
whole run: each scenario's loop is prepared there, and the harness times it round-robin
with the Python implementations, Node measuring each batch with its own clock. Without
`node` on PATH the XState rows are skipped.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks._harness import Bench, Skip

DIRECTORY = Path(__file__).parent / "xstate"
#: Set by benchmarks.core before the first scenario.
QUICK = False

_server: subprocess.Popen[str] | None = None


def _install() -> str:
    """Return the path of `node`, installing xstate first if needed.

    Raises:
        Skip: node or npm is not on PATH.
    """
    node = shutil.which("node")
    if node is None:
        raise Skip("node is not on PATH")
    if not (DIRECTORY / "node_modules" / "xstate").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise Skip("npm is not on PATH (needed once to install xstate)")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=DIRECTORY,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return node


def _request(message: dict[str, Any]) -> dict[str, Any]:
    """Send one request to the Node server (started on first use) and return its answer."""
    global _server
    if _server is None:
        command = [_install(), str(DIRECTORY / "bench.mjs"), "--serve"]
        _server = subprocess.Popen(
            command + (["--quick"] if QUICK else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        atexit.register(_stop)
    assert _server.stdin is not None and _server.stdout is not None
    _server.stdin.write(json.dumps(message) + "\n")
    _server.stdin.flush()
    answer: dict[str, Any] = json.loads(_server.stdout.readline())
    if "error" in answer:
        raise RuntimeError(f"bench.mjs failed on {message}: {answer['error']}")
    return answer


def _stop() -> None:
    if _server is not None and _server.poll() is None:
        _server.stdin.close()  # type: ignore[union-attr]  # the server exits at end of input
        _server.wait(timeout=10)


def _time(key: str, n: int) -> float:
    return float(_request({"time": key, "n": n})["seconds"])


def _bench(scenario: str, impl: str, note: str = "") -> Bench:
    key = f"{scenario}/{impl}"
    _request({"prepare": key})
    return Bench(partial(_time, key), note=note, self_timed=True)


def actor(scenario: str) -> Bench:
    """Rate of the scenario on a started XState actor: `createActor(...)`, `actor.send(...)`."""
    return _bench(scenario, "actor")


def pure(scenario: str) -> Bench:
    """Rate of the scenario with XState's pure `initialTransition()` / `transition()`."""
    note = "restore with machine.resolveState()" if scenario == "snapshot" else ""
    return _bench(scenario, "pure", note)


def version() -> str:
    """Return the versions of node and of the installed xstate, or '' without node."""
    node = shutil.which("node")
    if node is None:
        return ""
    completed = subprocess.run([node, "--version"], check=True, capture_output=True, text=True)
    package = DIRECTORY / "node_modules" / "xstate" / "package.json"
    xstate = json.loads(package.read_text())["version"] if package.exists() else "?"
    return f"node {completed.stdout.strip()}, xstate {xstate}"


ROWS = tuple(
    (scenario, f"xstate v5 ({label})", partial(build, scenario))
    for scenario in ("toggle", "order", "deep", "snapshot")
    for label, build in (("actor", actor), ("pure transition", pure))
)
