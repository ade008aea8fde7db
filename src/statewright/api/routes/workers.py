"""The workers heard of recently: where each runs, which steps and listeners it provides,
and whether it is live. Workers serve every tenant; the list shows no tenant's data."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request

from statewright.api.routes.common import Viewer, engine_of, errors

__all__ = ["WorkerOut", "WorkersOut", "router"]

router = APIRouter(prefix="/api/v1", tags=["work"])


class WorkerOut(BaseModel):
    """A worker heard of recently."""

    id: str
    host: str
    pid: int
    steps: list[str] = Field(description="The step sources it runs.")
    listeners: list[str] = Field(description="The outbox event patterns it delivers.")
    started_at: int
    heartbeat_at: int = Field(description="When it was last heard of.")
    alive: bool = Field(description="Heard of within the last few heartbeats.")


class WorkersOut(BaseModel):
    """The workers heard of in the last hour, oldest first."""

    items: list[WorkerOut]


@router.get("/workers", response_model=WorkersOut, responses=errors(), summary="Workers seen")
def workers(request: Request, caller: Viewer) -> WorkersOut:
    """The workers heard of in the last hour (live ones, and those that stopped without a
    word), oldest first."""
    return WorkersOut(
        items=[
            WorkerOut(
                id=w.id,
                host=w.host,
                pid=w.pid,
                steps=list(w.steps),
                listeners=list(w.listeners),
                started_at=w.started_at,
                heartbeat_at=w.heartbeat_at,
                alive=w.alive,
            )
            for w in engine_of(request).workers()
        ]
    )
