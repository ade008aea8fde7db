"""Reading machine definitions from JSON and YAML files, and the public `Machine`.

The chart core reads no files; this module does, then hands the parsed config to the core.

Two traps of the formats are closed here. YAML 1.1 (what PyYAML reads) turns the keys `on`,
`off`, `yes` and `no` into booleans, and an XState config is full of `on:`; statewright reads
only `true` and `false` as booleans, as YAML 1.2 and JSON do. Both formats keep the last of two
equal keys in one object without a word; statewright reports every duplicate instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from statewright.chart import Machine as ChartMachine
from statewright.chart.faults import did_you_mean, join_path
from statewright.errors import DefinitionError, Fault

__all__ = ["Machine", "read_definition"]

_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans: `on`, `off`, `yes`, `no` stay strings."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_definition(path: str | Path) -> dict[str, object]:
    """Parse a machine config from a `.json`, `.yaml` or `.yml` file (or a folder holding
    exactly one `machine.*` or `<folder name>.*` file).

    Raises:
        DefinitionError: the file is missing, unreadable, not JSON/YAML, not an object, or
            has the same key twice in one object.
    """
    file = _resolve(Path(path))
    kind = _SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise DefinitionError(
            [
                Fault(
                    str(file),
                    f"unknown definition file type {file.suffix!r}",
                    "use a .json, .yaml or .yml file",
                )
            ]
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise DefinitionError(
            [
                Fault(
                    str(file),
                    f"cannot read it ({reason})",
                    "check the path and that it is a UTF-8 text file",
                )
            ]
        ) from error
    try:
        data, duplicates = _parse_json(text) if kind == "json" else _parse_yaml(text, file.name)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise DefinitionError(
            [
                Fault(
                    str(file),
                    f"not valid {kind.upper()}: {error}",
                    "fix the syntax at the position shown",
                )
            ]
        ) from error
    except RecursionError:
        raise DefinitionError(
            [
                Fault(
                    str(file),
                    "objects and arrays are nested too deeply to read",
                    "flatten it: nest fewer states, or keep deep data out of the definition",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        what = "it is empty" if data is None else f"it holds a {type(data).__name__}"
        raise DefinitionError(
            [
                Fault(
                    str(file),
                    f"the file must hold one machine config object; {what}",
                    'write {"id": ..., "initial": ..., "states": {...}}',
                )
            ]
        )
    if duplicates:
        raise DefinitionError(
            [
                Fault(
                    at,
                    f"duplicate key in {file.name}{where}: only the last one would count",
                    "merge the two into one, or rename one of them",
                )
                for at, where in duplicates
            ]
        )
    return data


def _parse_json(text: str) -> tuple[object, list[tuple[str, str]]]:
    """Parse JSON keeping every key, then build dicts and note each repeated key's path."""
    duplicates: list[tuple[str, str]] = []

    def build(value: object, path: str) -> object:
        if isinstance(value, _Pairs):
            result: dict[str, object] = {}
            for key, item in value:
                at = join_path(path, key)
                if key in result:
                    duplicates.append((at, ""))
                result[key] = build(item, at)
            return result
        if isinstance(value, list):
            return [build(item, join_path(path, index)) for index, item in enumerate(value)]
        return value

    return build(json.loads(text, object_pairs_hook=_Pairs), ""), duplicates


class _Pairs(list[tuple[str, object]]):
    """The key/value pairs of one JSON object, in order, repeats kept."""


def _parse_yaml(text: str, name: str) -> tuple[object, list[tuple[str, str]]]:
    loader = _YamlLoader(text)
    loader.name = name  # syntax errors then say `in "order.yaml", line 3`
    try:
        node = loader.get_single_node()
        duplicates: list[tuple[str, str]] = []
        if node is not None:
            _yaml_duplicates(node, "", duplicates, set())
        return (loader.construct_document(node) if node is not None else None), duplicates
    finally:
        loader.dispose()


def _yaml_duplicates(
    node: yaml.Node, path: str, out: list[tuple[str, str]], seen_nodes: set[int]
) -> None:
    if id(node) in seen_nodes:  # an alias: already walked
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[tuple[str, str]] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            at = join_path(path, str(key_node.value))
            if (key_node.tag, key_node.value) in keys:
                out.append((at, f" (line {key_node.start_mark.line + 1})"))
            keys.add((key_node.tag, key_node.value))
            _yaml_duplicates(value_node, at, out, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_duplicates(item, join_path(path, index), out, seen_nodes)


def _resolve(path: Path) -> Path:
    if not path.is_dir():
        if not path.exists():
            raise DefinitionError([Fault(str(path), "no such file", _near_miss(path))])
        return path
    candidates = [
        p
        for p in sorted(path.iterdir())
        if p.suffix.lower() in _SUFFIXES and p.stem in ("machine", path.name)
    ]
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise DefinitionError(
            [
                Fault(
                    str(path),
                    f"expected one machine.json/.yaml or "
                    f"{path.name}.json/.yaml in the folder, found {names}",
                    "pass the file itself",
                )
            ]
        )
    return candidates[0]


def _near_miss(path: Path) -> str:
    """Suggest a file with a similar name next to the missing one."""
    folder = path.parent
    if not folder.is_dir():
        return f"check the path: the folder {str(folder)!r} does not exist either"
    names = [p.name for p in folder.iterdir()]
    hint = did_you_mean(path.name, names)
    return hint or "check the path"


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
        max_iterations: int | None = None,
    ) -> Machine:
        """Load a machine from a JSON or YAML file.

        Raises:
            DefinitionError: the file cannot be read or parsed, or the definition has faults.
        """
        config = read_definition(path)
        try:
            machine = cls.from_config(
                config,
                guards=guards,
                actions=actions,
                actors=actors,
                delays=delays,
                max_iterations=max_iterations,
            )
        except DefinitionError as error:
            raise DefinitionError(
                error.faults, machine_id=error.machine_id, source=str(path), missing=error.missing
            ) from None
        assert isinstance(machine, Machine)
        return machine
