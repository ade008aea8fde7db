"""Shrink a case on which statewright and XState disagree, keeping the disagreement.

    python -m tests.conformance.fuzz.minimise CASE.json [--out SMALL.json]

Each round tries every single deletion (a key of an object, an element of a list, a step),
records all of them with XState in one run, and keeps the smallest that XState still accepts
and statewright still gets wrong in the same way (the same kind of difference, see
`cause_of`, and as unexplained or as explained by the same deliberate difference, see
`causes.py`: a smaller case that only a known difference explains is not kept). It stops when
no deletion keeps the disagreement.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conformance.fuzz.__main__ import cause_of, compare, record
from tests.conformance.fuzz.causes import known_cause

#: Keys never deleted: the machine needs them to mean anything.
_KEEP = frozenset({"id", "type", "src"})


def deletions(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path whose deletion still leaves JSON (object keys and list elements)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _KEEP and not (key == "guard" and _bounds(item)):
                yield (*path, key)
            yield from deletions(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if not _bounds(item):
                yield (*path, index)
            yield from deletions(item, (*path, index))


def _bounds(item: Any) -> bool:
    """What keeps a generated loop finite (see generate.py): never deleted on its own."""
    text = json.dumps(item)
    return item == "inc" or (
        isinstance(item, dict) and ('"countLt"' in text or '"armed"' in text) and len(text) < 120
    )


def without(value: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(value))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return copy


def minimise(case: dict[str, Any]) -> dict[str, Any]:
    expected_cause = _cause(case, {})
    if expected_cause is None:
        raise SystemExit("the case agrees with XState: nothing to minimise")
    print(f"keeping: {expected_cause}")
    case = _shrink(case, expected_cause, coarse=True)
    return _shrink(case, expected_cause, coarse=False)


#: In the coarse pass: whole states, steps and what a state declares.
_COARSE = frozenset({"on", "after", "always", "invoke", "entry", "exit", "onDone", "output"})


@contextmanager
def _workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="statewright-minimise-") as name:
        folder = Path(name)
        (folder / "cases").mkdir()
        (folder / "expected").mkdir()
        yield folder


def _shrink(case: dict[str, Any], expected_cause: str, *, coarse: bool) -> dict[str, Any]:
    while True:
        with _workspace() as folder:
            kept = _kept_deletions(case, expected_cause, folder, coarse=coarse)
        if not kept:
            return case
        # Try every deletion that kept the difference at once; else the largest one alone.
        # Later list elements go first, so that earlier indexes stay right.
        together = case
        for path in sorted(kept, key=_order, reverse=True):
            if not any(other != path and path[: len(other)] == other for other in kept):
                together = without(together, path)
        if len(kept) > 1 and _cause(together, {}) == expected_cause:
            case = together
        else:
            case = min((without(case, path) for path in kept), key=lambda c: len(json.dumps(c)))
        print(f"  {len(json.dumps(case))} characters")


def _order(path: tuple[Any, ...]) -> list[tuple[int, int, str]]:
    return [(0, key, "") if isinstance(key, int) else (1, 0, str(key)) for key in path]


def _kept_deletions(
    case: dict[str, Any], expected_cause: str, folder: Path, *, coarse: bool
) -> list[tuple[Any, ...]]:
    """The single deletions that XState accepts and that keep `expected_cause`."""
    paths = candidates(case, coarse=coarse)
    names = {f"c{index:05d}": path for index, path in enumerate(paths)}
    for name, path in names.items():
        (folder / "cases" / f"{name}.json").write_text(json.dumps(without(case, path)))
    refused = record(folder / "cases", folder / "expected", sorted(names))
    kept = []
    for name, path in names.items():
        if name in refused:
            continue
        expected = json.loads((folder / "expected" / f"{name}.json").read_text())
        if _cause(without(case, path), expected) == expected_cause:
            kept.append(path)
    return kept


def candidates(case: dict[str, Any], *, coarse: bool) -> list[tuple[Any, ...]]:
    """The deletions to try: inside the machine and the steps, never the two themselves (a
    case without steps still differs at its start, and then cannot be shrunk further)."""
    paths = [
        path
        for path in deletions({"machine": case["machine"], "steps": case["steps"]})
        if len(path) > 1
    ]
    if coarse:
        paths = [p for p in paths if p[-1] in _COARSE or p[-2] in ("states", "steps")]
    return paths


def _cause(case: dict[str, Any], expected: dict[str, Any]) -> str | None:
    if not expected:
        with _workspace() as folder:
            (folder / "cases" / "case.json").write_text(json.dumps(case))
            if record(folder / "cases", folder / "expected", ["case"]):
                return None
            expected = json.loads((folder / "expected" / "case.json").read_text())
    difference = compare("case", case, expected)
    return None if difference is None else known_cause(case, expected, cause_of(difference))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.fuzz.minimise")
    parser.add_argument("case", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    case = json.loads(args.case.read_text())
    small = minimise(case)
    text = json.dumps(small, indent=1) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
