"""`statewright retry`: a step waiting for its next attempt runs now."""

from __future__ import annotations

from typing import Annotated

import typer

from statewright.cli.render import at
from statewright.cli.session import JsonOption, TenantOption, UrlOption, open_session, print_json

__all__ = ["retry"]


def retry(
    instance_id: Annotated[str, typer.Argument(help="The instance id.")],
    invoke_id: Annotated[
        str | None,
        typer.Argument(help="The step's invoke id (default: every step waiting for a retry)."),
    ] = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make a step that waits for its next attempt due now.

    A worker that provides it takes it at once. Refused (exit 1) with the reason when it is
    running, pending, finished, gave up, or there is no such step.

    Example: statewright retry A-1 charge
    """
    with open_session(url, tenant, as_json) as session:
        runs = session.engine.retry_step(instance_id, invoke_id, tenant=session.tenant)
        if as_json:
            print_json(runs)
            return
        for run in runs:
            most = f" of {run.max_attempts}" if run.max_attempts else ""
            session.console.print(
                f"{instance_id}: step {run.invoke_id} ({run.src}) is due now "
                f"({at(run.next_attempt_at)}): attempt {run.attempts + 1}{most} next; "
                f"last error: {run.last_error or '-'}"
            )
