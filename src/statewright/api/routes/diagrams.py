"""A definition version's diagram model: what the console draws its statechart from."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request

from statewright.api.routes.common import DefinitionId, VersionQuery, Viewer, engine_of, errors
from statewright.diagram import diagram_model

__all__ = ["DiagramOut", "router"]

router = APIRouter(prefix="/api/v1", tags=["definitions"])

#: Diagram models by (definition, version, content hash): a version never changes.
_CACHE: OrderedDict[tuple[str, int, str], DiagramOut] = OrderedDict()
_CACHE_SIZE = 256
_LOCK = Lock()


class DiagramTargetOut(BaseModel):
    """One edge of a transition: its target and the state the edge is drawn in."""

    state: str = Field(description="The target state's id.")
    container: str | None = Field(
        description="The state the edge is drawn in (the lowest common ancestor of its ends); "
        "null for the page around the machine."
    )


class DiagramTransitionOut(BaseModel):
    """A transition with a target, drawn as labelled arrows (one per target)."""

    id: str
    source: str = Field(description="The source state's id.")
    label: str = Field(description="`EVENT [guard]`, `after 48h`, `done: payment`, `always`.")
    kind: str = Field(description="event, always, after, done or error.")
    event: str | None = Field(description="The event descriptor; null for `always`.")
    guard: str | None
    targets: list[DiagramTargetOut]


class DiagramStateOut(BaseModel):
    """A state box."""

    id: str
    key: str
    parent: str | None
    kind: str = Field(description="atomic, compound, parallel, final or history.")
    initial: str | None = Field(description="A compound state's initial child.")
    history: str | None = Field(description="shallow or deep, for a history state.")
    children: list[str]
    tags: list[str]
    description: str | None
    internal: list[str] = Field(description="Labels of the state's targetless transitions.")


class DiagramOut(BaseModel):
    """Everything the statechart drawing needs; states in document order."""

    definition: str
    version: int | None
    root: str = Field(description="The machine's root state id.")
    states: list[DiagramStateOut]
    transitions: list[DiagramTransitionOut]


@router.get(
    "/definitions/{definition_id}/diagram",
    response_model=DiagramOut,
    responses=errors(404),
    summary="Get a definition's diagram model",
)
def get_diagram(
    request: Request,
    definition_id: DefinitionId,
    caller: Viewer,
    version: VersionQuery = None,
) -> DiagramOut:
    """The states, transitions and labels of a definition version, for drawing it."""
    engine = engine_of(request)
    record = engine.definition(definition_id, version)
    key = (record.id, record.version, record.hash)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    machine = engine.registry.machine(record.id, record.version)
    found = DiagramOut.model_validate(
        diagram_model(machine, definition=record.id, version=record.version)
    )
    with _LOCK:
        _CACHE[key] = found
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return found
