"""Definitions: the stored ones (latest versions), and one with its config and versions."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request

from statewright.api.auth import Caller, caller_with
from statewright.api.models import (
    DefinitionOut,
    DefinitionsOut,
    DefinitionSummary,
    DefinitionVersion,
)
from statewright.api.routes.common import DefinitionId, VersionQuery, engine_of, errors

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["definitions"])

Viewer = Annotated[Caller, Depends(caller_with("viewer"))]


@router.get(
    "/definitions", response_model=DefinitionsOut, responses=errors(), summary="List definitions"
)
def list_definitions(request: Request, caller: Viewer) -> DefinitionsOut:
    """Every stored definition, at its latest version."""
    return DefinitionsOut(
        items=[
            DefinitionSummary(id=d.id, version=d.version, hash=d.hash, created_at=d.created_at)
            for d in engine_of(request).definitions()
        ]
    )


@router.get(
    "/definitions/{definition_id}",
    response_model=DefinitionOut,
    responses=errors(404),
    summary="Get a definition",
)
def get_definition(
    request: Request,
    definition_id: DefinitionId,
    caller: Viewer,
    version: VersionQuery = None,
) -> DefinitionOut:
    """A definition's config (the latest version's unless `version`) and every version."""
    engine = engine_of(request)
    record = engine.definition(definition_id, version)
    versions = engine.definition_versions(definition_id)
    return DefinitionOut(
        id=record.id,
        version=record.version,
        hash=record.hash,
        created_at=record.created_at,
        config=json.loads(record.config),
        versions=[
            DefinitionVersion(version=v.version, hash=v.hash, created_at=v.created_at)
            for v in versions
        ],
    )
