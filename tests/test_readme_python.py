"""The README's Python blocks run as written, one after the other, from the repository root
(where `examples/` is), and the values their comments show are the values they make."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: `expression   # shown value`, the value a literal repr (`'a'`, `(X(...),)`); "..." elides.
SHOWN = re.compile(r"^(?P<expr>[A-Za-z_][\w.]*) +# (?P<shown>['\"(\[{\d].*)$")


def readme_program() -> str:
    """The blocks as one program, each line showing a value turned into a check of it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines: list[str] = []
    for block in BLOCK.findall(text):
        for line in block.splitlines():
            shown = SHOWN.match(line)
            if shown:
                pattern = ".*".join(map(re.escape, shown["shown"].split("...")))
                lines.append(f"__check({shown['expr']!r}, {shown['expr']}, {pattern!r})")
            else:
                lines.append(line)
    check = (
        "import re as __re\n"
        "def __check(expr, value, pattern):\n"
        "    assert __re.fullmatch(pattern, repr(value)), f'{expr} is {value!r}'\n"
    )
    return check + "\n".join(lines)


def test_the_readme_shows_values_to_check() -> None:
    assert readme_program().count("__check(") >= 3  # its own definition and the two values shown


@pytest.mark.slow
def test_the_readme_python_runs_from_the_repository_root(tmp_path: Path) -> None:
    # A copy of the root as far as the blocks read it: the store they make lands in tmp_path.
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("STATEWRIGHT_URL", None)
    ran = subprocess.run(
        [sys.executable, "-"],  # from stdin, as typed: the current folder is on the path
        input=readme_program(),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "orders.db").exists()
