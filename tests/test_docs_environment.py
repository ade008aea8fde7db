"""Every environment variable the README and docs/ name is one statewright, its tests or its
scripts read: a renamed variable leaves no doc pointing at the old name."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
VARIABLE = re.compile(r"\bSTATEWRIGHT_[A-Z0-9_]+\b")
READERS = ("src", "tests", "scripts", "benchmarks", ".ci")


def named_in_docs() -> set[str]:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return {name for path in docs for name in VARIABLE.findall(path.read_text("utf-8"))}


def read_by_code() -> set[str]:
    """The variables named as a string in the code: `"STATEWRIGHT_URL"`, or in a script."""
    found: set[str] = set()
    for folder in READERS:
        for path in (ROOT / folder).rglob("*"):
            if not path.is_file() or path.suffix not in {"", ".py", ".sh"}:
                continue
            if path == Path(__file__):
                continue
            text = path.read_text("utf-8", errors="replace")
            if path.suffix == ".py":
                found |= set(re.findall(r"[\"'](STATEWRIGHT_[A-Z0-9_]+)[\"']", text))
            else:
                found |= set(VARIABLE.findall(text))
    return found


def test_every_variable_the_docs_name_is_read() -> None:
    named = named_in_docs()
    assert {"STATEWRIGHT_URL", "STATEWRIGHT_CHAOS_SCALE"} <= named
    assert named - read_by_code() == set()
