"""What a user installs: the wheel built from this tree, and the declarations it is built from
(pyproject.toml, setup.py's build hook, MANIFEST.in for the source distribution)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from statewright.cli.demo import machines

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def load_setup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("statewright_setup_packaging", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)  # runs no build: setup() is called only as __main__
    return module


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


def test_uvicorn_is_one_that_serve_runs_on() -> None:
    # uvicorn before 0.36 looks `http` up in its own table: `serve` failed with a KeyError;
    # before 0.51 `serve --workers 2` failed: no STARTUP_FAILURE (ImportError) before 0.50,
    # a Multiprocess that wants a `target` (TypeError) in 0.50.
    assert lower_bound("uvicorn") >= (0, 51)


def test_the_wheel_carries_every_example_file_the_demo_reads(tmp_path: Path) -> None:
    setup = load_setup()
    assert setup.DEMO_EXAMPLES == machines.FILES
    package_root = Path(machines.__file__).resolve().parents[3]
    assert package_root / setup.DEMO_EXAMPLES_IN_PACKAGE == machines.PACKAGED
    setup.copy_demo_examples(ROOT / "examples", tmp_path)
    for name in machines.FILES:
        copied = tmp_path / setup.DEMO_EXAMPLES_IN_PACKAGE / name
        assert copied.read_bytes() == (ROOT / "examples" / name).read_bytes()


def test_a_tree_missing_an_example_fails_the_build_naming_it(tmp_path: Path) -> None:
    setup = load_setup()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "examples" / "intake" / "schedules.json").unlink()
    with pytest.raises(SystemExit, match=r"lacks intake/schedules\.json.*statewright demo"):
        setup.copy_demo_examples(tmp_path / "examples", tmp_path / "build")
    assert not (tmp_path / "build").exists()


def test_the_source_distribution_has_the_demo_examples_and_no_tests() -> None:
    lines = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    included = {word for line in lines if line.startswith("include ") for word in line.split()[1:]}
    assert {f"examples/{name}" for name in machines.FILES} <= included
    assert "prune tests" in lines


@pytest.mark.slow
def test_the_wheel_holds_the_package_its_data_and_nothing_else(tmp_path: Path) -> None:
    """Built as a user's `pip install .` builds it (an isolated build environment), from a copy
    of this tree; the npm files are already in the source tree, so no npm download."""
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", tree / "src", ignore=ignore)
    shutil.copytree(ROOT / "examples", tree / "examples", ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
    built = subprocess.run(
        [*pip_wheel, "-w", str(tmp_path / "out"), str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "out").glob("statewright-*.whl")
    version = PYPROJECT["project"]["version"]
    assert wheel.name == f"statewright-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"statewright-{version}.dist-info/METADATA").decode()
        entry_points = archive.read(f"statewright-{version}.dist-info/entry_points.txt").decode()
        licence_text = archive.read(f"statewright-{version}.dist-info/licenses/LICENSE").decode()
    assert {name.split("/")[0] for name in names} == {
        "statewright",
        f"statewright-{version}.dist-info",
    }
    assert "statewright/py.typed" in names
    setup = load_setup()
    for npm in setup.NPM_PACKAGES:
        for name in npm.files:
            assert f"statewright/console/static/vendor/{name}" in names
    for name in machines.FILES:
        assert f"statewright/cli/demo/examples/{name}" in names
    assert "statewright/store/sqlite/migrations/0001_initial.sql" in names
    assert "statewright/console/templates/login.html" in names
    assert not [name for name in names if "/tests/" in name or name.endswith((".pyc", ".db"))]
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()  # the licence's text, shipped
    licence = f"statewright-{version}.dist-info/licenses/LICENSE"
    assert licence in names
    assert f"Version: {version}" in metadata.splitlines()
    assert "statewright = statewright.cli:main" in entry_points
    assert "Apache License" in licence_text and "Version 2.0, January 2004" in licence_text
