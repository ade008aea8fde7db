"""The event schemas definitions declare, in the OpenAPI document.

The send route takes any event (`{"type": ..., ...fields}`): which fields an event needs
depends on the instance's definition, not on the route. So the declared schemas are listed
beside the routes, for the latest version of each stored definition:

- `components/schemas` gains one schema per declared event, named
  `<definition>.<EVENT>.fields`, and one per declared start input, `<definition>.input`
  (characters OpenAPI does not allow in a component name become `_`). Each is the schema as
  declared, the event's fields besides `type`, with an `$id` of its own
  (`urn:statewright:<definition>:<version>:event:<EVENT>`) so that the references inside it
  (`#/$defs/item`) still resolve against it and not against the OpenAPI document.
- `x-statewright-definitions` maps each definition to its version and, per event type and for
  the input, a `$ref` to that component: what a console or a client generator reads to build
  a form or a model per event.

Instances started on older versions keep those versions' schemas; `GET .../accepted` gives
the schemas that apply to one instance now.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote


class DefinitionRecord(Protocol):
    """What is read here of a stored definition version (as `Engine.definitions` gives)."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def config(self) -> str: ...


__all__ = ["EXTENSION_MEMBER", "with_event_schemas"]

EXTENSION_MEMBER = "x-statewright-definitions"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def with_event_schemas(
    document: Mapping[str, Any], definitions: Iterable[DefinitionRecord]
) -> dict[str, Any]:
    """A copy of the OpenAPI `document` listing the schemas `definitions` declare."""
    result = copy.deepcopy(dict(document))
    components = result.setdefault("components", {}).setdefault("schemas", {})
    listed: dict[str, Any] = {}
    for record in definitions:
        options = _options(record)
        events = options.get("events")
        entry: dict[str, Any] = {"version": record.version, "events": {}}
        for event_type, schema in (events if isinstance(events, dict) else {}).items():
            name = _component(f"{record.id}.{event_type}.fields", components)
            components[name] = _identified(schema, record, f"event:{quote(event_type, safe='')}")
            entry["events"][event_type] = {"$ref": f"#/components/schemas/{name}"}
        if options.get("input") is not None:
            name = _component(f"{record.id}.input", components)
            components[name] = _identified(options["input"], record, "input")
            entry["input"] = {"$ref": f"#/components/schemas/{name}"}
        if entry["events"] or "input" in entry:
            listed[record.id] = entry
    result[EXTENSION_MEMBER] = listed
    return result


def _options(record: DefinitionRecord) -> dict[str, Any]:
    config = json.loads(record.config)
    options = config.get("statewright") if isinstance(config, dict) else None
    return options if isinstance(options, dict) else {}


def _component(wanted: str, taken: Mapping[str, object]) -> str:
    """A component name OpenAPI allows, not taken yet."""
    name = _UNSAFE.sub("_", wanted)
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name}_{n}"
    return unique


def _identified(schema: object, record: DefinitionRecord, what: str) -> object:
    """The schema with an `$id` of its own (a boolean schema as `{}` or `{"not": {}}`)."""
    if isinstance(schema, bool):
        schema = {} if schema else {"not": {}}
    if not isinstance(schema, dict):
        return {}
    return {"$id": f"urn:statewright:{quote(record.id, safe='')}:{record.version}:{what}", **schema}
