"""How the commands show what the engine returns: instances as JSON-ready data, times as
UTC text, state values as `review.legal`, event payloads in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from statewright.engine import Instance
from statewright.engine.work_views import state_text

__all__ = [
    "at",
    "event_type",
    "fields_text",
    "instance_data",
    "one_line",
    "parse_fields",
    "parse_json",
    "state_text",
    "typed_as",
]


def instance_data(instance: Instance) -> dict[str, object]:
    """An instance as JSON data: ids, versions, business state and runtime status, context,
    times (ms since the epoch, UTC)."""
    return {
        "tenant": instance.tenant,
        "id": instance.id,
        "definition_id": instance.definition_id,
        "definition_version": instance.definition_version,
        "version": instance.version,
        "value": instance.value,
        "state": state_text(instance.value),
        "status": instance.status,
        "runtime_status": instance.runtime_status,
        "waiting_for": instance.waiting_for,
        "context": instance.context,
        "created_at": instance.created_at,
        "updated_at": instance.updated_at,
    }


def at(ms: int | None) -> str:
    """A time in UTC as `2026-12-05 01:02:03Z` ("-" for none)."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def one_line(value: object, width: int = 80) -> str:
    """JSON on one line, cut at `width` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"


def fields_text(schema: object, width: int = 60) -> str:
    """An event schema in brief: `amount: number (required), note: string` for an object
    schema with properties, else the schema as JSON on one line ("" for none)."""
    if schema is None:
        return ""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(schema, dict) or not isinstance(properties, dict):
        return one_line(schema, width)
    required = schema.get("required")
    needed = set(required) if isinstance(required, list) else set()
    parts = []
    for name, field in properties.items():
        kind = field.get("type", "any") if isinstance(field, dict) else "any"
        kind = "|".join(kind) if isinstance(kind, list) else str(kind)
        parts.append(f"{name}: {kind}" + (" (required)" if name in needed else ""))
    return ", ".join(parts)


def parse_json(text: str, what: str) -> object:
    """JSON text from an option.

    Raises:
        typer.BadParameter: it is not JSON (exit code 2), naming where it broke.
    """
    import typer

    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(
            f"{what} is not JSON ({error.msg} at character {error.pos}); e.g. "
            "'{\"amount\": 2500}'"
        ) from None


def event_type(text: str) -> str:
    """An EVENT argument: an event type, never empty.

    Raises:
        typer.BadParameter: it is empty or blank (exit code 2).
    """
    import typer

    if not text.strip():
        raise typer.BadParameter("the event type is empty; give one, e.g. APPROVE")
    return text


def typed_as(given: object, event: str) -> str:
    """The event's type: EVENT; a "type" among the fields or in --data must be the same.

    Raises:
        typer.BadParameter: they differ (the fields would otherwise be sent as another
            event than the one written).
    """
    import typer

    if given is not None and given != event:
        raise typer.BadParameter(
            f"the fields give type {given!r:.80} but EVENT is {event!r:.80}; give the type "
            "once, as EVENT"
        )
    return event


def parse_fields(fields: list[str]) -> dict[str, object]:
    """`key=value` arguments as an object: each value read as JSON when it is (`amount=25`,
    `ok=true`, `tags=["a"]`), as text otherwise (`by=ann`).

    Raises:
        typer.BadParameter: an argument without `=`.
    """
    import typer

    data: dict[str, object] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep or not key:
            raise typer.BadParameter(
                f"{field!r} is not key=value; write e.g. by=ann or amount=2500"
            )
        try:
            data[key] = json.loads(value)
        except json.JSONDecodeError:
            data[key] = value
    return data
