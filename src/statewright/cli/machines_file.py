"""Loading `MACHINES = [...]` (and a worker's `LISTENERS`, `SCHEDULES` and `OUTBOX_RETRY`) from
a Python file, for commands that run definitions needing Python implementations.

The file is imported once, as a script would be: its folder goes first on `sys.path`, so it
can import the modules beside it, and it is registered under its own name, so that those
modules importing it back get the same module instead of running it a second time. Anything
that stops the import (no such file, a syntax error, a failing import, any exception at import
time) is a `ConfigError` of one line naming the file, the line and the fix.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from statewright.chart.faults import PROVIDE_IT
from statewright.cli.project import PROJECT_FILE, Project
from statewright.definitions import Machine
from statewright.errors import ConfigError, DefinitionError, Fault
from statewright.runtime.outbox_retry import outbox_policy
from statewright.runtime.retry import RetryPolicy

__all__ = [
    "WorkerSetup",
    "load_machines",
    "load_machines_or_implementations",
    "load_project_setup",
    "load_worker_setup",
    "project_implementations",
    "resolve_setup",
    "shown_path",
]

#: The module attributes a project's implementations file may define, by `provide` keyword.
_KINDS = {"guards": "GUARDS", "actions": "ACTIONS", "actors": "ACTORS", "delays": "DELAYS"}
#: What names a project's implementations file, for messages.
_IMPLEMENTATIONS_KEY = f"implementations = in {PROJECT_FILE}"


@dataclass(frozen=True, slots=True)
class WorkerSetup:
    """What a worker's setup file defines: definitions, outbox listeners, cron schedules,
    the outbox's retry policy."""

    machines: list[Machine]
    listeners: dict[str, object] = field(default_factory=dict)
    schedules: list[object] = field(default_factory=list)
    #: The outbox's retry policy (`OUTBOX_RETRY`), checked; None for the default.
    outbox_retry: RetryPolicy | None = None


def load_machines(path: Path) -> list[Machine]:
    """The `MACHINES` list a Python file defines.

    Raises:
        ConfigError: the file is missing, cannot be imported, or defines no MACHINES list.
    """
    return _machines(path, _import(path))


def load_worker_setup(path: Path) -> WorkerSetup:
    """`MACHINES`, and optionally `LISTENERS` (event pattern -> function) and `SCHEDULES`
    (schedule configurations), from one import of a Python file.

    Raises:
        ConfigError: the file is missing, cannot be imported, defines no MACHINES list, or
            LISTENERS / SCHEDULES are of the wrong shape.
    """
    module = _import(path)
    return _setup(path, module, _machines(path, module))


def resolve_setup(machines: Path | None, project: Project | None) -> WorkerSetup:
    """What a command that runs definitions (`worker`, `serve`, `verify`, `start`) registers:
    the `--machines` file's setup if given, else the project's definitions and
    implementations, else nothing. In a project, the `--machines` file may be an
    implementations file (GUARDS, ACTIONS, ACTORS, DELAYS, as `init` writes it): it is then
    provided to the project's definitions.

    Raises:
        ConfigError, DefinitionError: as `load_worker_setup` and `load_project_setup`.
    """
    if machines is not None:
        module = _import(machines)
        if project is not None and _is_implementations(module):
            provided = _provided(machines, module)
            definitions = _load_definitions(project.definitions, provided, machines)
            return _setup(machines, module, definitions)
        return _setup(machines, module, _machines(machines, module))
    if project is not None:
        return load_project_setup(project.definitions, project.implementations)
    return WorkerSetup([])


def project_implementations(project: Project | None) -> Path | None:
    """The project's implementations file, for the commands that check a definition against
    it as against a `--machines` file (`validate`, `paths`); None outside a project or when
    statewright.toml names none.

    Raises:
        ConfigError: statewright.toml names a file that is not there (the fix: its key).
    """
    if project is None or project.implementations is None:
        return None
    if not project.implementations.is_file():
        raise ConfigError(_missing(project.implementations, _IMPLEMENTATIONS_KEY))
    return project.implementations


def load_machines_or_implementations(path: Path) -> list[Machine] | dict[str, dict[str, object]]:
    """The `MACHINES` list a Python file defines; or, for an implementations file (as `init`
    writes it), its `GUARDS`, `ACTIONS`, `ACTORS` and `DELAYS` by `Machine.provide` keyword.

    Raises:
        ConfigError: the file is missing or cannot be imported, defines neither, or one of
            those is not a dict.
    """
    module = _import(path)
    if _is_implementations(module):
        return _provided(path, module)
    return _machines(path, module)


def _setup(path: Path, module: ModuleType, machines: list[Machine]) -> WorkerSetup:
    """The setup with `machines` and the module's LISTENERS, SCHEDULES and OUTBOX_RETRY,
    checked."""
    listeners = getattr(module, "LISTENERS", {})
    schedules = getattr(module, "SCHEDULES", [])
    if not isinstance(listeners, dict) or not all(
        isinstance(pattern, str) and callable(fn) for pattern, fn in listeners.items()
    ):
        raise ConfigError(
            f"{path}: LISTENERS must be a dict of event pattern -> function, "
            'e.g. LISTENERS = {"order.*": notify}'
        )
    if not isinstance(schedules, list):
        raise ConfigError(
            f"{path}: SCHEDULES must be a list of schedule configurations, "
            'e.g. SCHEDULES = [{"name": ..., "cron": ..., "action": ...}]'
        )
    retry = getattr(module, "OUTBOX_RETRY", None)
    outbox_retry = None if retry is None else outbox_policy(retry, where=f"{path}: OUTBOX_RETRY")
    return WorkerSetup(machines, listeners, schedules, outbox_retry)


def load_project_setup(definitions: Path | None, implementations: Path | None) -> WorkerSetup:
    """A project's machines: each definition file in the `definitions` folder, provided with
    the implementations file's `GUARDS`, `ACTIONS`, `ACTORS` and `DELAYS` dicts (or, if it
    defines `MACHINES`, those instead), with its `LISTENERS` and `SCHEDULES`.

    Raises:
        ConfigError: the folder is missing, or the file as `load_worker_setup`.
        DefinitionError: a definition file has faults.
    """
    if implementations is None:
        return WorkerSetup(_load_definitions(definitions, {}, None))
    if not implementations.is_file():
        raise ConfigError(_missing(implementations, _IMPLEMENTATIONS_KEY))
    module = _import(implementations)
    if hasattr(module, "MACHINES"):
        return _setup(implementations, module, _machines(implementations, module))
    provided = _provided(implementations, module)
    return _setup(
        implementations, module, _load_definitions(definitions, provided, implementations)
    )


def _is_implementations(module: ModuleType) -> bool:
    """An implementations file: no MACHINES, and one of GUARDS, ACTIONS, ACTORS, DELAYS."""
    return not hasattr(module, "MACHINES") and any(hasattr(module, n) for n in _KINDS.values())


def _provided(path: Path, module: ModuleType) -> dict[str, dict[str, object]]:
    """The module's GUARDS, ACTIONS, ACTORS and DELAYS by `provide` keyword ({} if absent)."""
    provided: dict[str, dict[str, object]] = {}
    for keyword, name in _KINDS.items():
        value = getattr(module, name, None)
        if value is not None and not isinstance(value, dict):
            raise ConfigError(
                f"{path}: {name} must be a dict of name -> function, "
                f'e.g. {name} = {{"chargeCard": charge_card}}'
            )
        provided[keyword] = value or {}
    return provided


def _load_definitions(
    folder: Path | None, provided: dict[str, dict[str, object]], implementations: Path | None
) -> list[Machine]:
    """The definitions in `folder`, provided from the `implementations` file (None: none).

    Raises:
        DefinitionError: a definition has faults, or names a guard, action or delay the
            implementations file does not provide: named by the definition file, each
            missing one with where to add it (`add it to GUARDS in implementations.py`).
    """
    machines = []
    for file in _definition_files(folder):
        machine = Machine.load(file, **provided)  # type: ignore[arg-type]
        if machine.unrunnable_faults:
            faults = [_where_to_provide(f, implementations) for f in machine.unrunnable_faults]
            raise DefinitionError(
                faults, machine_id=machine.id, source=str(shown_path(file)), missing=faults
            )
        machines.append(machine)
    return machines


def _where_to_provide(fault: Fault, implementations: Path | None) -> Fault:
    """`fault` (an implementation not provided) with the fix a project's author makes: add
    it to the implementations file's dict of its kind, rather than `machine.provide(...)`.
    A delay that reads as a misspelt duration keeps its own fix (what was meant)."""
    hint, found, _ = fault.fix.partition(PROVIDE_IT)
    kind = fault.message.split(" ", 1)[0] + "s"
    if not found or kind not in _KINDS:
        return fault
    if implementations is None:
        where = (
            f"name a Python file in {PROJECT_FILE} (implementations = "
            f'"implementations.py") whose {_KINDS[kind]} dict provides it'
        )
    else:
        where = f"add it to {_KINDS[kind]} in {shown_path(implementations)}"
    return Fault(fault.path, fault.message, hint + where)


def shown_path(path: Path) -> Path:
    """`path` as messages show it: relative to the working folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _definition_files(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    if not folder.is_dir():
        raise ConfigError(
            f"{folder}: no such folder of definitions; create it, or fix definitions = in "
            "statewright.toml"
        )
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".json", ".yaml", ".yml"))


def _machines(path: Path, module: ModuleType) -> list[Machine]:
    machines = getattr(module, "MACHINES", None)
    if _is_implementations(module):
        raise ConfigError(
            f"{path} defines {', '.join(n for n in _KINDS.values() if hasattr(module, n))} "
            f"but no MACHINES list: such a file is provided to a project's definitions, and "
            f"there is no {PROJECT_FILE} here or above; run this in its project, or add "
            "MACHINES = [Machine.load(...), ...]"
        )
    if not isinstance(machines, list) or not all(isinstance(m, Machine) for m in machines):
        raise ConfigError(
            f"{path} defines no MACHINES list of machines; add MACHINES = [Machine.load(...), ...]"
        )
    return machines


def _import(path: Path) -> ModuleType:
    """Run the file once as a module whose folder is on `sys.path`."""
    if not path.is_file():
        raise ConfigError(_missing(path))
    path = path.resolve()
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: not a Python file; give a .py file defining MACHINES")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[name]
        line = f", line {error.lineno}" if error.lineno else ""
        where = error.filename or str(path)
        raise ConfigError(
            f"{where}{line}: {type(error).__name__}: {error.msg}; fix the file"
        ) from None
    except BaseException as error:
        del sys.modules[name]
        if not isinstance(error, Exception):
            raise  # KeyboardInterrupt, SystemExit: not the file's fault to report
        raise ConfigError(_import_failed(path, error)) from None
    return module


def _module_name(path: Path) -> str:
    """The file's own name, so that a module beside it importing it gets this module; a
    private name when that is taken by another module (`json.py`, a second file)."""
    taken = sys.modules.get(path.stem)
    if path.stem.isidentifier() and (taken is None or _same_file(taken, path)):
        return path.stem
    return f"_statewright_setup_{abs(hash(str(path)))}"


def _same_file(module: ModuleType, path: Path) -> bool:
    origin = getattr(module, "__file__", None)
    return origin is not None and Path(origin).resolve() == path


def _missing(path: Path, given_by: str = "the --machines path") -> str:
    """Why `path` cannot be imported, naming what gave it (`--machines`, or the project's
    `implementations =`) as the thing to fix."""
    if path.is_dir():
        return f"{path} is a folder; give the Python file in it (fix {given_by})"
    folder = path.parent
    nearby = [p.name for p in folder.glob("*.py")] if folder.is_dir() else []
    close = difflib.get_close_matches(path.name, nearby, n=1)
    if close:
        return f'{path}: no such file; did you mean "{folder / close[0]}"? (fix {given_by})'
    return f"{path}: no such file; fix {given_by}"


def _import_failed(path: Path, error: Exception) -> str:
    """One line: where in the file the import failed, what failed, and what to do."""
    frames = traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if frame.filename == str(path)]
    where = f"{path}, line {lines[-1]}" if lines and lines[-1] else str(path)
    origin = frames[-1] if frames else None
    if origin is not None and origin.filename != str(path) and "importlib" not in origin.filename:
        where += f" (in {origin.filename}, line {origin.lineno})"
    if isinstance(error, ModuleNotFoundError) and error.name and "." not in error.name:
        return (
            f"{where}: no module named {error.name!r}; install it, or put {error.name}.py "
            f"beside {path.name} (its folder is on the import path)"
        )
    if isinstance(error, ImportError):
        return f"{where}: ImportError: {error}; fix the import or install what it needs"
    return f"{where}: {type(error).__name__}: {error} (raised while importing it); fix the file"
