"""The chart core imports nothing outside the standard library (and nothing above it); the
runtime's pure policies import no clock, randomness or I/O."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

import statewright.chart

CHART = Path(statewright.chart.__file__).parent
#: Standard-library modules that would make the core impure (I/O, clock, randomness, logs).
FORBIDDEN_STDLIB = {
    "sqlite3",
    "time",
    "random",
    "asyncio",
    "logging",
    "os",
    "socket",
    "datetime",
    "threading",
    "subprocess",
    "io",
    "pathlib",
    "uuid",
    "secrets",
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


#: Libraries outside the standard library the chart may use, and the one module that may:
#: JSON Schema validation of typed events is a pure function of schema and data (remote
#: references are refused at load, so nothing is fetched).
CHART_LIBRARIES = {"jsonschema": "event_schemas.py", "referencing": "event_schemas.py"}


def test_chart_imports_only_stdlib_and_itself() -> None:
    offenders = []
    for path in sorted(CHART.rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if module.startswith("statewright."):
                allowed = module.startswith("statewright.chart") or module == "statewright.errors"
                if not allowed:
                    offenders.append(f"{path.name}:{line} imports {module} (a higher layer)")
            elif top == "__future__" or CHART_LIBRARIES.get(top) == path.name:
                continue
            elif top not in sys.stdlib_module_names:
                offenders.append(f"{path.name}:{line} imports {module} (not standard library)")
            elif top in FORBIDDEN_STDLIB:
                offenders.append(f"{path.name}:{line} imports {module} (I/O, clock or randomness)")
    assert offenders == []


def test_the_purity_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlite3\nfrom statewright.store import x\nimport yaml\n")
    modules = [module for _, module in imported_modules(sample)]
    assert modules == ["sqlite3", "statewright.store", "yaml"]


#: The runtime's pure policies (retry timing, cron ticks): no clock, randomness or I/O, so
#: that replays and the virtual clock give the same answers; what each may import.
PURE_POLICIES = {
    "retry": {"__future__", "collections", "dataclasses", "hashlib", "math", "typing"},
    "cron": {
        "__future__", "collections", "cronsim", "dataclasses", "datetime", "functools",
        "heapq", "json", "re", "types", "zoneinfo",  # zoneinfo: the time-zone database only
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PURE_POLICIES))
def test_runtime_policies_are_pure(name: str) -> None:
    path = Path(importlib.import_module(f"statewright.runtime.{name}").__file__ or "")
    imported = {module.split(".")[0] for _, module in imported_modules(path)}
    assert imported - {"statewright"} <= PURE_POLICIES[name]


def test_the_engines_cron_ticks_are_pure() -> None:
    """The tick arithmetic the engine and the runtime share (`engine/cron_ticks.py`) takes the
    same vows as the cron policy it was taken out of."""
    path = Path(importlib.import_module("statewright.engine.cron_ticks").__file__ or "")
    imported = {module for _, module in imported_modules(path)}
    own = {module for module in imported if module.startswith("statewright")}
    assert own <= {"statewright.chart.durations"}  # durations as definitions write them
    assert {module.split(".")[0] for module in imported - own} <= PURE_POLICIES["cron"]
    durations = Path(importlib.import_module("statewright.chart.durations").__file__ or "")
    assert {module for _, module in imported_modules(durations)} <= {"__future__", "math", "re"}
