"""Reading machine definitions from JSON and YAML files, and the public `Machine`.

The chart core reads no files; this module does, then hands the parsed config to the core.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from statewright.chart import Machine as ChartMachine
from statewright.chart.macrostep import DEFAULT_MAX_ITERATIONS
from statewright.errors import DefinitionError, Fault

__all__ = ["Machine", "read_definition"]

_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def read_definition(path: str | Path) -> dict[str, object]:
    """Parse a machine config from a `.json`, `.yaml` or `.yml` file (or a folder holding
    exactly one `machine.*` or `<folder name>.*` file).

    Raises:
        DefinitionError: the file is missing, unreadable, not JSON/YAML, or not an object.
    """
    file = _resolve(Path(path))
    kind = _SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise DefinitionError([Fault(str(file), f"unknown definition file type {file.suffix!r}",
                                     "use a .json, .yaml or .yml file")])
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionError([Fault(str(file), f"cannot read it ({error.strerror})",
                                     "check the path")]) from error
    try:
        data = json.loads(text) if kind == "json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise DefinitionError([Fault(str(file), f"not valid {kind.upper()}: {error}",
                                     "fix the syntax at the position shown")]) from error
    if not isinstance(data, dict):
        raise DefinitionError([Fault(str(file), "the file must hold one machine config object",
                                     'write {"id": ..., "initial": ..., "states": {...}}')])
    return data


def _resolve(path: Path) -> Path:
    if not path.is_dir():
        if not path.exists():
            raise DefinitionError([Fault(str(path), "no such file", "check the path")])
        return path
    candidates = [p for p in sorted(path.iterdir()) if p.suffix.lower() in _SUFFIXES
                  and p.stem in ("machine", path.name)]
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise DefinitionError([Fault(str(path), f"expected one machine.json/.yaml or "
                                     f"{path.name}.json/.yaml in the folder, found {names}",
                                     "pass the file itself")])
    return candidates[0]


class Machine(ChartMachine):
    """An XState v5 machine: `Machine.from_config(dict)` or `Machine.load(path)`."""

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        guards: Mapping[str, Callable[..., object]] | None = None,
        actions: Mapping[str, object] | None = None,
        actors: Mapping[str, Callable[..., object]] | None = None,
        delays: Mapping[str, object] | None = None,
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
    ) -> Machine:
        """Load a machine from a JSON or YAML file.

        Raises:
            DefinitionError: the file cannot be read or parsed, or the definition has faults.
        """
        config = read_definition(path)
        machine = cls.from_config(config, guards=guards, actions=actions, actors=actors,
                                  delays=delays, max_iterations=max_iterations)
        assert isinstance(machine, Machine)
        return machine
