"""Definitions by id and content hash, and the machines that run each version.

Registering a machine stores its config (canonical JSON, sha256) as a new version when the
content differs from the latest version's, and remembers its Python implementations under its
id. An instance is pinned to the version it started on: its machine is that version's stored
config with the implementations registered for the id in this process (or none, for a
definition that needs none), so a running instance never changes behaviour when the
definition does.

A definition that cannot run here is refused before anything is stored: faults, content that
is not JSON data, and guards, actions or delays the machine does not provide (the chart calls
those on every transition). Steps may be missing: workers provide them.

Registering the content of an earlier version again makes it the latest: a new version with
that content (a rollback is one call). The store keeps one row per (id, hash), so such a
version is stored under a hash derived from the content's and the replaced version's
(`_reinstated_hash`); the first version with some content carries the content hash itself.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Mapping

from statewright.chart import Machine
from statewright.chart.implementations import EMPTY, Implementations
from statewright.engine.clock import Clock
from statewright.engine.payload import canonical_hash, dump_json
from statewright.errors import DefinitionError, Fault, NotFound, PayloadError
from statewright.store.protocol import Store
from statewright.store.records import DefinitionRecord

__all__ = ["Registry", "storable_faults"]

log = logging.getLogger("statewright.engine")


class Registry:
    """Registered definitions and a cache of machines per (id, version)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._implementations: dict[str, Implementations] = {}
        self._max_iterations: dict[str, int | None] = {}
        self._machines: dict[tuple[str, int], Machine] = {}
        #: The latest version seen per id; a start pinned to a stale one is refused by the
        #: store (DefinitionMoved) and the engine asks again with `fresh`.
        self._latest: dict[str, DefinitionRecord] = {}
        #: The (id, version)s whose warnings were logged here: once per engine, however
        #: often the same definition is registered again.
        self._warned: set[tuple[str, int]] = set()

    def register(self, machine: Machine | Mapping[str, object]) -> DefinitionRecord:
        """Store `machine`'s definition (a new version if it differs from the latest).

        Raises:
            DefinitionError: `machine` is neither a Machine nor a config dict; the config
                has faults, holds Python callables inline (name them and provide them
                instead) or is not JSON data; guards, actions or delays it names are not
                provided. Nothing is stored.

        Warnings (`Machine.warnings`) do not stop it: each is logged once per engine and
        version, at WARNING on the `statewright.engine` logger.
        """
        machine = _as_machine(machine)
        refusals = storable_faults(machine) + machine.unrunnable_faults
        if refusals:
            raise DefinitionError(refusals, machine_id=machine.id)
        config = machine.config
        text = _stored_text(config)
        content_hash = canonical_hash(config)
        now = self._clock.now()
        record = self._store.save_definition(machine.id, content_hash, text, now)
        latest = self._store.get_definition(machine.id)
        if latest is not None and latest.version != record.version and latest.config != text:
            # An earlier version's content, registered again: it becomes the latest.
            reinstated = _reinstated_hash(content_hash, latest.hash)
            record = self._store.save_definition(machine.id, reinstated, text, now)
        elif latest is not None and latest.config == text:
            record = latest
        self._implementations[machine.id] = machine.implementations
        self._max_iterations[machine.id] = machine.max_iterations_override
        self._machines = {key: m for key, m in self._machines.items() if key[0] != machine.id}
        self._machines[(machine.id, record.version)] = machine
        self._latest.pop(machine.id, None)
        self._log_warnings(machine, record)
        return record

    def provide(self, machine: Machine | Mapping[str, object]) -> None:
        """Run the stored versions of `machine.id` with `machine`'s implementations, storing
        nothing and reading nothing.

        Raises:
            DefinitionError: as `register`; nothing is provided.
        """
        machine = _as_machine(machine)
        refusals = storable_faults(machine) + machine.unrunnable_faults
        if refusals:
            raise DefinitionError(refusals, machine_id=machine.id)
        self._implementations[machine.id] = machine.implementations
        self._max_iterations[machine.id] = machine.max_iterations_override
        self._machines = {key: m for key, m in self._machines.items() if key[0] != machine.id}

    def stored_as(
        self, machine: Machine | Mapping[str, object]
    ) -> tuple[DefinitionRecord | None, DefinitionRecord | None]:
        """The latest stored version whose content is `machine`'s (None if none is), and
        the latest stored version of its id (None if none is stored). Reads the versions
        from the latest down, until one has that content."""
        machine = _as_machine(machine)
        text = _stored_text(machine.config)
        latest = self._store.get_definition(machine.id)
        if latest is None or latest.config == text:
            return latest, latest
        for version in range(latest.version - 1, 0, -1):
            record = self._store.get_definition(machine.id, version)
            if record is not None and record.config == text:
                return record, latest
        return None, latest

    def _log_warnings(self, machine: Machine, record: DefinitionRecord) -> None:
        """One WARNING line per warning of the definition (see `Machine.warnings`): it is
        registered and runs, but probably not as its author meant."""
        key = (machine.id, record.version)
        if not machine.warnings or key in self._warned:
            return
        self._warned.add(key)
        for warning in machine.warnings:
            log.warning(
                "definition %r version %d: %s",
                machine.id,
                record.version,
                warning,
                extra={
                    "kind": "definition_warning",
                    "definition_id": machine.id,
                    "definition_version": record.version,
                    "path": warning.path,
                    "warning": warning.message,
                    "fix": warning.fix,
                },
            )

    def version(self, definition_id: str, version: int) -> DefinitionRecord:
        """A stored version of a definition.

        Raises:
            NotFound: no such definition, or no such version (naming the versions there are).
        """
        record = self._store.get_definition(definition_id, version)
        if record is not None:
            return record
        latest = self.latest(definition_id, fresh=True)
        there = "only version 1" if latest.version == 1 else f"versions 1 to {latest.version}"
        raise NotFound(
            f"definition {definition_id!r} has no version {version} (it has {there}); "
            "pick one of those, or leave version out for the latest"
        )

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
            raise _no_definition(definition_id, [d.id for d in self._store.list_definitions()])
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
            max_iterations=self._max_iterations.get(definition_id),
        )
        self._machines[(definition_id, version)] = machine
        return machine


def _as_machine(machine: object) -> Machine:
    """A Machine as it is; a config dict as `Machine.from_config(config)`."""
    if isinstance(machine, Machine):
        return machine
    if isinstance(machine, Mapping):
        return Machine.from_config(machine)
    raise DefinitionError(
        [
            Fault(
                "",
                f"register() takes a Machine or a config dict, not {type(machine).__name__}",
                "pass Machine.from_config(config) or Machine.load(path), with its "
                "implementations provided",
            )
        ]
    )


def _stored_text(config: Mapping[str, object]) -> str:
    """A definition's config as the store keeps it (canonical JSON)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _reinstated_hash(content_hash: str, replaced_hash: str) -> str:
    """The hash of a version that brings back earlier content on top of `replaced_hash`:
    the same rollback made by two processes at once is one version."""
    return hashlib.sha256(f"{content_hash} after {replaced_hash}".encode()).hexdigest()


def storable_faults(machine: Machine) -> tuple[Fault, ...]:
    """Why the machine's config cannot be stored as a durable definition: Python callables
    inline, values that are not JSON, lone surrogates; empty if it can be."""
    try:
        json.dumps(machine.config, allow_nan=False)
    except (TypeError, ValueError) as error:
        return (
            Fault(
                "",
                f"a durable definition must be JSON data ({error})",
                "reference guards, actions and steps by name and pass the functions "
                "with provide(...)",
            ),
        )
    try:
        dump_json(machine.config, "the definition")
    except PayloadError as error:
        return (Fault("", str(error), "fix that string in the definition"),)
    return ()


def _no_definition(definition_id: str, ids: list[str]) -> NotFound:
    """The not-found of an id no definition has: the ids there are, the near miss, and how
    to register one, for every caller (the API, the CLI, Python)."""
    known = ", ".join(ids) or "none"
    close = difflib.get_close_matches(definition_id, ids, n=1)
    near = f"did you mean {close[0]!r}? If not, " if close else ""
    return NotFound(
        f"no definition {definition_id!r} (registered: {known}); {near}register it first "
        "(statewright serve registers the project's definitions folder; Python: "
        "engine.register(machine))"
    )
