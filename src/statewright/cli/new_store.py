"""Saying so when a command makes a new, empty SQLite store.

A relative `sqlite:///statewright.db` in STATEWRIGHT_URL or `--url` names a file in the
working folder: run from a subfolder of a project, `start` would otherwise make a second,
empty store there without a word and start the instance in it, where no worker looks.
`open_engine` opens the store as `Engine.open` does and, when that made the file, tells
stderr its absolute path and, inside a project whose statewright.toml names another store,
that one and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from statewright.cli.project import Project
from statewright.engine import Engine
from statewright.errors import ConfigError
from statewright.store.url import URL_VARIABLE, parse_sqlite_url, redact_url

__all__ = ["open_engine", "say_if_made", "sqlite_file_to_make"]


def sqlite_file_to_make(url: str) -> Path | None:
    """The absolute path of the SQLite file `url` names, if it does not exist yet; None
    for one that exists, a PostgreSQL URL or a bad URL (for opening to report)."""
    if not url.lower().startswith("sqlite:"):
        return None
    try:
        path = Path(parse_sqlite_url(url).path)
    except ConfigError:
        return None
    return None if path.exists() else path.absolute()


def say_if_made(path: Path | None, url: str, project: Project | None) -> None:
    """Tell stderr that `path` (from `sqlite_file_to_make`, before opening) is a new,
    empty store, if opening made it; and, inside a project whose statewright.toml names
    another store, which one and how to use it."""
    if path is None or not path.exists():
        return
    typer.echo(
        f"statewright: created a new, empty store at {path} ({redact_url(url)}); workers "
        "and servers use it only if their URL names this file",
        err=True,
    )
    if project is None or project.url is None or project.url == url:
        return
    source = "STATEWRIGHT_URL" if os.environ.get(URL_VARIABLE) == url else "--url"
    typer.echo(
        f"statewright: the project {project.file} names another store, "
        f"{redact_url(project.url)}; {source} chose this one instead: to use the project's, "
        f"run the command again without {source}"
        + (f" (unset {URL_VARIABLE})" if source == "STATEWRIGHT_URL" else "")
        + f" and delete {path} if it was made by mistake",
        err=True,
    )


def open_engine(url: str, *, create: bool, project: Project | None) -> Engine:
    """`Engine.open(url, create=create)`, saying so on stderr when it made a new SQLite
    file (`say_if_made`)."""
    to_make = sqlite_file_to_make(url) if create else None
    engine = Engine.open(url, create=create)
    say_if_made(to_make, url, project)
    return engine
