"""How a command that runs definitions once (`start`, `send`, `bulk send`, `verify`) uses
the definitions of its folder (the project's, or `--machines`): their implementations run
here, and the store's versions stay what they are.

`worker` and `serve` deploy: they register their definitions, so a changed one becomes the
store's latest version, and an earlier one registered again becomes the latest once more (a
rollback). A one-shot command must not do that as a side effect: run from a stale checkout,
it would move every new instance to an old version. So each definition is only provided
(`Engine.provide`: the stored versions run with this folder's implementations), except the
one a `start` starts: a definition this folder changed is registered as a new version (the
way to try an edit is to start it), said on stderr; one that is an earlier version of the
store's is refused, naming both versions and how to roll back on purpose.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from statewright.definitions import Machine
from statewright.engine import Engine
from statewright.errors import ConfigError, DefinitionError

__all__ = ["use_definitions"]


def use_definitions(
    engine: Engine,
    machines: list[Machine],
    source: Path | None,
    starting: str | None,
    notes: Console,
) -> None:
    """Provide `machines` to `engine`, registering the one `starting` names if this folder
    changed it (said on `notes`).

    Raises:
        DefinitionError: a definition cannot run, naming `source`.
        ConfigError: the started definition is an earlier version than the store's latest.
    """
    for machine in machines:
        try:
            engine.provide(machine)
            if machine.id == starting:
                _use_to_start(engine, machine, source, notes)
        except DefinitionError as error:
            if source is None or error.source is not None:
                raise
            raise DefinitionError(
                error.faults, machine_id=error.machine_id, source=str(source), missing=error.missing
            ) from None


def _use_to_start(engine: Engine, machine: Machine, source: Path | None, notes: Console) -> None:
    """Register `machine` if no stored version has its content; refuse it if it is an
    earlier version than the latest."""
    same, stored = engine.stored_as(machine)
    where = str(source) if source is not None else "this folder"
    if same is None:
        record = engine.register(machine)
        before = f"; the store's latest was {stored.version}" if stored is not None else ""
        notes.print(f"registered {machine.id!r} version {record.version} from {where}{before}")
        return
    version = same.version
    if stored is not None and version != stored.version:
        raise ConfigError(
            f"{where}: {machine.id!r} here is version {version} of the store's, not its latest "
            f"({stored.version}): starting it would make version {version} the latest again "
            f"for every new instance (a rollback); update this folder's definition, or, to "
            f"roll back on purpose, start `statewright worker` or `serve` from this folder "
            f"(they register its definitions)"
        )
