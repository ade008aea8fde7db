"""`statewright schedules`: the tenant's cron schedules, as the workers running them
advertise them, with their last tick and their next."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from statewright.cli.render import at
from statewright.cli.session import JsonOption, TenantOption, UrlOption, open_session, print_json
from statewright.cli.tables import print_table, text, whole
from statewright.engine import ScheduleSeen

__all__ = ["schedules"]


def schedules(
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the tenant's cron schedules, their workers, last tick and next tick.

    The schedules that workers heard of in the last hour run, by name: what each does, its
    cron and time zone, the live workers running it, its last tick and its next. A schedule
    no live worker runs is marked: its ticks wait for one. So is one that no worker
    advertises any more but that ticked in the last 7 days (a deploy dropped it, or its
    workers stopped), listed for the default tenant with its last tick. The next tick is the
    one due and not yet run, if any.

    Example: statewright schedules --json
    """
    with open_session(url, tenant, as_json) as session:
        found = session.engine.schedules(tenant=session.tenant)
        if as_json:
            print_json({"schedules": found})
            return
        if not found:
            session.console.print(
                "no schedules: no worker heard of in the last hour runs one for tenant "
                f"{session.tenant!r}; define SCHEDULES in the implementations file and run "
                "statewright worker (docs/cli.md, statewright worker)"
            )
            return
        table = Table(
            text("schedule"),
            text("does"),
            whole("cron"),
            text("workers"),
            whole("last tick"),
            whole("next tick"),
        )
        for seen in found:
            table.add_row(
                _name(seen),
                seen.summary,
                f"{seen.cron}\n{seen.timezone}",
                _workers(seen),
                _last_tick(seen),
                at(seen.next_tick),
            )
        print_table(session.console, table)


def _name(seen: ScheduleSeen) -> Text:
    text = Text(seen.name)
    if seen.description:
        text.append(f"\n{seen.description}", style="dim")
    return text


def _workers(seen: ScheduleSeen) -> Text:
    if not seen.spec_known:
        last = seen.last_tick.at if seen.last_tick is not None else seen.last_heard_at
        return Text(f"no live worker (last ticked {at(last)})", style="red")
    if not seen.workers:
        return Text(f"no live worker (last heard {at(seen.last_heard_at)})", style="red")
    return Text("\n".join(f"{worker.host}:{worker.pid}" for worker in seen.workers))


def _last_tick(seen: ScheduleSeen) -> str:
    tick = seen.last_tick
    if tick is None:
        return "never"
    status = f"{tick.status}, taken over" if tick.taken_over else tick.status
    return f"{at(tick.at)}\n{status}"
