"""`statewright.toml`: a project's store, definitions folder and implementations module, so
that the commands run in a project need no flags.

    [statewright]
    url = "sqlite:///statewright.db"      # relative to this file's folder
    definitions = "definitions"           # a folder of .json / .yaml definitions
    implementations = "implementations.py"  # guards, actions, steps (and listeners, schedules)
    tenant = "default"

The file is looked for in the working folder, then in each folder above it. The store URL is
the first of: `--url`, `STATEWRIGHT_URL`, the file's `url`, `sqlite:///statewright.db`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from statewright.errors import ConfigError
from statewright.store.url import DEFAULT_URL, URL_VARIABLE, check_url

__all__ = ["PROJECT_FILE", "Project", "find_project", "resolve_store_url"]

#: The project file's name.
PROJECT_FILE = "statewright.toml"
_KEYS = ("url", "definitions", "implementations", "tenant")


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """What a `statewright.toml` says, with its paths made absolute."""

    file: Path
    url: str | None = None
    definitions: Path | None = None
    implementations: Path | None = None
    tenant: str | None = None

    @property
    def root(self) -> Path:
        """The folder of the project file."""
        return self.file.parent


def find_project(start: Path | None = None) -> Project | None:
    """The project whose `statewright.toml` is in `start` (the working folder) or a folder
    above it; None outside a project.

    Raises:
        ConfigError: the file is not valid TOML, or holds an unknown key, a value of the
            wrong type or a `url` that is not a store URL (the message names the file, the
            key and the fix).
    """
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        file = candidate / PROJECT_FILE
        if file.is_file():
            return read_project(file)
    return None


def read_project(file: Path) -> Project:
    """Read one project file (see `find_project`)."""
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{file}: cannot read it ({error}); fix the file") from None
    table = data.get("statewright", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [statewright] must be a table; write [statewright] on a line")
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(
                f"{file}: unknown key {key!r} in [statewright]; the keys are {', '.join(_KEYS)}"
            )
        if not isinstance(value, str) or not value:
            raise ConfigError(f'{file}: {key} must be a non-empty string, e.g. {key} = "..."')
    if "url" in table:
        try:
            check_url(table["url"])
        except ConfigError as error:
            raise ConfigError(f"{file}: url: {error}") from None
    root = file.parent

    def path(key: str) -> Path | None:
        value = table.get(key)
        return None if value is None else (root / value).resolve()

    return Project(
        file=file,
        url=_anchored(table.get("url"), root),
        definitions=path("definitions"),
        implementations=path("implementations"),
        tenant=table.get("tenant"),
    )


def resolve_store_url(given: str | None, project: Project | None) -> str:
    """The store URL: `given` (`--url`), else STATEWRIGHT_URL, else the project's, else the
    default file in the working folder."""
    if given:
        return given
    from_env = os.environ.get(URL_VARIABLE)
    if from_env:
        return from_env
    if project is not None and project.url:
        return project.url
    return DEFAULT_URL


def _anchored(url: str | None, root: Path) -> str | None:
    """A relative `sqlite:///file.db` made relative to the project folder, so that commands
    run from a subfolder use the same file."""
    if url is None or not url.startswith("sqlite:///") or url.startswith("sqlite:////"):
        return url
    rest = url.removeprefix("sqlite:///")
    path, _, query = rest.partition("?")
    anchored = f"sqlite:///{root / path}"
    return f"{anchored}?{query}" if query else anchored
