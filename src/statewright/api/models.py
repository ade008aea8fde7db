"""The request and response bodies of the API, as pydantic models (the OpenAPI document is
made from them). Values, contexts and event payloads are any JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from statewright.engine.payload import MAX_DEPTH, dump_json
from statewright.errors import PayloadError

__all__ = [
    "AcceptedEventOut",
    "AcceptedOut",
    "DefinitionOut",
    "DefinitionSummary",
    "DefinitionVersion",
    "DefinitionsOut",
    "EventIn",
    "HealthOut",
    "HistoryOut",
    "InstanceOut",
    "InstancesOut",
    "StartIn",
    "TransitionOut",
]


class StartIn(BaseModel):
    """Start an instance of a definition (its latest version unless `version`)."""

    model_config = ConfigDict(extra="forbid")

    definition: str = Field(min_length=1, max_length=200, description="The definition id.")
    input: Any = Field(default=None, description="The start input (any JSON).")
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="A definition version."
    )

    @field_validator("input")
    @classmethod
    def _input_is_json_data(cls, value: Any) -> Any:
        return json_data(value, "the input")


class EventIn(BaseModel):
    """An event: its `type` and any other members as its payload."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(min_length=1, max_length=200, description="The event type.")

    @model_validator(mode="after")
    def _payload_is_json_data(self) -> EventIn:
        if self.model_extra:
            json_data(self.model_extra, "the event")
        return self


def json_data(value: Any, what: str) -> Any:
    """`value` if it is JSON data the engine takes; a ValueError (a 422 naming the field)
    for what `json.loads` lets through but no stored JSON holds: NaN and Infinity, and
    nesting deeper than the engine's `MAX_DEPTH`. Checked here, before anything is dumped
    (NaN would silently become null, deep nesting a server error)."""
    try:
        dump_json(value, what, MAX_DEPTH)
    except PayloadError as error:
        raise ValueError(str(error)) from None
    return value


class InstanceOut(BaseModel):
    """An instance as it stands: business state (`value`, `context`) and runtime status."""

    id: str
    tenant: str
    definition: str
    definition_version: int
    version: int = Field(description="Increases by one per committed transition; the ETag.")
    value: Any = Field(description="The statechart value.")
    status: str = Field(description="active, done, error or stopped.")
    runtime_status: str
    context: Any = Field(default=None, description="Null when the token may not read it.")
    output: Any = None
    accepted_events: list[str]
    waiting_for: str | None = None
    payloads_withheld: bool = False
    created_at: int = Field(description="Milliseconds since the epoch.")
    updated_at: int


class InstancesOut(BaseModel):
    """A page of instances by id: `next_cursor` is the `cursor` of the next page, `next` (the
    last id) its `after`; both null on the last page."""

    items: list[InstanceOut]
    next_cursor: str | None
    next: str | None


class TransitionOut(BaseModel):
    """One committed transition (an audit row)."""

    instance_id: str
    version: int
    event: dict[str, Any] = Field(description="Only its type when payloads are withheld.")
    actor: str | None
    from_value: Any
    to_value: Any
    status: str
    runtime_status: str
    at: int
    idempotency_key: str | None


class HistoryOut(BaseModel):
    """Every committed transition of an instance, oldest first."""

    items: list[TransitionOut]


class AcceptedEventOut(BaseModel):
    """An event type the instance accepts now (or a wildcard descriptor), and what sending
    it takes."""

    type: str
    wildcard: bool = Field(description="A descriptor (`*`, `order.*`) matching many types.")
    guarded: bool = Field(description="Every transition for it has a guard, which may refuse.")
    roles: list[str] | None = Field(description="The roles that may send it; null: anyone.")
    targets: list[str] = Field(description="The states it leads to; empty: it stays.")
    allowed: bool = Field(description="Whether the caller's token may send it.")
    event_schema: dict[str, Any] | bool | None = Field(
        alias="schema",
        description="The JSON Schema (draft 2020-12) its fields besides `type` must fit, as "
        "the definition declares it; null when it declares none. A send that fails it: 422 "
        "naming each field.",
    )

    model_config = ConfigDict(populate_by_name=True)


class AcceptedOut(BaseModel):
    """The events the instance accepts now: their types, and each with whether a guard
    decides it, who may send it, where it leads and whether the caller may send it."""

    instance_id: str
    version: int
    value: Any
    status: str
    accepted_events: list[str]
    events: list[AcceptedEventOut] = Field(
        description="Each accepted event with its guard, roles, targets and field schema."
    )


class DefinitionVersion(BaseModel):
    """One stored version of a definition."""

    version: int
    hash: str
    created_at: int


class DefinitionSummary(DefinitionVersion):
    """A definition's latest version."""

    id: str


class DefinitionsOut(BaseModel):
    """Every stored definition, by id."""

    items: list[DefinitionSummary]


class DefinitionOut(DefinitionSummary):
    """One version of a definition, its config, and every version there is."""

    config: dict[str, Any]
    versions: list[DefinitionVersion]


class HealthOut(BaseModel):
    """Health: `ok`."""

    status: str
