"""`statewright validate`: the tree it prints tells apart what the definition tells apart."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from statewright.cli import app

runner = CliRunner()

TREE = {
    "id": "m",
    "initial": "p",
    "states": {
        "p": {
            "tags": ["busy", "money"],
            "on": {"SELF": "p", "SELF_RE": {"target": "p", "reenter": True}, "GO": "a"},
        },
        "a": {
            "initial": "b",
            "states": {
                "b": {"initial": "c", "states": {"c": {}}},
                "other": {},
                "deep": {"type": "history", "history": "deep", "target": "other"},
                "shallow": {"type": "history"},
            },
            "on": {"BACK": {"target": ".deep", "reenter": True}},
        },
    },
}


def tree_lines(tmp_path: Path) -> list[str]:
    """The tree `validate` prints for TREE, each line without its guides."""
    path = tmp_path / "m.json"
    path.write_text(json.dumps(TREE))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    return [line.lstrip("│├└─ ") for line in result.output.splitlines()]


def test_a_reentering_transition_is_told_from_a_plain_one(tmp_path: Path) -> None:
    lines = tree_lines(tmp_path)
    assert "SELF → m.p" in lines
    assert "SELF_RE → m.p (reenter)" in lines
    assert "BACK → m.a.deep (reenter)" in lines
    assert "GO → m.a" in lines


def test_a_history_state_shows_its_mode_and_default_target(tmp_path: Path) -> None:
    lines = tree_lines(tmp_path)
    assert "deep (history: deep, default → m.a.other)" in lines
    # Without a target of its own, its default is its parent's initial state.
    assert "shallow (history: shallow, default → m.a.b)" in lines


def test_tags_are_shown_without_the_sign_of_a_state_id(tmp_path: Path) -> None:
    lines = tree_lines(tmp_path)
    assert "p [tags: busy, money]" in lines
    assert not any("#" in line for line in lines)
