"""What a user installs: the declarations it is built from (pyproject.toml)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def lower_bound(name: str) -> tuple[int, ...]:
    for requirement in PYPROJECT["project"]["dependencies"]:
        found = re.fullmatch(rf"{re.escape(name)}(\[[\w,]+\])?>=([\d.]+)", requirement)
        if found:
            return tuple(int(part) for part in found.group(2).split("."))
    raise AssertionError(f"no lower bound for {name}")


def test_the_licence_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    # The table form ({text = ...}) is deprecated and stops building with setuptools in 2027.
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77"]


def test_uvicorn_is_one_that_takes_serves_protocol_as_an_import_string() -> None:
    # uvicorn before 0.36 looks `http` up in its own table: `serve` failed with a KeyError.
    assert lower_bound("uvicorn") >= (0, 36)
