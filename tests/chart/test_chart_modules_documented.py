"""docs/architecture.md's table of the chart's modules names every module of
`statewright.chart`, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def documented() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The chart (`statewright.chart`)", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+\.py)`", row.split(" | ")[0])}


def test_the_chart_table_names_every_chart_module() -> None:
    modules = {p.name for p in (ROOT / "src" / "statewright" / "chart").glob("*.py")}
    assert documented() == modules - {"__init__.py"}
