"""`statewright db`: create, upgrade and inspect the database schema."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from statewright.cli.new_store import say_if_made, sqlite_file_to_make
from statewright.cli.project import resolve_store_url
from statewright.cli.session import (
    JsonOption,
    end_with,
    error_json,
    exit_code,
    load_project,
    open_session,
    print_json,
)
from statewright.engine.migrating import (
    DEFAULT_LOCK_TIMEOUT_S,
    DEFAULT_MIGRATE_ATTEMPTS,
    RETRY_PAUSE_S,
    migrate_store,
    schema_status,
)
from statewright.engine.partition_pruning import DEFAULT_AHEAD, check_interval
from statewright.errors import (
    ConfigError,
    ForeignDatabase,
    MigrationBlocked,
    StatewrightError,
)
from statewright.store.url import DEFAULT_URL, URL_VARIABLE, parse_sqlite_url, redact_url

__all__ = ["app", "migrate", "partition_audit", "status"]

#: The exit code of a store that cannot be used (docs/cli.md).
STORE_UNUSABLE = 5
#: The most partitions `partition-audit --ahead` makes past the current one.
MAX_AHEAD = 24
#: The longest `migrate --lock-timeout` (seconds): an hour.
MAX_LOCK_TIMEOUT_S = 3600.0
#: The least `migrate --lock-timeout` (seconds).
MIN_LOCK_TIMEOUT_S = 0.1
#: The most `migrate --attempts`.
MAX_ATTEMPTS = 20

app = typer.Typer(
    help="Create, upgrade and inspect the database schema.",
    no_args_is_help=True,
    add_completion=False,
)


def _lock_timeout(value: float) -> float:
    if not math.isfinite(value) or not MIN_LOCK_TIMEOUT_S <= value <= MAX_LOCK_TIMEOUT_S:
        raise typer.BadParameter(
            f"{value:g} is not a number of seconds from {MIN_LOCK_TIMEOUT_S:g} to "
            f"{MAX_LOCK_TIMEOUT_S:g}; pick one inside (default {DEFAULT_LOCK_TIMEOUT_S:g})"
        )
    return value


def _attempts(value: int) -> int:
    if not 1 <= value <= MAX_ATTEMPTS:
        raise typer.BadParameter(
            f"{value} is outside 1..{MAX_ATTEMPTS}; pick one inside "
            f"(default {DEFAULT_MIGRATE_ATTEMPTS})"
        )
    return value


UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_VARIABLE,
        help="The store: sqlite:///relative.db, sqlite:////absolute.db or "
        "postgresql://user@host:5432/dbname (default: $STATEWRIGHT_URL, then "
        f"statewright.toml's url, then {DEFAULT_URL}).",
        show_default=False,
    ),
]


@app.command()
def migrate(
    url: UrlOption = None,
    share: Annotated[
        bool,
        typer.Option(
            "--share",
            help="Add statewright's tables to a database that holds another application's.",
        ),
    ] = False,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            callback=_lock_timeout,
            help="PostgreSQL: the longest, in seconds, a migration waits for a lock on a "
            "table (other statements on it queue behind it meanwhile) before it is rolled "
            "back and tried again.",
        ),
    ] = DEFAULT_LOCK_TIMEOUT_S,
    attempts: Annotated[
        int,
        typer.Option(
            "--attempts",
            callback=_attempts,
            help=f"How many times a migration that gave up waiting is tried (1..{MAX_ATTEMPTS}).",
        ),
    ] = DEFAULT_MIGRATE_ATTEMPTS,
) -> None:
    """Apply every pending migration (an empty database gets the whole schema).

    Example: statewright db migrate --url postgresql://app@db:5432/app
    """
    url = _url(url)

    def blocked(error: MigrationBlocked, attempt: int) -> None:
        held = "; ".join(error.holders) or "the transaction that held it has ended"
        typer.echo(
            f"warning: migration {error.migration} waited {lock_timeout:g} s for a lock and "
            f"was rolled back; {held}; trying again in {RETRY_PAUSE_S:g} s "
            f"(attempt {attempt + 1} of {attempts})",
            err=True,
        )

    to_make = sqlite_file_to_make(url)
    try:
        done = migrate_store(
            url, share=share, lock_timeout_s=lock_timeout, attempts=attempts, on_blocked=blocked
        )
    except ForeignDatabase as error:
        _fail(error, 1)  # refused: --share overrides it
    except StatewrightError as error:
        _fail(error)
    say_if_made(to_make, url, load_project(False))
    for number in done.applied:
        typer.echo(f"applied migration {number:04d} to {done.url}")
    if done.version > done.needed:
        _fail(f"{done.url} is at schema {done.version}, newer than this version's "
              f"{done.needed}; upgrade statewright", STORE_UNUSABLE)  # fmt: skip
    if done.applied:
        typer.echo(f"{done.url} is now at schema {done.version}")
    else:
        typer.echo(f"{done.url} is up to date (schema {done.version})")


@app.command()
def status(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Show the database's schema version against the one this statewright needs.

    Exits 1 unless they are the same (no SQLite file at the URL yet included), 5 if the
    store cannot be used (not reached, a wrong password, no such database or folder, a
    read-only or damaged file), 2 for a bad URL. A SQLite file is never created here. With --json:
    {"url", "schema", "needed", "up_to_date"}, or the error as every command gives it.

    Example: statewright db status --url sqlite:///app.db
    """
    url = _url(url, as_json)
    try:
        found = schema_status(url)
    except ConfigError as error:
        _fail(error, 2, as_json=as_json)  # a bad URL
    except StatewrightError as error:
        # A SQLite file not made yet, in a folder that exists, is a store not at the schema
        # needed, which "db migrate" makes: 1, as for one not migrated. Any other store
        # that cannot be used (not reached, a wrong password, no such database or folder,
        # a read-only or damaged file) is one "db migrate" cannot help: 5, as it exits.
        _fail(error, 1 if _not_made_yet(url) else STORE_UNUSABLE, as_json=as_json)
    shown, version, needed = found.url, found.version, found.needed
    if as_json:
        print_json(
            {"url": shown, "schema": version, "needed": needed, "up_to_date": version == needed}
        )
        if version != needed:
            raise typer.Exit(1)
    elif version == needed:
        typer.echo(f"{shown} is up to date (schema {version})")
    elif version < needed:
        typer.echo(
            f"{shown} is at schema {version} and this version needs {needed}; "
            f'run "statewright db migrate --url {shown}"'
        )
        raise typer.Exit(1)
    else:
        typer.echo(
            f"{shown} is at schema {version}, newer than this version's {needed}; "
            "upgrade statewright"
        )
        raise typer.Exit(1)


def _not_made_yet(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist in a folder that does (the
    file "db migrate" would create)."""
    if not url.lower().startswith("sqlite:"):
        return False
    try:
        path = Path(parse_sqlite_url(url).path)
    except ConfigError:
        return False
    return not path.exists() and not path.is_symlink() and path.parent.is_dir()


def _ahead(value: int) -> int:
    if not 0 <= value <= MAX_AHEAD:
        raise typer.BadParameter(
            f"{value} is outside 0..{MAX_AHEAD}; pick one inside (default {DEFAULT_AHEAD})"
        )
    return value


def _interval(value: str) -> str:
    try:
        return check_interval(value)
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from None


@app.command("partition-audit")
def partition_audit(
    interval: Annotated[
        str,
        typer.Option(
            "--interval",
            callback=_interval,
            help="Each partition's range of instance creation times, in UTC: day, week or month.",
        ),
    ] = "month",
    ahead: Annotated[
        int,
        typer.Option(
            "--ahead", callback=_ahead, help="Partitions made past the current one (0..24)."
        ),
    ] = DEFAULT_AHEAD,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Partition a PostgreSQL store's audit table by time, for prune to drop whole.

    Each row goes to the partition of its instance's creation time, so that "statewright
    prune" drops old partitions whole. The rows move in one transaction: sends wait until it
    commits. Running it again only adds partitions ahead.

    Example: statewright db partition-audit --interval month --url postgresql://app@db/app
    """  # fmt: skip
    with open_session(url, None, as_json) as session:
        done = session.engine.partition_audit(interval, ahead=ahead)
        found = session.engine.audit_partitions()
        partitions = [] if found is None else [p.name for p in found[1]]
        if as_json:
            print_json({"interval": done.interval, "already": done.already,
                        "moved_rows": done.moved_rows, "created": list(done.created),
                        "partitions": partitions})  # fmt: skip
            return
        shown = redact_url(_url(url))
        if done.already:
            typer.echo(f"the audit table of {shown} is partitioned by {done.interval} already")
        else:
            typer.echo(f"partitioned the audit table of {shown} by {done.interval}: "
                       f"{done.moved_rows} rows moved")  # fmt: skip
        typer.echo(f"added {len(done.created)} partitions" + (
            f": {', '.join(done.created)}" if done.created else ""))  # fmt: skip
        if partitions:
            typer.echo(f"partitions: {partitions[0]} .. {partitions[-1]} ({len(partitions)}) "
                       "and audit_default")  # fmt: skip


def _url(given: str | None, as_json: bool = False) -> str:
    """The store as every command finds it (`--url`, STATEWRIGHT_URL, statewright.toml); a
    broken statewright.toml exits 2, as for every command."""
    return resolve_store_url(given, load_project(as_json))


def _fail(
    error: StatewrightError | str, code: int | None = None, *, as_json: bool = False
) -> NoReturn:
    """End the command with one line on stderr and the exit code of the table in
    docs/cli.md: by default the error's (a bad URL 2; a store unreachable, missing or not
    usable 5). With `as_json`, a StatewrightError is also a JSON object on stdout, as
    `fail` prints it."""
    if code is None:
        code = exit_code(error) if isinstance(error, StatewrightError) else 1
    if as_json and isinstance(error, StatewrightError):
        print_json(error_json(error))
    end_with(code, error)
