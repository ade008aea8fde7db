"""docs/operations.md, "What the worker logs", names every `kind` of line the worker can log,
at its level, and every field those lines carry; read from the runtime's source, so that a
new kind of line cannot go unlisted."""

from __future__ import annotations

import ast
import logging
import re
import typing
from pathlib import Path

from statewright.runtime import step_log

ROOT = Path(__file__).parents[2]
RUNTIME = ROOT / "src" / "statewright" / "runtime"
DOC = ROOT / "docs" / "operations.md"
KIND = re.compile(r"[a-z]+_[a-z_]+")


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("## What the worker logs", 1)[1].split("\n## ", 1)[0]


def _documented_kinds() -> dict[str, str]:
    """The table's kinds and their levels."""
    row = re.compile(r"^\| `([a-z_]+)` \| ([A-Z]+) \|", re.MULTILINE)
    return dict(row.findall(_section()))


def _documented_fields() -> set[str]:
    sentence = _section().split("the facts as fields:", 1)[1].split(".\n", 1)[0]
    return set(re.findall(r"`([a-z_]+)`", sentence))


def _logged() -> tuple[set[str], set[str]]:
    """The kinds and the fields of the lines the runtime's modules log: the `extra` dicts
    that carry a "kind", the `fields` dicts spread into them, and kinds picked in a
    `kind, ... = (...)` assignment."""
    kinds = set(typing.get_args(step_log.StepLogKind))
    fields: set[str] = set()
    for path in RUNTIME.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {_text(k): v for k, v in zip(node.keys, node.values, strict=True)}
                if "kind" in keys:
                    fields |= set(keys) - {""}
                    kinds |= {_text(keys["kind"])} - {""}
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if names & {"fields", "optional"} and isinstance(node.value, ast.Dict):
                    fields |= {_text(k) for k in node.value.keys} - {""}
                picks = [t for t in targets if isinstance(t, ast.Tuple)]
                if any(isinstance(e, ast.Name) and e.id == "kind" for t in picks for e in t.elts):
                    kinds |= {_text(c) for c in ast.walk(node.value) if KIND.fullmatch(_text(c))}
    return kinds, fields


def _text(node: ast.AST | None) -> str:
    """A string constant's text; "" for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def test_every_kind_the_worker_logs_is_in_the_table_and_no_other() -> None:
    kinds, _ = _logged()
    assert {"timer_fired", "step_failed", "message_dead_lettered"} <= kinds
    assert set(_documented_kinds()) == kinds


def test_the_table_gives_each_step_line_its_level() -> None:
    documented = _documented_kinds()
    for kind, (_, level) in step_log._LINES.items():
        assert documented.get(kind) == logging.getLevelName(level), kind


def test_every_field_of_those_lines_is_named() -> None:
    _, fields = _logged()
    assert {"instance_id", "attempt", "late_ms"} <= fields
    assert fields - _documented_fields() == set()
