"""The send of two source trees side by side: old against new, in the same minutes.

    .venv/bin/python -m benchmarks.durable_ab /tmp/old          # a `git archive` of the old
    .venv/bin/python -m benchmarks.durable_ab /tmp/old --settings normal,full,memory --turns 7

`git archive OLD src benchmarks | tar -x -C /tmp/old` gives the old tree. Each loop runs in a
process of its own: `benchmarks.durable`'s engine sends with the old sources and with these,
each on a database of its own (SQLite files in a temporary folder; PostgreSQL: databases of
one throwaway server), and the raw transition and the chart of `durable_baselines.py`
(this tree's) for the ratio against the limit. In each turn every loop runs for `--seconds`
in all, in ten slices that alternate between the loops (the order rotated each slice), so
that they share the machine's slow moments; the report gives, per setting, the median over
the turns of µs per send (wall and the process's CPU), new / old, and engine / (raw + chart)
for both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

_HERE = Path(__file__).resolve().parent.parent

#: The child: runs one loop for as long as it is told, answers with what it did.
_CHILD = """
import json, sys, time
from benchmarks import durable, durable_throughput
kind, target = sys.argv[1], sys.argv[2]
if kind == "engine":
    loop = (durable.engine_sends_without_database() if target == "memory"
            else durable.engine_sends(target))
elif kind == "raw":
    from benchmarks import durable_baselines
    if target.startswith("postgresql"):
        found = durable_baselines.postgres_baselines(target)
    else:
        path, level = target.split("|")
        found = durable_baselines.sqlite_baselines(path, level)
    loop = min(found, key=lambda b: 0 if b.name == "raw: one statement" else 1
               if b.name == "raw" else 2).loop
else:
    from benchmarks import durable_baselines
    loop = durable_baselines.chart_transitions(durable.COUNTER, {"type": "INC"})[0].loop
durable_throughput.run_for(loop, 1.0, chunk=25)
print("ready", flush=True)
for line in sys.stdin:
    seconds = float(line)
    cpu = time.process_time()
    done, spent = durable_throughput.run_for(loop, seconds, chunk=25)
    print(json.dumps([done, spent, time.process_time() - cpu]), flush=True)
"""


class _Loop:
    def __init__(self, name: str, root: Path, kind: str, target: str) -> None:
        env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, kind, target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=root,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name} did not start (exit {self.process.wait()})")
        self.turn = [0, 0.0, 0.0]

    def run(self, seconds: float) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{seconds}\n")
        self.process.stdin.flush()
        done, spent, cpu = json.loads(self.process.stdout.readline())
        self.turn = [self.turn[0] + done, self.turn[1] + spent, self.turn[2] + cpu]

    def take(self) -> tuple[float, float]:
        """µs per op of the turn: wall, CPU; and start the next turn."""
        done, spent, cpu = self.turn
        self.turn = [0, 0.0, 0.0]
        return spent / done * 1e6, cpu / done * 1e6

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _targets(setting: str, folder: Path, postgres: str | None) -> tuple[str, str, str, str]:
    """The old engine's, the new engine's and the raw loop's databases, and the label."""
    if setting == "memory":
        return "memory", "memory", "", "engine, no database"
    if setting == "postgres":
        assert postgres is not None
        return f"{postgres}_old", f"{postgres}_new", f"{postgres}_raw", "PostgreSQL"
    level = setting.upper()
    files = [f"sqlite:///{folder / f'{name}-{setting}.db'}?synchronous={setting}"
             for name in ("old", "new")]  # fmt: skip
    return files[0], files[1], f"{folder / f'raw-{setting}.db'}|{level}", f"SQLite {level}"


@contextmanager
def _postgres() -> Iterator[str]:
    from benchmarks.durable import durable_postgres

    with durable_postgres() as server:
        import psycopg

        with psycopg.connect(server.url, autocommit=True) as connection:
            for name in ("old", "new", "raw"):
                connection.execute(f"CREATE DATABASE ab_{name}")
        yield server.url.rsplit("/", 1)[0] + "/ab"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the old source tree (src/ and benchmarks/)")
    parser.add_argument("--settings", default="normal,full,memory",
                        help="of normal, full, memory, postgres")  # fmt: skip
    parser.add_argument("--turns", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="per loop and turn")
    args = parser.parse_args(argv)
    settings = args.settings.split(",")
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        postgres = stack.enter_context(_postgres()) if "postgres" in settings else None
        chart = _Loop("chart", _HERE, "chart", "")
        stack.callback(chart.close)
        for setting in settings:
            old_target, new_target, raw_target, label = _targets(setting, folder, postgres)
            loops = [
                _Loop("old", args.old.resolve(), "engine", old_target),
                _Loop("new", _HERE, "engine", new_target),
            ]
            if raw_target:
                loops.append(_Loop("raw", _HERE, "raw", raw_target))
            loops.append(chart)
            turns: dict[str, list[tuple[float, float]]] = {loop.name: [] for loop in loops}
            for _ in range(args.turns):
                for index in range(10):
                    for loop in loops[index % len(loops) :] + loops[: index % len(loops)]:
                        loop.run(args.seconds / 10)
                for loop in loops:
                    turns[loop.name].append(loop.take())
            for loop in loops[:-1]:
                loop.close()
            print(_report(label, turns), flush=True)
    return 0


def _report(label: str, turns: dict[str, list[tuple[float, float]]]) -> str:
    def median(name: str, part: int) -> float:
        return statistics.median(turn[part] for turn in turns[name])

    lines = [f"## {label}"]
    for name in turns:
        lines.append(
            f"{name:6s} µs per op: wall {median(name, 0):8.1f}, CPU {median(name, 1):8.1f}"
        )
    ratios = [new[0] / old[0] for new, old in zip(turns["new"], turns["old"], strict=True)]
    cpu = [new[1] / old[1] for new, old in zip(turns["new"], turns["old"], strict=True)]
    lines.append(
        f"new / old: wall {statistics.median(ratios):.3f} ({min(ratios):.2f}-{max(ratios):.2f}),"
        f" CPU {statistics.median(cpu):.3f}"
    )
    if "raw" in turns:
        for name in ("old", "new"):
            per_turn = [
                engine[0] / (raw[0] + chart[0])
                for engine, raw, chart in zip(
                    turns[name], turns["raw"], turns["chart"], strict=True
                )
            ]
            lines.append(
                f"{name} engine / (raw + chart): {statistics.median(per_turn):.2f} "
                f"({min(per_turn):.2f}-{max(per_turn):.2f})"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
