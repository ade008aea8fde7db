"""Reading definitions from JSON and YAML files and folders, and every way that can go wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statewright import DefinitionError, Fault, Machine, read_definition

CONFIG: dict[str, object] = {
    "id": "light",
    "initial": "green",
    "states": {"green": {"on": {"TIMER": "yellow"}}, "yellow": {"on": {"TIMER": "green"}}},
}
YAML = """\
id: light
initial: green
states:
  green:
    on:
      TIMER: yellow
  yellow:
    on:
      TIMER: green
"""


def only_fault(path: Path | str) -> Fault:
    with pytest.raises(DefinitionError) as info:
        Machine.load(path)
    (fault,) = info.value.faults
    assert fault.fix, fault
    assert f"{fault.path}: {fault.message}; {fault.fix}" in str(info.value)
    return fault


def run(machine: Machine) -> object:
    snapshot = machine.initial_transition().snapshot
    return machine.transition(snapshot, "TIMER").snapshot.value


# --- files and folders that load -------------------------------------------------------------


def test_json_file(tmp_path: Path) -> None:
    file = tmp_path / "light.json"
    file.write_text(json.dumps(CONFIG))
    assert run(Machine.load(file)) == "yellow"
    assert run(Machine.load(str(file))) == "yellow"


@pytest.mark.parametrize("name", ["light.yaml", "light.yml", "LIGHT.YAML"])
def test_yaml_file(tmp_path: Path, name: str) -> None:
    file = tmp_path / name
    file.write_text(YAML)
    assert read_definition(file) == CONFIG
    assert run(Machine.load(file)) == "yellow"


@pytest.mark.parametrize("name", ["machine.json", "light.json", "machine.yaml", "light.yml"])
def test_folder_with_one_definition(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "light"
    folder.mkdir()
    (folder / name).write_text(json.dumps(CONFIG) if name.endswith(".json") else YAML)
    (folder / "steps.py").write_text("")
    assert Machine.load(folder).id == "light"


def test_implementations_are_passed_through(tmp_path: Path) -> None:
    config = {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": {"guard": "ok"}}}}}
    file = tmp_path / "m.json"
    file.write_text(json.dumps(config))
    machine = Machine.load(file, guards={"ok": lambda context, event: True})
    assert machine.missing_implementations == ()
    assert isinstance(machine, Machine)


# --- YAML 1.1 booleans ----------------------------------------------------------------------


def test_yaml_on_key_stays_a_string(tmp_path: Path) -> None:
    # PyYAML's own safe_load would read `on:` as True and `yes`/`off` as booleans.
    file = tmp_path / "m.yaml"
    file.write_text(
        "id: m\ninitial: a\nstates:\n  a:\n    on:\n      off: a\n    meta: {flag: yes, ok: true}\n"
    )
    states = read_definition(file)["states"]
    assert states == {"a": {"on": {"off": "a"}, "meta": {"flag": "yes", "ok": True}}}


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    file = tmp_path / "m.yaml"
    file.write_text(
        "id: m\ninitial: a\nstates:\n"
        "  a: &base {on: {GO: a}, tags: [x]}\n"
        "  b: {<<: *base, tags: [y]}\n"
    )
    assert read_definition(file)["states"] == {
        "a": {"on": {"GO": "a"}, "tags": ["x"]},
        "b": {"on": {"GO": "a"}, "tags": ["y"]},
    }


# --- files that do not load ------------------------------------------------------------------


def test_missing_file_suggests_a_near_name(tmp_path: Path) -> None:
    (tmp_path / "order.json").write_text(json.dumps(CONFIG))
    fault = only_fault(tmp_path / "ordr.json")
    assert fault.path == str(tmp_path / "ordr.json")
    assert fault.message == "no such file"
    assert fault.fix == 'did you mean "order.json"?'


def test_missing_file_without_a_near_name(tmp_path: Path) -> None:
    fault = only_fault(tmp_path / "order.json")
    assert fault.fix == "check the path"


def test_missing_folder(tmp_path: Path) -> None:
    fault = only_fault(tmp_path / "nowhere" / "order.json")
    assert fault.message == "no such file"
    assert "does not exist either" in fault.fix


def test_unknown_file_type(tmp_path: Path) -> None:
    file = tmp_path / "order.toml"
    file.write_text("")
    fault = only_fault(file)
    assert fault.path == str(file)
    assert fault.message == "unknown definition file type '.toml'"
    assert fault.fix == "use a .json, .yaml or .yml file"


@pytest.mark.parametrize("names", [[], ["machine.json", "machine.yaml"], ["other.json"]])
def test_folder_without_exactly_one_definition(tmp_path: Path, names: list[str]) -> None:
    folder = tmp_path / "order"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("{}")
    fault = only_fault(folder)
    assert fault.path == str(folder)
    assert fault.message.startswith("expected one machine.json/.yaml or order.json/.yaml")
    assert fault.fix == "pass the file itself"


def test_json_syntax_error_says_where(tmp_path: Path) -> None:
    file = tmp_path / "m.json"
    file.write_text('{"id": "m",\n "initial": }')
    fault = only_fault(file)
    assert fault.path == str(file)
    assert fault.message.startswith("not valid JSON: ")
    assert "line 2 column 13" in fault.message
    assert fault.fix == "fix the syntax at the position shown"


def test_yaml_syntax_error_says_where(tmp_path: Path) -> None:
    file = tmp_path / "m.yaml"
    file.write_text("id: m\n  initial: [a\n")
    fault = only_fault(file)
    assert fault.message.startswith("not valid YAML: ")
    assert 'in "m.yaml", line 2' in fault.message
    assert fault.fix == "fix the syntax at the position shown"


def test_yaml_with_two_documents(tmp_path: Path) -> None:
    file = tmp_path / "m.yaml"
    file.write_text("id: a\n---\nid: b\n")
    assert only_fault(file).message.startswith("not valid YAML: ")


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("m.json", "[1, 2]", "it holds a list"),
        ("m.json", '"machine"', "it holds a str"),
        ("m.yaml", "", "it is empty"),
        ("m.yaml", "- a\n- b\n", "it holds a list"),
    ],
)
def test_the_file_must_hold_an_object(tmp_path: Path, name: str, text: str, what: str) -> None:
    file = tmp_path / name
    file.write_text(text)
    fault = only_fault(file)
    assert fault.message == f"the file must hold one machine config object; {what}"
    assert '"states"' in fault.fix


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "m.json"
    file.write_bytes(b'{"id": "\xff"}')
    fault = only_fault(file)
    assert fault.message == "cannot read it (it is not UTF-8 text)"


def test_duplicate_keys_in_json_are_reported_with_their_paths(tmp_path: Path) -> None:
    file = tmp_path / "m.json"
    file.write_text(
        '{"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "a", "GO": "b"}}, "b": {},'
        ' "a": {}}}'
    )
    with pytest.raises(DefinitionError) as info:
        Machine.load(file)
    assert [(f.path, f.message) for f in info.value.faults] == [
        ("states.a.on.GO", "duplicate key in m.json: only the last one would count"),
        ("states.a", "duplicate key in m.json: only the last one would count"),
    ]
    assert all(f.fix == "merge the two into one, or rename one of them" for f in info.value.faults)


def test_duplicate_keys_in_yaml_are_reported_with_path_and_line(tmp_path: Path) -> None:
    file = tmp_path / "m.yaml"
    file.write_text(YAML + "  green: {}\n")
    fault = only_fault(file)
    assert fault.path == "states.green"
    assert fault.message == "duplicate key in m.yaml (line 10): only the last one would count"


def test_definition_faults_in_a_file_have_json_paths(tmp_path: Path) -> None:
    file = tmp_path / "m.yaml"
    file.write_text(YAML.replace("TIMER: yellow", "TIMER: yelow"))
    fault = only_fault(file)
    assert fault.path == "states.green.on.TIMER.target"
    assert fault.fix == 'did you mean "yellow"?'
