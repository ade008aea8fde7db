"""Named SQL queries and numbered migrations, read from the `.sql` files shipped with a backend.

A query file holds one section per query, each opened by a header line::

    -- name: load_instance
    SELECT ... FROM instances WHERE tenant = :tenant AND id = :id;

Whole-line `--` comments inside a section are dropped (psycopg would read a `%` in them as a
placeholder); the trailing semicolon is kept off. A migration is a file
`migrations/NNNN_what.sql` holding plain SQL statements. Both are read once, when the backend
module is imported, as procrastinate reads `procrastinate/sql/queries.sql`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

__all__ = [
    "Migration",
    "include_queries",
    "load_migrations",
    "load_queries",
    "parse_queries",
    "read_sql",
]

_HEADER = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$")
#: `{include:name}` in a statement that includes a named query (`include_queries`).
_INCLUDE = re.compile(r"\{include:(?P<name>[a-z_][a-z0-9_]*)\}")
_MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One numbered schema change: `migrations/0001_initial.sql` is version 1, "initial"."""

    version: int
    name: str
    sql: str


def parse_queries(text: str, *, source: str = "<sql>") -> Mapping[str, str]:
    """Split a query file into its named sections.

    Args:
        text: the file's content.
        source: the file's name, for error messages.

    Returns:
        A read-only mapping from query name to SQL text, in file order.

    Raises:
        ValueError: SQL before the first header, a repeated name, or an empty section.
    """
    queries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line.strip())
        if header:
            name = header["name"]
            if name in queries:
                raise ValueError(f"{source}:{number}: query {name!r} is defined twice")
            current = queries[name] = []
        elif line.strip().startswith("--") or not line.strip():
            continue
        elif current is None:
            raise ValueError(f"{source}:{number}: SQL before the first '-- name: ...' header")
        else:
            current.append(line.rstrip())
    result: dict[str, str] = {}
    for name, lines in queries.items():
        sql = "\n".join(lines).strip().rstrip(";").strip()
        if not sql:
            raise ValueError(f"{source}: query {name!r} is empty")
        result[name] = sql
    return MappingProxyType(result)


def read_sql(package: str, filename: str) -> str:
    """The text of a `.sql` file shipped inside `package`."""
    return resources.files(package).joinpath(filename).read_text(encoding="utf-8")


def load_queries(package: str, filename: str = "queries.sql") -> Mapping[str, str]:
    """Read and parse the query file of a backend package (see `parse_queries`)."""
    return parse_queries(read_sql(package, filename), source=f"{package}/{filename}")


def include_queries(
    statements: Mapping[str, str], queries: Mapping[str, str] | None = None
) -> Mapping[str, str]:
    """`statements` with each `{include:name}` replaced by the query of that name in `queries` (in
    `statements` itself when None), so that a rule several statements share, or a statement
    built around a shared one (a CTE around an UPDATE), is stated once. Fragments that are
    only ever included are named `part_...`.

    Raises:
        ValueError: an `{include:name}` that names no query.
    """
    found = statements if queries is None else queries

    def query(match: re.Match[str]) -> str:
        if match["name"] not in found:
            raise ValueError(f"{match[0]} names no query")
        return found[match["name"]]

    return MappingProxyType({name: _INCLUDE.sub(query, sql) for name, sql in statements.items()})


def load_migrations(package: str) -> tuple[Migration, ...]:
    """Every migration shipped in `package`'s `migrations/` folder, in version order.

    Raises:
        ValueError: a misnamed file, or versions that are not exactly 1, 2, ... N.
    """
    folder = resources.files(package).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            raise ValueError(f"{package}: migration {entry.name!r} is not named NNNN_what.sql")
        found.append(
            Migration(
                version=int(match["version"]),
                name=match["name"],
                sql=entry.read_text(encoding="utf-8"),
            )
        )
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"{package}: migration versions {versions} are not 1..{len(found)}")
    return tuple(found)
