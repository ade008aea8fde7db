"""Typed events: a JSON Schema (draft 2020-12) per event type, and for the start input.

XState v5 types its events in TypeScript only (`types: {events: ...}`), which leaves nothing
at run time; a JSON definition declares them under the machine's namespaced extension, which
plain XState ignores::

    "statewright": {
      "events": {"APPROVE": {"type": "object",
                             "properties": {"amount": {"type": "number", "minimum": 0}},
                             "required": ["amount"]}},
      "input": {"type": "object", "required": ["customer"]},
      "strict_events": false
    }

A schema describes the event's fields *other than* `type`: the type is the key it is declared
under, so a schema need not repeat it, `"additionalProperties": false` closes the fields a
caller may send without having to allow `type`, and the schema is exactly what a form for the
event asks for (the console builds its forms from them). Field paths in errors are the paths
guards and assigns read (`event.amount` -> `amount`, `items[2].sku`).

Loading checks each schema against the draft 2020-12 meta-schema and that every `$ref`
resolves inside it (nothing is fetched: a remote reference is refused), and warns of an event
type declared that no state handles. Validators are built once per machine, so once per
definition version. `format` is an annotation, as draft 2020-12 has it by default: write a
`pattern` to enforce a shape. Event types without a schema are not checked, unless
`strict_events` is true: then an outside event must be declared (`xstate.*` events, which
statewright delivers itself, never are).

jsonschema is the one library beside the standard library the chart uses: a pure function of
schema and data (no I/O, clock or randomness; remote references are refused above).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from statewright.chart.events import matches_descriptor
from statewright.chart.faults import Faults, did_you_mean, join_path, kind_of
from statewright.errors import PayloadInvalid

__all__ = [
    "EXTENSION_KEYS",
    "EventSchemas",
    "FieldError",
    "load_event_schemas",
    "payload_invalid",
]

#: The options of the machine root's `"statewright"` object.
EXTENSION_KEYS = ("events", "input", "strict_events")
#: The most field errors reported for one event (a wrong type at the top can fail many).
MAX_ERRORS = 20
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_EMPTY_REGISTRY: Registry[Mapping[str, object] | bool] = Registry()
#: The draft 2020-12 meta-schema's validator (its references resolve in the meta-schemas
#: jsonschema ships with: nothing is fetched).
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)
_SCHEMA_FIX = (
    'write a JSON Schema (draft 2020-12) of the fields besides "type", e.g. {"type": "object", '
    '"properties": {"amount": {"type": "number"}}, "required": ["amount"]}'
)
_INPUT_FIX = (
    'write a JSON Schema (draft 2020-12) of the start input, e.g. {"type": "object", '
    '"properties": {"customer": {"type": "string"}}, "required": ["customer"]}'
)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One way an event (or input) fails its schema.

    Attributes:
        path: the field, as guards read it (`amount`, `items[2].sku`); "" for the whole event.
        message: what is wrong with it.
    """

    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        """`{"path": ..., "message": ...}`."""
        return {"path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"


class EventSchemas:
    """The declared schemas of one machine, with their validators built once."""

    def __init__(
        self,
        events: Mapping[str, Mapping[str, object] | bool],
        input: Mapping[str, object] | bool | None,
        *,
        strict: bool,
    ) -> None:
        self.events = dict(events)
        self.input = input
        self.strict = strict
        self._validators = {key: _validator(schema) for key, schema in self.events.items()}
        self._input = None if input is None else _validator(input)
        #: False when no event can fail (`event_errors` is always empty): no schema
        #: declared for any type and not strict.
        self.checks = bool(self._validators) or strict

    def schema_for(self, event_type: str) -> Mapping[str, object] | bool | None:
        """The schema declared for `event_type`, or None."""
        return self.events.get(event_type)

    def event_errors(self, event: Mapping[str, object]) -> list[FieldError]:
        """How `event` fails the schema of its type: empty if it fits, or if its type
        declares none (and the machine is not strict, or the type is an `xstate.*` one)."""
        event_type = str(event.get("type"))
        validator = self._validators.get(event_type)
        if validator is None:
            if self.strict and not event_type.startswith("xstate."):
                declared = ", ".join(sorted(self.events)) or "none"
                return [
                    FieldError(
                        "type",
                        f"{event_type!r} is not a declared event type (declared: {declared}); "
                        "this definition sets strict_events",
                    )
                ]
            return []
        fields = {key: value for key, value in event.items() if key != "type"}
        return _errors(validator, fields)

    def input_errors(self, input: object) -> list[FieldError]:
        """How the start input fails the declared input schema (empty if none is)."""
        return [] if self._input is None else _errors(self._input, input)


def payload_invalid(
    machine_id: str,
    event_type: str | None,
    errors: list[FieldError],
    instance_id: str | None = None,
) -> PayloadInvalid:
    """The refusal of an event (or, with `event_type` None, a start input) that fails its
    schema: each field and what is wrong with it, and where the schema is declared."""
    what = "the start input" if event_type is None else f"event {event_type!r}"
    where = f"{instance_id}: " if instance_id else ""
    declared = "input" if event_type is None else f"events.{event_type}"
    listed = "; ".join(str(error) for error in errors)
    return PayloadInvalid(
        f"{where}{what} does not fit its schema: {listed}; fix "
        f"{'that field' if len(errors) == 1 else 'those fields'} (machine {machine_id!r} "
        f"declares the schema at statewright.{declared}); nothing was changed",
        event_type=event_type,
        errors=[error.to_json() for error in errors],
        definition_id=machine_id,
        instance_id=instance_id,
    )


def _validator(schema: Mapping[str, object] | bool) -> Draft202012Validator:
    # An empty registry: references resolve inside the schema itself, nothing is fetched.
    return Draft202012Validator(schema, registry=_EMPTY_REGISTRY)


def _errors(validator: Draft202012Validator, value: object) -> list[FieldError]:
    found: list[FieldError] = []
    for error in validator.iter_errors(value):
        found.append(FieldError(_field_of(error), error.message))
        if len(found) == MAX_ERRORS:
            break
    return found


def _field_of(error: ValidationError) -> str:
    """The error's field path; for a missing required property, the property's own path."""
    path = ""
    for key in error.absolute_path:
        path = join_path(path, key)
    if error.validator == "required" and isinstance(error.validator_value, list):
        for name in error.validator_value:
            if isinstance(name, str) and error.message == f"{name!r} is a required property":
                return join_path(path, name)
    return path


def load_event_schemas(extension: object, descriptors: set[str], faults: Faults) -> EventSchemas:
    """Read the machine root's `"statewright"` object (checked for unknown keys already).

    Each schema must be a valid draft 2020-12 JSON Schema whose references resolve inside it
    (a fault names its path otherwise); a declared event type no state handles (`descriptors`
    are the event descriptors of every transition) is a warning.
    """
    options = extension if isinstance(extension, Mapping) else {}
    events: dict[str, Mapping[str, object] | bool] = {}
    raw_events = options.get("events")
    at = "statewright.events"
    if raw_events is not None and not isinstance(raw_events, Mapping):
        faults.add(
            at,
            f'"events" must map event types to schemas, not {kind_of(raw_events)}',
            'write "events": {"APPROVE": {"type": "object", ...}}',
        )
    for event_type, schema in (raw_events if isinstance(raw_events, Mapping) else {}).items():
        path = join_path(at, str(event_type))
        if not _usable_type(event_type, path, faults):
            continue
        if _check_schema(schema, path, faults):
            events[event_type] = schema
            if not any(matches_descriptor(d, event_type) for d in descriptors):
                hint = did_you_mean(event_type, (d for d in descriptors if "*" not in d))
                faults.warn(
                    path,
                    f'no state handles the declared event "{event_type}"',
                    hint or "add a transition for it, or remove its schema",
                )
    raw_input = options.get("input")
    input_schema = None
    if raw_input is not None and _check_schema(
        raw_input, "statewright.input", faults, fix=_INPUT_FIX
    ):
        input_schema = raw_input
    strict = options.get("strict_events", False)
    if not isinstance(strict, bool):
        faults.add(
            "statewright.strict_events",
            "strict_events must be true or false",
            "write true to refuse event types that declare no schema",
        )
        strict = False
    return EventSchemas(events, input_schema, strict=strict)


def _usable_type(event_type: object, path: str, faults: Faults) -> bool:
    if not isinstance(event_type, str) or not event_type:
        faults.add(path, "an event type must be a non-empty string", "write the type as a key")
        return False
    if "*" in event_type or event_type.startswith("xstate."):
        faults.add(
            path,
            f"{event_type!r} cannot have a schema: "
            + ("declare one per exact event type" if "*" in event_type else "it is reserved"),
            "declare schemas for the event types callers send",
        )
        return False
    return True


def _check_schema(schema: object, path: str, faults: Faults, *, fix: str = _SCHEMA_FIX) -> bool:
    """True if `schema` is a valid draft 2020-12 schema whose references resolve."""
    if not isinstance(schema, (Mapping, bool)):
        faults.add(path, f"a schema must be an object or a boolean, not {kind_of(schema)}", fix)
        return False
    if isinstance(schema, Mapping) and schema.get("$schema", _DRAFT) != _DRAFT:
        faults.add(
            join_path(path, "$schema"),
            f"unsupported schema dialect {schema['$schema']!r}",
            f'statewright reads draft 2020-12: write "{_DRAFT}" or remove "$schema"',
        )
        return False
    bad = False
    for error in _META.iter_errors(schema):
        where = path
        for key in error.absolute_path:
            where = join_path(where, key)
        faults.add(where, f"not a valid JSON Schema: {error.message}", fix)
        bad = True
    if bad or isinstance(schema, bool):
        return not bad
    resolver = _EMPTY_REGISTRY.resolver_with_root(DRAFT202012.create_resource(schema))
    for where, ref in _references(schema, path):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            faults.add(
                where,
                f"$ref {ref!r} does not resolve inside this schema",
                'point it at a part of the same schema ("#/$defs/item"); '
                "nothing is fetched from elsewhere",
            )
            bad = True
    return not bad


def _references(schema: object, path: str) -> list[tuple[str, str]]:
    """Every `$ref` and `$dynamicRef` in `schema`, with its JSON path (no recursion)."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[object, str]] = [(schema, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, Mapping):
            for key, value in item.items():
                inner = join_path(at, str(key))
                if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                    found.append((inner, value))
                else:
                    stack.append((value, inner))
        elif isinstance(item, list):
            stack.extend((value, join_path(at, index)) for index, value in enumerate(item))
    return found
