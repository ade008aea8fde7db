"""Instructions per send, counted by callgrind: a measure of the engine's work that the
machine's load does not move.

    .venv/bin/python -m benchmarks.durable_instructions                 # memory and normal
    .venv/bin/python -m benchmarks.durable_instructions --old /tmp/old  # and an old tree's

Each count runs `benchmarks.durable`'s engine sends (the counter, round-robin over 1,000
instances, after 1,000 untimed sends) under `valgrind --tool=callgrind` twice, with 300 and
with 1,300 more sends: the difference over 1,000 is one send's instructions, set-up and
start-up cancelled out. `memory` is the dict store of "engine, no database" (the engine's
Python alone); `normal` and `full` a SQLite file (`synchronous=NORMAL`, `FULL`). About a
minute per count on a quiet machine. Needs valgrind on the PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

_HERE = Path(__file__).resolve().parent.parent

_CHILD = """
import sys, tempfile
from benchmarks import durable
setting, n = sys.argv[1], int(sys.argv[2])
if setting == "memory":
    loop = durable.engine_sends_without_database()
else:
    url = f"sqlite:///{tempfile.mkdtemp()}/engine.db?synchronous={setting}"
    loop = durable.engine_sends(url)
loop(1000)
loop(n)
"""

_REFS = re.compile(r"refs:\s+([\d,]+)")


def instructions(root: Path, setting: str, sends: int) -> int:
    """Instructions of a process that sets up and then makes `sends` sends."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}",
        "PYTHONHASHSEED": "0",
    }
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={folder}/callgrind.out",
                sys.executable,
                "-c",
                _CHILD,
                setting,
                str(sends),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            check=True,
        )
    found = _REFS.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in callgrind's output:\n{done.stderr[-2000:]}")
    return int(found[1].replace(",", ""))


def per_send(root: Path, setting: str) -> int:
    """One send's instructions: the difference of 1,300 and 300 sends over 1,000."""
    return (instructions(root, setting, 1300) - instructions(root, setting, 300)) // 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default="memory,normal", help="of memory, normal, full")
    parser.add_argument("--old", type=Path, help="an old source tree to count too")
    args = parser.parse_args(argv)
    trees = [("this tree", _HERE)] + ([("old", args.old.resolve())] if args.old else [])
    print("| setting | " + " | ".join(name for name, _ in trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for setting in args.settings.split(","):
        counts = [f"{per_send(root, setting):,}" for _, root in trees]
        print(f"| {setting} | " + " | ".join(counts) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
