"""The cron schedules the workers run, of the caller's tenant (a schedule's tenant is its
action's): what each does, which live workers run it, its last tick and its next."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request

from statewright.api.routes.common import Viewer, engine_of, errors
from statewright.engine import ScheduleSeen

__all__ = ["ScheduleOut", "SchedulesOut", "router"]

router = APIRouter(prefix="/api/v1", tags=["work"])


class ScheduleWorkerOut(BaseModel):
    """A live worker that runs the schedule."""

    id: str
    host: str
    pid: int


class TickOut(BaseModel):
    """The schedule's latest claimed tick."""

    at: int = Field(description="The tick's time (epoch ms).")
    status: Literal["done", "running", "stalled"] = Field(
        description="done: its action ran; running: claimed, under way; stalled: its worker "
        "died holding it, and the next pass of a live worker takes it over."
    )
    taken_over: bool = Field(description="Claimed again after a worker died holding it.")


class ScheduleOut(BaseModel):
    """A cron schedule some worker heard of in the last hour runs."""

    name: str
    description: str
    cron: str
    timezone: str = Field(description="The IANA time zone whose wall clock the cron reads.")
    action: dict[str, Any] = Field(
        description="What a tick does, as configured; for a token without payloads, an "
        "event is only its type and a start's input is left out."
    )
    summary: str = Field(
        description='The action in words: "send REMIND to order instances in status active".'
    )
    tenant: str
    workers: list[ScheduleWorkerOut] = Field(
        description="The live workers that run it; empty: none does, its ticks wait."
    )
    last_heard_at: int = Field(
        description="When a worker that runs it was last heard of; for a schedule known only "
        "from its ticks, its last tick."
    )
    last_tick: TickOut | None = Field(description="null: it never ticked yet.")
    next_tick: int | None = Field(
        description="The tick it runs next (epoch ms): one due and not yet run, else the "
        "first after now by its cron and time zone; null: no tick in the next 50 years, or "
        "its spec is not known."
    )
    catch_up: str = Field(
        description='Which missed ticks run after downtime: "latest", a window such as '
        '"1h", or "all".'
    )
    spec_known: bool = Field(
        description="false: no worker heard of in the last hour advertises it; it is known "
        "from a tick of the last 7 days (listed for the default tenant), its cron, time zone "
        "and action empty."
    )


class SchedulesOut(BaseModel):
    """The tenant's cron schedules, by name."""

    items: list[ScheduleOut]


@router.get("/schedules", response_model=SchedulesOut, responses=errors(), summary="Cron schedules")
def schedules(request: Request, caller: Viewer) -> SchedulesOut:
    """The cron schedules of the caller's tenant that workers heard of in the last hour run,
    by name: each with the live workers running it, its last tick and its next."""
    found = engine_of(request).schedules(tenant=caller.tenant)
    return SchedulesOut(items=[_out(seen, payloads=caller.payloads) for seen in found])


def _out(seen: ScheduleSeen, *, payloads: bool) -> ScheduleOut:
    tick = seen.last_tick
    return ScheduleOut(
        name=seen.name,
        description=seen.description,
        cron=seen.cron,
        timezone=seen.timezone,
        action=_action(dict(seen.action), payloads),
        summary=seen.summary,
        tenant=seen.tenant,
        workers=[ScheduleWorkerOut(id=w.id, host=w.host, pid=w.pid) for w in seen.workers],
        last_heard_at=seen.last_heard_at,
        last_tick=None
        if tick is None
        else TickOut(at=tick.at, status=tick.status, taken_over=tick.taken_over),  # type: ignore[arg-type]
        next_tick=seen.next_tick,
        catch_up=seen.catch_up,
        spec_known=seen.spec_known,
    )


def _action(action: dict[str, Any], payloads: bool) -> dict[str, Any]:
    if payloads:
        return action
    shown = {key: value for key, value in action.items() if key != "input"}
    event = action.get("event")
    if isinstance(event, dict):
        shown["event"] = {"type": event.get("type")}
    return shown
