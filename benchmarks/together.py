"""Processes started together: each prints "ready", waits for a line on its standard input,
runs, and prints one JSON document as its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["run_together"]


def run_together(script: str, argvs: Sequence[Sequence[str]], timeout_s: float) -> list[Any]:
    """Run `script` (Python source) once per argument list in `argvs`, with this checkout's
    `src` and benchmarks importable; once all are ready, let them go at once, and return
    their reports in order. Raises RuntimeError if one does not start."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for argv in argvs
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a process did not start (exit {process.wait()})")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return [json.loads(p.communicate(timeout=timeout_s)[0]) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
