"""`statewright prune`: remove finished instances older than a cutoff with their history,
archiving them first with --archive; --dry-run only counts them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from statewright.chart.durations import parse_duration_ms, suggest_duration
from statewright.cli.session import JsonOption, UrlOption, open_session, print_json
from statewright.engine import PruneReport
from statewright.engine.clock import iso_utc
from statewright.engine.pruning import DEFAULT_PRUNE_BATCH, MAX_PRUNE_BATCH

__all__ = ["prune"]

#: Milliseconds in a day.
DAY_MS = 86_400_000

#: How each reason an instance was held back reads.
_HELD = {
    "undelivered_outbox": "with an outbox message not delivered (deliver or redrive it first)",
    "stream_head": "holding the live stream's newest row (goes on a later run)",
    "changed": "changed while the run read it",
    "gone": "removed meanwhile",
    "log_mismatch": "whose audit rows do not match its version (run statewright verify)",
}


def _batch(value: int) -> int:
    if not 1 <= value <= MAX_PRUNE_BATCH:
        raise typer.BadParameter(
            f"--batch {value} is outside 1..{MAX_PRUNE_BATCH}; pick one inside "
            f"(default {DEFAULT_PRUNE_BATCH})",
            param_hint="--batch",
        )
    return value


def prune(
    finished_before: Annotated[
        str,
        typer.Option(
            "--finished-before",
            help="Remove instances finished longer ago than this: 30d, 12h, 90m, 2w.",
            show_default=False,
        ),
    ],
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            help="Write each instance and its history to a JSON Lines file in this folder "
            "(one file per run), flushed to disk before it is removed.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed.")
    ] = False,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            callback=_batch,
            help=f"Instances read (and archived) together; 1..{MAX_PRUNE_BATCH}.",
        ),
    ] = DEFAULT_PRUNE_BATCH,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", help="Only this tenant (default: every tenant).", show_default=False
        ),
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove finished instances last updated before a cutoff, with all their rows.

    Finished means done, error or stopped. Each goes with its audit rows, timers, steps,
    outbox rows and step attempts, one instance per transaction. Active instances are never
    touched; one with an outbox message not yet delivered is kept and reported. One run at a
    time per database: a second one exits 4.

    Example: statewright prune --finished-before 30d --archive /var/backups/statewright
    """
    age = _age(finished_before)
    with open_session(url, None, as_json) as session:
        status = None if as_json else session.console.status("pruning")
        if status is not None:
            status.start()

        def progress(report: PruneReport) -> None:
            if status is not None:
                status.update(f"pruning: {report.instances} instances removed so far")

        try:
            report = session.engine.prune(
                age,
                tenant=tenant,
                archive=archive,
                dry_run=dry_run,
                batch=batch,
                progress=progress,
            )
        finally:
            if status is not None:
                status.stop()
        if as_json:
            print_json({**_plain(report), "cutoff_at": iso_utc(report.cutoff)})
            return
        _print(session.console.print, report)


def _age(text: str) -> timedelta:
    ms = parse_duration_ms(text)
    if ms is None:
        hint = suggest_duration(text)
        raise typer.BadParameter(
            f"--finished-before {text!r} is not a duration; write e.g. 30d, 12h or 90m"
            + (f" (did you mean {hint!r}?)" if hint else ""),
            param_hint="--finished-before",
        )
    # Times are milliseconds since 1970 (UTC): an age reaching back past it matches nothing
    # and has no date to show (nor, past 2.7 million years, a timedelta to hold it).
    most_days = time.time_ns() // 1_000_000 // DAY_MS
    if ms > most_days * DAY_MS:
        raise typer.BadParameter(
            f"--finished-before {text!r} reaches back before 1970, where no instance "
            f"finished; give a shorter age, at most {most_days}d",
            param_hint="--finished-before",
        )
    return timedelta(milliseconds=ms)


def _print(say: Callable[[str], None], report: PruneReport) -> None:
    cutoff = iso_utc(report.cutoff)
    if report.dry_run:
        say(
            f"would remove {report.instances} instances finished before {cutoff} "
            f"({report.audit_rows} audit rows): nothing removed (dry run)"
        )
    else:
        say(
            f"removed {report.instances} instances finished before {cutoff} in "
            f"{report.seconds:.1f} s: {report.audit_rows} audit rows, {report.timers} timers, "
            f"{report.steps} steps, {report.outbox_rows} outbox rows, "
            f"{report.step_attempts} step attempts, {report.idempotency_rows} idempotency keys"
        )
    if report.partitions_dropped:
        verb = "would drop" if report.dry_run else "dropped"
        names = ", ".join(report.partitions_dropped)
        say(f"{verb} {len(report.partitions_dropped)} audit partitions whole: {names}")
    for name, why in report.partitions_kept:
        say(f"kept audit partition {name} ({why}): its finished instances go row by row")
    if report.partitions_added:
        say(f"added audit partitions ahead: {', '.join(report.partitions_added)}")
    for reason, count in sorted(report.held.items()):
        say(f"kept {count} {_HELD.get(reason, reason)}")
    for tenant, instance_id, reason in report.held_sample[:10]:
        say(f"  {tenant}/{instance_id}: {reason}")
    for path in report.archive_files:
        say(f"archive: {path}")


def _plain(report: PruneReport) -> dict[str, object]:
    return {
        "cutoff": report.cutoff,
        "dry_run": report.dry_run,
        "instances": report.instances,
        "audit_rows": report.audit_rows,
        "timers": report.timers,
        "steps": report.steps,
        "outbox_rows": report.outbox_rows,
        "step_attempts": report.step_attempts,
        "idempotency_rows": report.idempotency_rows,
        "held": report.held,
        "held_sample": [
            {"tenant": tenant, "id": instance_id, "reason": reason}
            for tenant, instance_id, reason in report.held_sample
        ],
        "archive_files": list(report.archive_files),
        "partitions_dropped": list(report.partitions_dropped),
        "partitions_kept": [{"name": name, "why": why} for name, why in report.partitions_kept],
        "partitions_added": list(report.partitions_added),
        "seconds": round(report.seconds, 3),
    }
