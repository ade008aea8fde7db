"""The chart core imports nothing outside the standard library (and nothing above it)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

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


def test_chart_imports_only_stdlib_and_itself() -> None:
    offenders = []
    for path in sorted(CHART.rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if module.startswith("statewright."):
                allowed = module.startswith("statewright.chart") or module == "statewright.errors"
                if not allowed:
                    offenders.append(f"{path.name}:{line} imports {module} (a higher layer)")
            elif top == "__future__":
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
