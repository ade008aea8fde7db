"""The API and the CLI sit above the engine: they reach the store only through the engine,
and no lower layer imports them."""

from __future__ import annotations

import ast
from pathlib import Path

import statewright

SOURCE = Path(statewright.__file__).parent


def imported_modules_of(package: Path) -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found.extend((path, node.lineno, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.lineno, node.module))
    assert found, f"no imports found under {package}"
    return found


def test_the_api_reaches_the_store_only_through_the_engine() -> None:
    offenders = [
        f"{path.name}:{line} imports {module}"
        for path, line, module in imported_modules_of(SOURCE / "api")
        if module.startswith(("statewright.store", "statewright.runtime", "statewright.cli"))
    ]
    assert offenders == []


#: What the CLI may import from the store package: URL parsing, to find and show the store.
CLI_STORE_IMPORTS = ("statewright.store.url",)


def test_the_cli_reaches_the_store_only_through_the_engine() -> None:
    offenders = [
        f"{path.name}:{line} imports {module}"
        for path, line, module in imported_modules_of(SOURCE / "cli")
        if module.startswith("statewright.store") and module not in CLI_STORE_IMPORTS
    ]
    assert offenders == []


def test_the_api_and_the_cli_never_reach_past_the_engine_to_its_store() -> None:
    """Importing nothing from the store is not enough: `engine.store` is the store itself."""
    offenders = [
        f"{path.relative_to(SOURCE)}:{node.lineno} reads .store"
        for package in ("api", "cli")
        for path in sorted((SOURCE / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Attribute) and node.attr == "store"
    ]
    assert offenders == []


def test_no_lower_layer_imports_the_api() -> None:
    offenders = [
        f"{path.name}:{line} imports {module}"
        for package in ("chart", "store", "engine", "runtime", "testing")
        for path, line, module in imported_modules_of(SOURCE / package)
        if module.startswith("statewright.api")
    ]
    assert offenders == []
