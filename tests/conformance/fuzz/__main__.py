"""Differential fuzzing: random machines run in XState 5.33.3 and in statewright, compared.

    python -m tests.conformance.fuzz --count 500 --seed 1 [--keep DIR] [--show 3]

Generates `--count` cases (see generate.py), records them with `recorder/record.mjs` (node
and `npm install` in recorder/ needed), replays each through statewright with the corpus's
comparison (replay.py) and prints the agreement rate, the disagreements grouped by cause and
the cases XState itself refuses (not counted). Exit status 1 if any case disagrees.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tests.conformance.fuzz.causes import known_cause
from tests.conformance.fuzz.generate import generate_case
from tests.conformance.replay import first_difference

RECORDER = Path(__file__).resolve().parent.parent / "recorder"
#: Seconds XState may take for a batch before the first unrecorded case counts as hanging.
TIMEOUT = 30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.fuzz", description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="cases to generate (200)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the whole run (1)")
    parser.add_argument("--keep", type=Path, help="write cases/ and expected/ here and keep them")
    parser.add_argument("--show", type=int, default=3, help="full differences to print (3)")
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="statewright-fuzz-"))
    cases_dir, expected_dir = folder / "cases", folder / "expected"
    cases_dir.mkdir(parents=True, exist_ok=True)
    expected_dir.mkdir(parents=True, exist_ok=True)
    cases: dict[str, dict[str, Any]] = {}
    for index in range(args.count):
        case_seed = args.seed * 1_000_000 + index
        name = f"fuzz-{case_seed}"
        cases[name] = generate_case(case_seed)
        (cases_dir / f"{name}.json").write_text(json.dumps(cases[name], indent=1) + "\n")

    refused_by_xstate = record(cases_dir, expected_dir, sorted(cases))
    causes: dict[str, list[str]] = defaultdict(list)
    details: dict[str, str] = {}
    agreed = 0
    for name, case in cases.items():
        if name in refused_by_xstate:
            continue
        expected = json.loads((expected_dir / f"{name}.json").read_text())
        difference = compare(name, case, expected)
        if difference is None:
            agreed += 1
            continue
        causes[known_cause(case, expected, cause_of(difference))].append(name)
        details[name] = difference

    compared = len(cases) - len(refused_by_xstate)
    print(f"cases in {folder}")
    print(
        f"agreement: {agreed}/{compared} = {100 * agreed / max(compared, 1):.1f}% "
        f"({len(refused_by_xstate)} generated machines XState itself refuses, not counted)"
    )
    for cause, names in sorted(causes.items(), key=lambda item: -len(item[1])):
        print(
            f"  {len(names):4d}  {cause}: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}"
        )
    if refused_by_xstate:
        print("XState refuses:")
        for reason, count in Counter(refused_by_xstate.values()).most_common():
            print(f"  {count:4d}  {reason}")
    shown = [names[0] for names in causes.values()][: args.show]
    for name in shown:
        print(f"\n{details[name]}")
    return 1 if causes else 0


def record(cases_dir: Path, expected_dir: Path, names: list[str]) -> dict[str, str]:
    """Record `names` with XState; return the cases XState refused (or hung on), with why."""
    refused: dict[str, str] = {}
    pending = list(names)
    while pending:
        command = [
            "node",
            "--max-old-space-size=512",
            "record.mjs",
            "--cases",
            str(cases_dir),
            "--expected",
            str(expected_dir),
        ]
        try:
            result = subprocess.run(
                [*command, *pending],
                cwd=RECORDER,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            stderr = result.stderr
            hung = None
        except subprocess.TimeoutExpired as timeout:
            stderr = (timeout.stderr or b"").decode() if isinstance(timeout.stderr, bytes) else ""
            hung = True
        for match in re.finditer(r"^FAILED (\S+): (.*)$", stderr, re.MULTILINE):
            refused[match.group(1)] = _reason(match.group(2))
        done = {name for name in pending if (expected_dir / f"{name}.json").exists()}
        left = [name for name in pending if name not in done and name not in refused]
        if left and (hung or "heap out of memory" in stderr):
            refused[left[0]] = "hangs (runs out of time or memory)"
            left = left[1:]
        elif left:
            raise RuntimeError(f"record.mjs wrote nothing for {left[:3]}:\n{stderr[-2000:]}")
        pending = left
    return refused


def _reason(message: str) -> str:
    """A refusal's message without the names that vary from case to case."""
    message = re.sub(r"(['\"#])[\w.*-]+\1?", r"\1...", message)
    return message[:160]


def compare(name: str, case: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """The first difference between statewright and XState, or None."""
    from statewright.errors import DefinitionError

    try:
        return first_difference(name, case, expected)
    except DefinitionError as error:
        # Only what is wrong with the definition: the library is provided after loading.
        faults = "; ".join(
            f"{fault.path}: {fault.message}"
            for fault in error.faults
            if not fault.message.endswith("is not provided")
        )
        return f"{name}: statewright refuses the definition: {faults}"
    except Exception as error:
        return f"{name}: statewright raises {type(error).__name__}: {error}"


def cause_of(difference: str) -> str:
    """Group a difference by its kind: a refused definition by its fault messages, a trace
    difference by the step kind and the fields that differ."""
    first = difference.splitlines()[0]
    if "statewright refuses the definition" in first:
        messages = sorted(
            {
                re.sub(r'"[^"]*"', '"..."', part.split(": ", 1)[-1])
                for part in first.split("definition: ", 1)[1].split("; ")
            }
        )
        return "refused: " + "; ".join(messages)
    if "statewright raises" in first:
        return "raises: " + first.split("statewright raises ", 1)[1].split(":")[0]
    step = "start" if ", start " in first else ("send" if '"send"' in first else "advance")
    return f"trace differs at {step}: {first.rsplit(': ', 1)[1]}"


if __name__ == "__main__":
    sys.exit(main())
