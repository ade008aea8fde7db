"""Definitions by id and content hash, and the machines that run each version.

Registering a machine stores its config (canonical JSON, sha256) as a new version when the
content changed, and remembers its Python implementations under its id. An instance is pinned
to the version it started on: its machine is that version's stored config with the
implementations registered for the id in this process (or none, for a definition that needs
none), so a running instance never changes behaviour when the definition does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from statewright.chart import Machine
from statewright.chart.implementations import EMPTY, Implementations
from statewright.engine.clock import Clock
from statewright.engine.payload import canonical_hash
from statewright.errors import DefinitionError, Fault, NotFound
from statewright.store.protocol import Store
from statewright.store.records import DefinitionRecord

__all__ = ["Registry"]


class Registry:
    """Registered definitions and a cache of machines per (id, version)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._implementations: dict[str, Implementations] = {}
        self._max_iterations: dict[str, int] = {}
        self._machines: dict[tuple[str, int], Machine] = {}
        #: The latest version seen per id; a start pinned to a stale one is refused by the
        #: store (DefinitionMoved) and the engine asks again with `fresh`.
        self._latest: dict[str, DefinitionRecord] = {}

    def register(self, machine: Machine) -> DefinitionRecord:
        """Store `machine`'s definition (a new version if its content changed).

        Raises:
            DefinitionError: the config holds Python callables inline (name them and provide
                them instead), or is not JSON data.
        """
        config = _plain_config(machine)
        text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        record = self._store.save_definition(
            machine.id, canonical_hash(config), text, self._clock.now()
        )
        self._implementations[machine.id] = machine.implementations
        self._max_iterations[machine.id] = machine.max_iterations
        self._machines = {key: m for key, m in self._machines.items() if key[0] != machine.id}
        self._machines[(machine.id, record.version)] = machine
        self._latest.pop(machine.id, None)
        return record

    def latest(self, definition_id: str, *, fresh: bool = False) -> DefinitionRecord:
        """The latest stored version of a definition, as last seen here unless `fresh`
        (another process may have registered a newer one since: see `_latest`).

        Raises:
            NotFound: no such definition; register it first.
        """
        cached = None if fresh else self._latest.get(definition_id)
        if cached is not None:
            return cached
        record = self._store.get_definition(definition_id)
        if record is None:
            known = ", ".join(d.id for d in self._store.list_definitions()) or "none"
            raise NotFound(
                f"no definition {definition_id!r} (registered: {known}); "
                "call engine.register(machine) first"
            )
        self._latest[definition_id] = record
        return record

    def actor_sources(self) -> frozenset[str]:
        """The step sources (`src` names of actors) the machines registered here provide."""
        return frozenset(
            src
            for implementations in self._implementations.values()
            for src in implementations.actors
        )

    def machine(self, definition_id: str, version: int) -> Machine:
        """The machine that runs instances of this definition version."""
        cached = self._machines.get((definition_id, version))
        if cached is not None:
            return cached
        record = self._store.get_definition(definition_id, version)
        if record is None:
            raise NotFound(f"definition {definition_id!r} version {version} is not stored")
        machine = Machine(
            json.loads(record.config),
            self._implementations.get(definition_id, EMPTY),
            max_iterations=self._max_iterations.get(definition_id, 1000),
        )
        self._machines[(definition_id, version)] = machine
        return machine


def _plain_config(machine: Machine) -> Mapping[str, object]:
    try:
        json.dumps(machine.config, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise DefinitionError(
            [
                Fault(
                    "",
                    f"a durable definition must be JSON data ({error})",
                    "reference guards, actions and steps by name and pass the functions "
                    "with provide(...)",
                )
            ],
            machine_id=machine.id,
        ) from None
    return machine.config
